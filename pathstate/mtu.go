package pathstate

import (
	"net/netip"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// MTU is a target's path MTU, from its latest search.
type MTU struct {
	// Bytes is the largest packet that crossed the path and back; 0 when
	// not even the smallest did.
	Bytes int
	// Hop is where the path narrows to Bytes: the hop number of the router
	// that said so (Fragmentation Needed, Packet Too Big), 0 when it is
	// the host's own interface, -1 when unknown (the bound came from a
	// silent drop, or the router is not on the current path).
	Hop int
	// From is the router that said so; invalid when none did.
	From netip.Addr
	// Time is when the search ended (the end of the interval it was
	// delivered with).
	Time time.Time
}

// newMTU turns a search's result into the target's MTU, locating the
// router that bounded it on the current path.
func newMTU(r tracer.MTUResult, hops []netip.Addr, at time.Time) *MTU {
	m := &MTU{Bytes: r.Bytes, From: r.From, Time: at, Hop: -1}
	switch {
	case r.Bytes == 0:
	case r.Local:
		m.Hop = 0
	case r.From.IsValid():
		for i, h := range hops {
			if h == r.From {
				m.Hop = i + 1
				break
			}
		}
	}
	return m
}
