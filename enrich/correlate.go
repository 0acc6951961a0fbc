package enrich

import (
	"net/netip"
	"slices"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bgp"
	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// correlator pairs one target's BGP changes with its path changes. A BGP
// change at time b goes with a path change at time p when
// p-Window <= b <= p+After: the route changed up to Window before the
// path did, or up to After after it (a trace can see a change before the
// update reaches the exporter's neighbor); the target waits until p+After
// to judge the change (waitBGP). A BGP change that no path change claimed
// once its window (b+Window) has passed, and that no path change still
// waiting to be judged may claim, is routing-only.
//
// It is pure: times come from the intervals, changes from the table.
type correlator struct {
	addr  netip.Addr // the address whose changes were folded in
	seen  uint64     // the table's change count for addr, folded in
	total uint64     // the target's BGP changes (its counter)
	bgp   []bgpEntry // recent BGP changes, oldest first
}

type bgpEntry struct {
	c       bgp.Change
	claimed bool
}

// observe folds in the changes of v, the table's view of addr, since the
// last call. A new address starts from the table's count: changes of the
// route covering it before the target traced it are not the target's.
func (k *correlator) observe(addr netip.Addr, v bgp.View) {
	if addr != k.addr || v.Changes < k.seen {
		k.addr, k.seen = addr, v.Changes
		return
	}
	n := int(min(v.Changes-k.seen, uint64(len(v.Recent))))
	for _, c := range v.Recent[len(v.Recent)-n:] {
		k.bgp = append(k.bgp, bgpEntry{c: c})
	}
	k.total += v.Changes - k.seen
	k.seen = v.Changes
}

// forPath returns the BGP changes that go with a path change at at, and
// marks them claimed.
func (k *correlator) forPath(at time.Time, s RoutingSettings) []bgp.Change {
	var out []bgp.Change
	for i := range k.bgp {
		e := &k.bgp[i]
		if !e.c.Time.Before(at.Add(-s.Window)) && !e.c.Time.After(at.Add(s.After)) {
			e.claimed = true
			out = append(out, e.c)
		}
	}
	return out
}

// routingOnly returns the BGP changes no path change claimed whose
// window closed by now, unless pending (the time of a path change still
// to be judged, nil if none) may claim them; it marks them claimed and
// forgets the claimed ones.
func (k *correlator) routingOnly(now time.Time, s RoutingSettings, pending *time.Time) []bgp.Change {
	var out []bgp.Change
	for i := range k.bgp {
		e := &k.bgp[i]
		if e.claimed || e.c.Time.Add(s.Window).After(now) {
			continue
		}
		if pending != nil && !e.c.Time.Before(pending.Add(-s.Window)) && !e.c.Time.After(pending.Add(s.After)) {
			continue
		}
		e.claimed = true
		out = append(out, e.c)
	}
	k.bgp = slices.DeleteFunc(k.bgp, func(e bgpEntry) bool { return e.claimed })
	return out
}

// waitBGP tells whether a path change at p waits (at now) for BGP
// changes that may still come within After.
func waitBGP(on bool, s RoutingSettings, p, now time.Time) bool {
	return on && now.Before(p.Add(s.After))
}

// historyBGP converts BGP changes for the history.
func historyBGP(cs []bgp.Change) []history.BGPChange {
	if len(cs) == 0 {
		return nil
	}
	out := make([]history.BGPChange, len(cs))
	for i, c := range cs {
		out[i] = history.BGPChange{Time: c.Time, Before: historyRoute(c.Before), After: historyRoute(c.After)}
	}
	return out
}

func historyRoute(r *bgp.Route) *history.BGPRoute {
	if r == nil {
		return nil
	}
	return &history.BGPRoute{Prefix: r.Prefix, ASPath: slices.Clone(r.ASPath), NextHop: r.NextHop}
}

// pathLen is the AS path length of r, 0 without a route.
func pathLen(r *bgp.Route) int {
	if r == nil {
		return 0
	}
	return len(r.ASPath)
}
