package bgp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func route(p string, path ...uint32) *Route {
	pf := netip.MustParsePrefix(p)
	nh := netip.MustParseAddr("198.18.0.1")
	if pf.Addr().Is6() {
		nh = netip.MustParseAddr("2001:db8::1")
	}
	return &Route{Prefix: pf, ASPath: path, NextHop: nh}
}

// TestLookupLongestMatch changes a table step by step and checks the
// covering route of addresses of both families after every step.
func TestLookupLongestMatch(t *testing.T) {
	tab := NewTable()
	type want map[string]string // address -> covering prefix ("" none)
	steps := []struct {
		name   string
		prefix string
		route  *Route // nil: withdraw
		want   want
	}{
		{"empty", "", nil, want{"198.18.5.1": "", "2001:db8:5::1": ""}},
		{"default v4", "0.0.0.0/0", route("0.0.0.0/0", 1), want{"198.18.5.1": "0.0.0.0/0", "2001:db8:5::1": ""}},
		{"a /15", "198.18.0.0/15", route("198.18.0.0/15", 2), want{"198.18.5.1": "198.18.0.0/15", "198.20.0.1": "0.0.0.0/0"}},
		{"a /24 more specific", "198.18.5.0/24", route("198.18.5.0/24", 3), want{"198.18.5.1": "198.18.5.0/24", "198.18.6.1": "198.18.0.0/15"}},
		{"a /32 host route", "198.18.5.1/32", route("198.18.5.1/32", 4), want{"198.18.5.1": "198.18.5.1/32", "198.18.5.2": "198.18.5.0/24"}},
		{"v6 /32", "2001:db8::/32", route("2001:db8::/32", 5), want{"2001:db8:5::1": "2001:db8::/32", "2001:db9::1": ""}},
		{"v6 /48", "2001:db8:5::/48", route("2001:db8:5::/48", 6), want{"2001:db8:5::1": "2001:db8:5::/48", "2001:db8:6::1": "2001:db8::/32"}},
		{"v6 /128", "2001:db8:5::1/128", route("2001:db8:5::1/128", 7), want{"2001:db8:5::1": "2001:db8:5::1/128", "2001:db8:5::2": "2001:db8:5::/48"}},
		{"withdraw the /24", "198.18.5.0/24", nil, want{"198.18.5.2": "198.18.0.0/15", "198.18.5.1": "198.18.5.1/32"}},
		{"withdraw the /32", "198.18.5.1/32", nil, want{"198.18.5.1": "198.18.0.0/15"}},
		{"withdraw the v6 /48", "2001:db8:5::/48", nil, want{"2001:db8:5::2": "2001:db8::/32", "2001:db8:5::1": "2001:db8:5::1/128"}},
		{"withdraw the default", "0.0.0.0/0", nil, want{"198.20.0.1": "", "198.18.0.1": "198.18.0.0/15"}},
		{"v4-mapped lookup", "", nil, want{"::ffff:198.18.0.1": "198.18.0.0/15"}},
		{"unmasked prefix is masked", "198.18.9.9/24", route("198.18.9.9/24", 8), want{"198.18.9.200": "198.18.9.0/24"}},
	}
	for i, s := range steps {
		if s.prefix != "" {
			tab.Update(netip.MustParsePrefix(s.prefix), s.route, t0.Add(time.Duration(i)*time.Second))
		}
		for addr, p := range s.want {
			r, ok := tab.Lookup(netip.MustParseAddr(addr))
			got := ""
			if ok {
				got = r.Prefix.String()
			}
			if got != p {
				t.Errorf("step %q: Lookup(%s) = %q, want %q", s.name, addr, got, p)
			}
		}
	}
	if v4, v6 := tab.Len(); v4 != 2 || v6 != 2 {
		t.Errorf("Len = %d, %d; want 2, 2", v4, v6)
	}
}

// TestTrackCountsCoveringChanges follows an address through announcements,
// a new best path, a more specific prefix, an unrelated prefix, a repeat
// of the same route, and withdrawals.
func TestTrackCountsCoveringChanges(t *testing.T) {
	for _, fam := range []struct{ addr, wide, narrow, other string }{
		{"198.18.5.1", "198.18.0.0/15", "198.18.5.0/24", "198.18.6.0/24"},
		{"2001:db8:5::1", "2001:db8::/32", "2001:db8:5::/48", "2001:db8:6::/48"},
	} {
		t.Run(fam.addr, func(t *testing.T) {
			tab := NewTable()
			a := netip.MustParseAddr(fam.addr)
			if v := tab.Track(a, t0); v.Route != nil || v.Changes != 0 {
				t.Fatalf("empty table: view %+v", v)
			}
			at := t0
			step := func(p string, r *Route) {
				at = at.Add(time.Second)
				tab.Update(netip.MustParsePrefix(p), r, at)
			}
			step(fam.wide, route(fam.wide, 64501, 64504))        // 1: announced
			step(fam.wide, route(fam.wide, 64501, 64504))        // same: no change
			step(fam.other, route(fam.other, 64509))             // does not cover
			step(fam.wide, route(fam.wide, 64502, 64503, 64504)) // 1: best path
			step(fam.narrow, route(fam.narrow, 64501, 64666))    // 2: more specific
			step(fam.wide, nil)                                  // hidden by the narrow one
			step(fam.narrow, nil)                                // 3: withdrawn, nothing left
			step(fam.wide, route(fam.wide, 64501, 64504))        // 4: announced again
			v := tab.Track(a, at)
			if v.Changes != 4 || v.Route == nil {
				t.Fatalf("view: changes %d route %+v; want 4 and a route", v.Changes, v.Route)
			}
			if len(v.Recent) != 4 {
				t.Fatalf("recent: %d changes, want 4", len(v.Recent))
			}
			c := v.Recent[1]
			if c.Before.Prefix.String() != fam.wide || c.After.Prefix.String() != fam.narrow || FormatASPath(c.After.ASPath) != "64501 64666" {
				t.Errorf("second change %+v -> %+v", c.Before, c.After)
			}
			if !v.Recent[2].Time.Equal(t0.Add(7*time.Second)) || v.Recent[2].After != nil || v.Recent[2].Before.Prefix.String() != fam.narrow {
				t.Errorf("third change (withdrawal): %+v", v.Recent[2])
			}
			if v.Recent[3].Before != nil || FormatASPath(v.Recent[3].After.ASPath) != "64501 64504" {
				t.Errorf("fourth change (announcement): %+v", v.Recent[3])
			}
			if FormatASPath(v.Recent[0].Before.ASPath) != "64501 64504" {
				t.Errorf("first change: %+v", v.Recent[0].Before)
			}
		})
	}
}

// TestTrackKeepsRecentBounded announces more changes than are kept.
func TestTrackKeepsRecentBounded(t *testing.T) {
	tab := NewTable()
	a := netip.MustParseAddr("198.18.5.1")
	tab.Track(a, t0)
	tab.Update(netip.MustParsePrefix("198.18.5.0/24"), route("198.18.5.0/24", 64500), t0) // learnt
	for i := range DefaultRecent + 10 {
		tab.Update(netip.MustParsePrefix("198.18.5.0/24"), route("198.18.5.0/24", 64500, uint32(i)), t0.Add(time.Duration(i)*time.Second))
	}
	v := tab.Track(a, t0)
	if v.Changes != DefaultRecent+10 || len(v.Recent) != DefaultRecent || v.Recent[DefaultRecent-1].After.Origin() != DefaultRecent+9 {
		t.Errorf("changes %d, recent %d, last origin %d", v.Changes, len(v.Recent), v.Recent[len(v.Recent)-1].After.Origin())
	}
}

// TestForget drops addresses not tracked since a cutoff, and an update
// after that no longer reaches them.
func TestForget(t *testing.T) {
	tab := NewTable()
	a, b := netip.MustParseAddr("198.18.5.1"), netip.MustParseAddr("198.18.5.2")
	tab.Track(a, t0)
	tab.Track(b, t0.Add(time.Hour))
	if n := tab.Forget(t0.Add(time.Minute)); n != 1 {
		t.Fatalf("Forget dropped %d, want 1", n)
	}
	tab.Update(netip.MustParsePrefix("198.18.5.0/24"), route("198.18.5.0/24", 1), t0)
	tab.Update(netip.MustParsePrefix("198.18.5.0/24"), route("198.18.5.0/24", 2), t0)
	if v := tab.Track(b, t0); v.Changes != 1 {
		t.Errorf("kept address: %d changes, want 1", v.Changes)
	}
	if v := tab.Track(a, t0); v.Changes != 0 || v.Route == nil {
		t.Errorf("forgotten address tracked again: %+v, want the route and no change", v)
	}
}

// TestClear withdraws everything: lookups find nothing, a tracked address
// counts the withdrawal.
func TestClear(t *testing.T) {
	tab := NewTable()
	a := netip.MustParseAddr("2001:db8:5::1")
	tab.Update(netip.MustParsePrefix("2001:db8::/32"), route("2001:db8::/32", 1), t0)
	tab.Update(netip.MustParsePrefix("198.18.0.0/15"), route("198.18.0.0/15", 1), t0)
	tab.Track(a, t0)
	tab.Clear(t0.Add(time.Second))
	if v4, v6 := tab.Len(); v4 != 0 || v6 != 0 {
		t.Fatalf("Len after Clear = %d, %d", v4, v6)
	}
	if _, ok := tab.Lookup(a); ok {
		t.Fatal("a route left after Clear")
	}
	if v := tab.Track(a, t0); v.Changes != 1 || v.Route != nil {
		t.Fatalf("tracked view after Clear: %+v", v)
	}
}

func TestRoutesSortedCopies(t *testing.T) {
	tb := NewTable()
	at := time.Unix(0, 0)
	for _, p := range []string{"2001:db8::/32", "198.18.1.0/24", "198.18.0.0/16", "198.18.0.0/15", "198.18.1.0/25"} {
		tb.Update(netip.MustParsePrefix(p), &Route{ASPath: []uint32{64501, 64502}}, at)
	}
	tb.Update(netip.MustParsePrefix("198.18.1.0/25"), nil, at)
	rs := tb.Routes()
	var got []string
	for _, r := range rs {
		got = append(got, r.Prefix.String())
	}
	want := "[198.18.0.0/15 198.18.0.0/16 198.18.1.0/24 2001:db8::/32]"
	if fmt.Sprint(got) != want {
		t.Fatalf("Routes() = %v, want %s", got, want)
	}
	rs[0].ASPath[0] = 1
	if r, _ := tb.Lookup(netip.MustParseAddr("198.18.200.1")); r.ASPath[0] != 64501 {
		t.Error("Routes shares its AS paths with the table")
	}
}
