package enrich

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bgp"
	"github.com/traceroute-exporter/traceroute_exporter/history"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
)

var testRouting = RoutingSettings{LocalAS: 64500, Window: 2 * time.Minute, After: 30 * time.Second}

// TestCorrelatorWindows: a path change at p takes the BGP changes from
// p-Window to p+After, bounds included; the others become routing-only
// once their own window has passed, and only once, unless a path change
// still waiting to be judged may take them.
func TestCorrelatorWindows(t *testing.T) {
	p := t0.Add(10 * time.Minute)
	at := func(d time.Duration) bgp.Change { return bgp.Change{Time: p.Add(d)} }
	changes := []bgp.Change{at(-5 * time.Minute), at(-2*time.Minute - time.Second), at(-2 * time.Minute), at(-10 * time.Second),
		at(30 * time.Second), at(31 * time.Second), at(6 * time.Minute)}
	var k correlator
	a := netip.MustParseAddr("198.18.7.2")
	k.observe(a, bgp.View{})
	for i := range changes {
		k.observe(a, bgp.View{Changes: uint64(i + 1), Recent: changes[:i+1]})
	}
	if k.total != uint64(len(changes)) {
		t.Fatalf("total %d, want %d", k.total, len(changes))
	}
	// Before it is judged, the pending path change holds back the
	// changes it may take; those at -5m and -2m1s are beyond its reach
	// (1s too early) and their windows closed.
	if only := k.routingOnly(p.Add(time.Second), testRouting, &p); !slices.Equal(only, []bgp.Change{at(-5 * time.Minute), at(-2*time.Minute - time.Second)}) {
		t.Fatalf("routing-only with the change pending = %v, want those at -5m and -2m1s", only)
	}
	got := k.forPath(p, testRouting)
	want := []bgp.Change{at(-2 * time.Minute), at(-10 * time.Second), at(30 * time.Second)}
	if !slices.Equal(got, want) {
		t.Fatalf("forPath = %v, want %v", got, want)
	}
	// At p+2m30s (judged): the one at +31s, 1s too late after the path
	// change, has its own window (2m) still open.
	if only := k.routingOnly(p.Add(150*time.Second), testRouting, nil); len(only) != 0 {
		t.Fatalf("routing-only at p+2m30s = %v, want none", only)
	}
	if only := k.routingOnly(p.Add(160*time.Second), testRouting, nil); len(only) != 1 || only[0] != at(31*time.Second) {
		t.Fatalf("routing-only at p+2m40s = %v, want the change at +31s", only)
	}
	if only := k.routingOnly(p.Add(7*time.Minute), testRouting, nil); len(only) != 0 {
		t.Fatalf("routing-only at p+7m = %v, want none (the change at +6m has 1m of window left)", only)
	}
	if only := k.routingOnly(p.Add(9*time.Minute), testRouting, nil); len(only) != 1 || only[0] != at(6*time.Minute) {
		t.Fatalf("routing-only at p+9m = %v", only)
	}
	if only := k.routingOnly(p.Add(20*time.Minute), testRouting, nil); len(only) != 0 || len(k.bgp) != 0 {
		t.Fatalf("after every window: %v reported again, %d changes kept", only, len(k.bgp))
	}
	// Another address (the target's DNS answer changed): its route's
	// earlier changes are not the target's.
	k.observe(netip.MustParseAddr("198.18.8.2"), bgp.View{Changes: 40, Recent: changes})
	if k.total != uint64(len(changes)) || len(k.bgp) != 0 {
		t.Fatalf("a new address brought its history: total %d, %d changes", k.total, len(k.bgp))
	}
}

// TestUpdateCorrelatesBGP runs a target over a real table: a withdrawal
// that moves the path is recorded with the path change, its AS path
// lengths and a worse verdict; a later BGP change the path does not
// follow is recorded as routing-only once its window has passed.
func TestUpdateCorrelatesBGP(t *testing.T) {
	store := history.NewMemory(history.DefaultOptions())
	tab := bgp.NewTable()
	src := &Sources{ASN: fakeASN{}, Store: store, Routing: &Routing{Table: tab,
		Settings: func() (RoutingSettings, bool) { return testRouting, true }}}
	tg := src.NewTarget("dst4")
	dst := ip("198.18.7.2")
	nh := ip("198.18.1.1")
	short := &bgp.Route{Prefix: netip.MustParsePrefix("198.18.7.0/24"), ASPath: []uint32{64501, 64502, 64507}, NextHop: nh}
	long := &bgp.Route{Prefix: netip.MustParsePrefix("198.18.0.0/16"), ASPath: []uint32{64501, 64503, 64508, 64507}, NextHop: nh}
	tab.Update(short.Prefix, short, t0.Add(-time.Hour))
	tab.Update(long.Prefix, long, t0.Add(-time.Hour))
	withAddr := func(s *pathstate.Snapshot) *pathstate.Snapshot { s.Address = dst; return s }

	oldHops := []netip.Addr{ip("198.18.1.2"), ip("198.18.2.2"), dst}
	newHops := []netip.Addr{ip("198.18.1.2"), ip("198.18.3.2"), ip("198.18.8.2"), dst}
	first := withAddr(snap(t0, 10*time.Millisecond, 0, oldHops...))
	tg.Update(&pathstate.Snapshot{}, first, nil)
	if v := tg.Evidence().BGP; v == nil || !v.Route.Same(short) || v.Changes != 0 || !v.MismatchKnown || v.Mismatch {
		t.Fatalf("first view %+v, want the /24, no change, no mismatch", v)
	}
	// The /24 is withdrawn 20 s before the trace sees the longer path.
	tab.Update(short.Prefix, nil, t0.Add(40*time.Second))
	second := withAddr(snap(t0.Add(time.Minute), 25*time.Millisecond, 0, newHops...))
	c := pathstate.Change{Time: second.Last.End, Address: dst, Before: first.Path, After: second.Path, BeforeHops: oldHops, AfterHops: newHops}
	if ev := tg.Update(first, second, []pathstate.Change{c}); len(ev) != 0 {
		t.Fatalf("judged at once: %+v; want it to wait correlation_after (30s) for late BGP updates", ev)
	}
	// A BGP update 10s after the trace saw the change still goes with it.
	longer := *long
	longer.ASPath = []uint32{64501, 64503, 64509, 64508, 64507}
	tab.Update(long.Prefix, &longer, t0.Add(70*time.Second))
	waited := withAddr(snap(t0.Add(90*time.Second), 25*time.Millisecond, 0, newHops...))
	ev := tg.Update(second, waited, nil)
	if len(ev) != 1 || ev[0].Verdict != history.Worse || !slices.Contains(ev[0].Reasons, "worse: BGP AS path length 3 -> 5") {
		t.Fatalf("events %+v, want one worse with the BGP AS path length among its reasons", ev)
	}
	e := tg.Evidence()
	if e.BGP.Changes != 2 || !e.BGP.Route.Same(&longer) || e.LastChange.BGP != "00:00:40 198.18.7.0/24 AS path 64501 64502 64507 via 198.18.1.1 -> 198.18.0.0/16 AS path 64501 64503 64508 64507 via 198.18.1.1; "+
		"00:01:10 198.18.0.0/16 AS path 64501 64503 64508 64507 via 198.18.1.1 -> 198.18.0.0/16 AS path 64501 64503 64509 64508 64507 via 198.18.1.1" {
		t.Fatalf("evidence after the switch: BGP %+v, last change BGP %q", e.BGP, e.LastChange.BGP)
	}
	cs, _ := store.Changes("dst4", time.Time{}, 0)
	if len(cs) != 1 || cs[0].Kind != history.KindPath || !cs[0].BGPChecked || len(cs[0].BGP) != 2 ||
		cs[0].BGP[0].After.Prefix != long.Prefix || cs[0].Before.BGPASPathLength != 3 || cs[0].After.BGPASPathLength != 5 {
		t.Fatalf("stored %+v", cs)
	}

	// At 3m the /16's best path changes; the trace keeps its path.
	other := *long
	other.ASPath = []uint32{64501, 64504, 64508, 64507}
	tab.Update(long.Prefix, &other, t0.Add(3*time.Minute))
	prev := waited
	for _, m := range []time.Duration{4, 5, 6, 7} {
		cur := withAddr(snap(t0.Add(m*time.Minute), 25*time.Millisecond, 0, newHops...))
		if ev := tg.Update(prev, cur, nil); len(ev) != 0 {
			t.Fatalf("at %dm: path events %+v", m, ev)
		}
		prev = cur
		cs, _ = store.Changes("dst4", time.Time{}, 0)
		want := 1
		if m >= 5 { // the window (2m) after 3m closed
			want = 2
		}
		if len(cs) != want {
			t.Fatalf("at %dm: %d events stored, want %d", m, len(cs), want)
		}
	}
	r := cs[0]
	if r.Kind != history.KindRouting || r.Verdict != history.Neutral || len(r.BGP) != 1 || !r.Time.Equal(t0.Add(3*time.Minute)) ||
		r.Before.Hops != 4 || r.After.Hops != 4 || len(r.DiffTTLs) != 0 {
		t.Fatalf("routing-only event %+v", r)
	}
	if e := tg.Evidence(); e.BGP.Changes != 3 || e.LastChange.ID != cs[1].ID || e.Degradations != 1 {
		t.Fatalf("after the routing-only change: BGP changes %d, last change %d (want the path change %d), degradations %d",
			e.BGP.Changes, e.LastChange.ID, cs[1].ID, e.Degradations)
	}
	// A restart finds the path change as the last change, not the
	// routing-only event after it.
	if lc := src.NewTarget("dst4").Evidence().LastChange; lc == nil || lc.ID != cs[1].ID {
		t.Fatalf("last change after a restart: %+v", lc)
	}
}

// TestMismatchFollowsTheRoute: a forged origin makes the traced path
// (64501 64502 64507) disagree with the announced one.
func TestMismatchFollowsTheRoute(t *testing.T) {
	tab := bgp.NewTable()
	src := &Sources{ASN: fakeASN{}, Routing: &Routing{Table: tab, Settings: func() (RoutingSettings, bool) { return testRouting, true }}}
	tg := src.NewTarget("dst4")
	dst := ip("198.18.7.2")
	p := netip.MustParsePrefix("198.18.7.0/24")
	tab.Update(p, &bgp.Route{Prefix: p, ASPath: []uint32{64501, 64502, 64507}}, t0)
	s := snap(t0, time.Millisecond, 0, ip("198.18.1.2"), ip("198.18.2.2"), dst)
	s.Address = dst
	tg.Update(&pathstate.Snapshot{}, s, nil)
	if v := tg.Evidence().BGP; !v.MismatchKnown || v.Mismatch {
		t.Fatalf("genuine route: %+v", v)
	}
	tab.Update(p, &bgp.Route{Prefix: p, ASPath: []uint32{64501, 64666}}, t0.Add(time.Second))
	tg.Update(s, s, nil)
	if v := tg.Evidence().BGP; !v.MismatchKnown || !v.Mismatch {
		t.Fatalf("forged origin: %+v", v)
	}
}
