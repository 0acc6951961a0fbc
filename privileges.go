package main

import (
	"net"
	"strconv"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/traceroute-exporter/traceroute_exporter/privilege"
)

// dropCapabilities gives up every capability once the sockets are open:
// sending and receiving on them needs none. CAP_NET_BIND_SERVICE is kept
// when a listen address has a port below 1024, since the web server opens
// its listeners after this, and when bindLow says the BGP speaker listens
// below 1024 (a reload may restart it there). A failure is logged and the
// exporter goes on: it runs as it would have without the drop.
func dropCapabilities(logger log.Logger, listen []string, bindLow bool) {
	var keep []privilege.Value
	if bindLow {
		keep = []privilege.Value{privilege.NetBindService}
	}
	for _, a := range listen {
		if _, p, err := net.SplitHostPort(a); err == nil {
			if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 1024 {
				keep = []privilege.Value{privilege.NetBindService}
			}
		}
	}
	r, err := privilege.Drop(keep...)
	if err != nil {
		level.Warn(logger).Log("msg", "Could not drop capabilities; running with those it was started with", "capabilities", r.Before, "err", err)
		return
	}
	if r.Before != r.After {
		level.Info(logger).Log("msg", "Dropped capabilities now that the sockets are open", "before", r.Before, "after", r.After, "bounding_set_emptied", r.Bounding)
	}
}
