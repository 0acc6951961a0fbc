package enrich

import (
	"net/netip"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bgp"
)

// Routing is the BGP view the targets read: the table (nil: no BGP) and
// the running settings.
type Routing struct {
	// Table holds the received best routes.
	Table *bgp.Table
	// Settings returns the running BGP settings; ok is false while no
	// speaker is configured (then targets have no BGP view).
	Settings func() (s RoutingSettings, ok bool)
}

// RoutingSettings are what the targets need of the `bgp:` section.
type RoutingSettings struct {
	// LocalAS is the exporter's AS, left out of the traced AS path when it
	// is compared with the announced one.
	LocalAS uint32
	// Window and After bound the BGP changes taken as the cause of a path
	// change: from Window before it to After after it.
	Window, After time.Duration
}

// BGPView is a target's view of BGP: the best route covering its
// address, how often that changed, and whether the traced AS path
// agrees with the announced one.
type BGPView struct {
	// Route is the covering route; nil when no route covers the address.
	Route *bgp.Route
	// Changes counts changes of the covering route (another best path or
	// prefix, a withdrawal) since the exporter started following the
	// address.
	Changes uint64
	// Mismatch is the result of bgp.Mismatch between the traced AS path
	// and Route's; MismatchKnown is false when there is nothing to
	// compare (no route, no known AS traced, or an empty announced path).
	Mismatch, MismatchKnown bool
}

// view reads the covering route of addr at time at and compares it
// with the traced AS path.
func (r *Routing) view(addr netip.Addr, traced []uint32, at time.Time) (*BGPView, bgp.View, RoutingSettings, bool) {
	if r == nil || r.Table == nil || r.Settings == nil || !addr.IsValid() {
		return nil, bgp.View{}, RoutingSettings{}, false
	}
	set, ok := r.Settings()
	if !ok {
		return nil, bgp.View{}, RoutingSettings{}, false
	}
	tv := r.Table.Track(addr, at)
	v := &BGPView{Route: tv.Route, Changes: tv.Changes}
	if tv.Route != nil {
		v.Mismatch, v.MismatchKnown = bgp.Mismatch(traced, tv.Route.ASPath, set.LocalAS)
	}
	return v, tv, set, true
}
