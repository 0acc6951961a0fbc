package bgp

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Route is the best route of one prefix as a neighbor announced it.
type Route struct {
	// Prefix is the announced prefix (masked).
	Prefix netip.Prefix
	// ASPath is the AS path, nearest AS first, origin last; AS_SET
	// members are listed in their place in the order received.
	ASPath []uint32
	// NextHop is the route's next hop.
	NextHop netip.Addr
	// Neighbor is the address of the neighbor the route came from.
	Neighbor netip.Addr
}

// Same reports whether r and o are the same route for the exporter's
// purposes: same prefix, AS path and next hop (the neighbor is not
// compared: the same route learnt over another session is no change).
func (r *Route) Same(o *Route) bool {
	if r == nil || o == nil {
		return r == o
	}
	return r.Prefix == o.Prefix && r.NextHop == o.NextHop && slices.Equal(r.ASPath, o.ASPath)
}

// Origin is the last AS of the path (the origin AS), 0 for an empty path
// (a route of the neighbor's own AS learnt over iBGP).
func (r *Route) Origin() uint32 {
	if len(r.ASPath) == 0 {
		return 0
	}
	return r.ASPath[len(r.ASPath)-1]
}

// FormatASPath renders an AS path as "64501 64502"; empty for none.
func FormatASPath(p []uint32) string {
	var b strings.Builder
	for i, a := range p {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(uint64(a), 10))
	}
	return b.String()
}

// Change is one change of the route covering a tracked address: another
// best path of the same prefix, a more or less specific prefix taking
// over, an announcement where there was none, or a withdrawal.
type Change struct {
	// Time is when the speaker received the update.
	Time time.Time
	// Before and After are the covering routes around the change; nil
	// when there was none (an announcement) or is none (a withdrawal).
	Before, After *Route
}
