package sources

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

func listOf(rs []Ranked) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Addr.String())
	}
	return strings.Join(out, " ")
}

// window feeds one synthetic traffic pattern: bytes per destination,
// spread evenly over d in steps of step, starting at from.
func feed(tn *TopN, from time.Time, d, step time.Duration, bytes map[string]uint64) time.Time {
	n := uint64(d / step)
	for now := from; now.Before(from.Add(d)); now = now.Add(step) {
		for a, b := range bytes {
			tn.Add(now, netip.MustParseAddr(a), b/n)
		}
	}
	return from.Add(d)
}

func TestTopNEntersAtRankN(t *testing.T) {
	tn := &TopN{N: 2, Margin: 1, Window: time.Minute, MinTime: 0}
	now := feed(tn, t0, time.Minute, time.Second, map[string]uint64{"198.51.100.1": 6000, "198.51.100.2": 5000, "198.51.100.3": 4000})
	if got := listOf(tn.Update(now)); got != "198.51.100.1 198.51.100.2" {
		t.Fatalf("list %q, want the two busiest", got)
	}
}

// TestTopNHysteresis: a destination that slips to rank N+1..N+Margin
// stays; one that falls below N+Margin leaves only after MinTime; a
// newcomer enters only at rank N or better.
func TestTopNHysteresis(t *testing.T) {
	tn := &TopN{N: 2, Margin: 1, Window: time.Minute, MinTime: 3 * time.Minute}
	a, b, c, d := "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"
	now := feed(tn, t0, time.Minute, time.Second, map[string]uint64{a: 6000, b: 5000, c: 4000, d: 3000})
	if got := listOf(tn.Update(now)); got != a+" "+b {
		t.Fatalf("start: %q", got)
	}
	// c overtakes b: c enters (rank 2), b at rank 3 = N+Margin stays.
	now = feed(tn, now, time.Minute, time.Second, map[string]uint64{a: 6000, b: 4000, c: 5000, d: 3000})
	if got := listOf(tn.Update(now)); got != a+" "+c+" "+b {
		t.Fatalf("b within the margin: %q, want a c b", got)
	}
	// d overtakes b: b at rank 4 > N+Margin, but on the list for only 2
	// minutes: it stays; d at rank 3 does not enter.
	now = feed(tn, now, time.Minute, time.Second, map[string]uint64{a: 6000, b: 2000, c: 5000, d: 3000})
	if got := listOf(tn.Update(now)); got != a+" "+c+" "+b {
		t.Fatalf("b before its minimum time: %q, want a c b", got)
	}
	// A minute later b has been on the list for 3 minutes: it leaves.
	now = feed(tn, now, time.Minute, time.Second, map[string]uint64{a: 6000, b: 2000, c: 5000, d: 3000})
	if got := listOf(tn.Update(now)); got != a+" "+c {
		t.Fatalf("b after its minimum time: %q, want a c", got)
	}
}

// TestTopNQuietLeavesAfterMinTime: a destination that stops carrying
// traffic stays on the list (last) until MinTime, then leaves.
func TestTopNQuietLeavesAfterMinTime(t *testing.T) {
	tn := &TopN{N: 2, Margin: 0, Window: time.Minute, MinTime: 5 * time.Minute}
	now := feed(tn, t0, time.Minute, time.Second, map[string]uint64{"198.51.100.1": 6000, "2001:db8::9": 5000})
	if got := listOf(tn.Update(now)); got != "198.51.100.1 2001:db8::9" {
		t.Fatalf("start: %q", got)
	}
	for i := 0; i < 3; i++ {
		now = feed(tn, now, time.Minute, time.Second, map[string]uint64{"198.51.100.1": 6000})
		if got := listOf(tn.Update(now)); got != "198.51.100.1 2001:db8::9" {
			t.Fatalf("minute %d without traffic: %q, want 2001:db8::9 still listed, last", i+1, got)
		}
	}
	now = feed(tn, now, 2*time.Minute, time.Second, map[string]uint64{"198.51.100.1": 12000})
	if got := listOf(tn.Update(now)); got != "198.51.100.1" {
		t.Fatalf("after the minimum time: %q", got)
	}
}

func TestTopNWindowSlides(t *testing.T) {
	tn := &TopN{N: 1, Window: time.Minute}
	tn.Add(t0, netip.MustParseAddr("198.51.100.1"), 1000)
	tn.Add(t0.Add(50*time.Second), netip.MustParseAddr("198.51.100.2"), 10)
	if got := listOf(tn.Update(t0.Add(55 * time.Second))); got != "198.51.100.1" {
		t.Fatalf("within the window: %q", got)
	}
	// At t0+70s the first bucket left the window; .1 leaves (MinTime 0),
	// .2 enters.
	if got := listOf(tn.Update(t0.Add(70 * time.Second))); got != "198.51.100.2" {
		t.Fatalf("after the window: %q", got)
	}
}

func TestTopNPrefixes(t *testing.T) {
	tn := &TopN{N: 2, Window: time.Minute, Prefix: true}
	for i, b := range []uint64{100, 300, 200} {
		tn.Add(t0, netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", i+1)), b)
	}
	tn.Add(t0, netip.MustParseAddr("198.51.101.1"), 500)
	tn.Add(t0, netip.MustParseAddr("2001:db8:1:2::1"), 550)
	tn.Add(t0, netip.MustParseAddr("2001:db8:1:3::1"), 100)
	rs := tn.Update(t0.Add(time.Second))
	if got := listOf(rs); got != "2001:db8:1:2::1 198.51.100.2" {
		t.Fatalf("prefixes: %q, want the /48 (650 bytes) at its busiest address, then the /24 of 600 bytes at its busiest", got)
	}
	if rs[0].Dest.String() != "2001:db8:1::/48" || rs[0].Bytes != 650 || rs[1].Dest.String() != "198.51.100.0/24" {
		t.Fatalf("ranked %+v", rs)
	}
}
