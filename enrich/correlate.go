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
// update reaches the exporter's neighbor). A BGP change that no path
// change claims once its window has passed is routing-only.
//
// It is pure: times come from the intervals, changes from the table.
type correlator struct {
	addr  netip.Addr // the address whose changes were folded in
	seen  uint64     // the table's change count for addr, folded in
	total uint64     // the target's BGP changes (its counter)
	bgp   []bgpEntry // recent BGP changes, oldest first
	paths []time.Time
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

// pathChanged notes a path change at at.
func (k *correlator) pathChanged(at time.Time) { k.paths = append(k.paths, at) }

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

// routingOnly returns the BGP changes whose window closed by now without
// a path change in it, marks them claimed, and forgets what no window
// can reach any more.
func (k *correlator) routingOnly(now time.Time, s RoutingSettings) []bgp.Change {
	var out []bgp.Change
	for i := range k.bgp {
		e := &k.bgp[i]
		if e.claimed || e.c.Time.Add(s.Window).After(now) {
			continue
		}
		e.claimed = true
		if !slices.ContainsFunc(k.paths, func(p time.Time) bool {
			return !e.c.Time.Before(p.Add(-s.Window)) && !e.c.Time.After(p.Add(s.After))
		}) {
			out = append(out, e.c)
		}
	}
	horizon := now.Add(-s.Window - s.After)
	k.bgp = slices.DeleteFunc(k.bgp, func(e bgpEntry) bool { return e.claimed && e.c.Time.Before(horizon) })
	k.paths = slices.DeleteFunc(k.paths, func(p time.Time) bool { return p.Before(horizon) })
	return out
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
