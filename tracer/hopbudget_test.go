package tracer

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// set is a hop set of the given routers.
func set(rs ...netip.Addr) *hopSet {
	var s hopSet
	for _, r := range rs {
		s.add(r)
	}
	return &s
}

func TestHopBucket(t *testing.T) {
	var none *hopBudget
	r := set(hopIP(1))
	if !none.allow(r, t0) || newHopBudget(0, 5) != nil {
		t.Fatal("no hop budget must never hold back")
	}
	b := newHopBudget(2, 3)
	fl := flowTo(dstA)
	if !b.allow(set(), t0) {
		t.Fatal("an unknown router must never be held back")
	}
	for i := 0; i < 3; i++ {
		if !b.allow(r, t0) {
			t.Fatalf("burst probe %d held back", i)
		}
		b.spend(fl, 1, r, t0)
	}
	if b.allow(r, t0) || b.allow(r, t0.Add(499*time.Millisecond)) {
		t.Fatal("a fourth probe within 0.5s: over 2/s with a burst of 3")
	}
	if !b.allow(set(hopIP(2)), t0) {
		t.Fatal("another router's bucket was spent")
	}
	// A probe charged to two routers needs a token of each, and spends both.
	if b.allow(set(hopIP(2), hopIP(1)), t0) {
		t.Fatal("a probe charged to an empty bucket went")
	}
	both := set(hopIP(2), hopIP(4))
	for i := 0; i < 3; i++ {
		b.spend(fl, 1, both, t0)
	}
	if b.allow(set(hopIP(4)), t0) || b.allow(set(hopIP(2)), t0) || !b.allow(set(hopIP(5)), t0) {
		t.Fatal("spending a set three times did not empty both buckets of 3, and only them")
	}
	if !b.allow(r, t0.Add(500*time.Millisecond)) {
		t.Fatal("the token due after 0.5s was not there")
	}
	b.spend(fl, 1, r, t0.Add(500*time.Millisecond))
	if b.allow(r, t0.Add(999*time.Millisecond)) {
		t.Fatal("allow must not spend, nor refill beyond the rate")
	}
	// An idle hour refills only up to the burst, and the sweep forgets
	// the full buckets without changing what they allow.
	later := t0.Add(time.Hour)
	if !b.allow(set(hopIP(3)), later) || len(b.buckets) != 1 {
		t.Fatalf("after an idle hour: %d buckets kept, want the full ones forgotten", len(b.buckets))
	}
	n := 0
	for ; b.allow(r, later); n++ {
		b.spend(fl, 1, r, later)
	}
	if n != 3 {
		t.Fatalf("%d probes after an idle hour, want the burst of 3", n)
	}
	if got := hopBurstOf(Options{HopRateLimit: 1}); got != 5 {
		t.Errorf("default burst at 1/s: %d, want 5 (one less than a Linux router's 6)", got)
	}
	if got := hopBurstOf(Options{HopRateLimit: 0.1}); got != 1 {
		t.Errorf("default burst at 0.1/s: %d, want 1", got)
	}
}

// flowTo is an ICMP flow to dst for the keying tests.
func flowTo(dst netip.Addr) *flow { return &flow{method: ICMP, dst: dst} }

// routersOf lists the routers a probe of f at ttl is charged to.
func routersOf(b *hopBudget, f *flow, ttl int) string {
	s := b.routers(f, ttl)
	return fmt.Sprint(s.list())
}

func TestHopRouterKeying(t *testing.T) {
	b := newHopBudget(1, 5)
	a, c := flowTo(dstA), flowTo(dstB)
	check := func(who string, f *flow, ttl int, want ...netip.Addr) {
		t.Helper()
		if got := routersOf(b, f, ttl); got != fmt.Sprint(want) {
			t.Errorf("%s TTL %d: charged to %s, want %v", who, ttl, got, want)
		}
	}
	for ttl := 1; ttl <= 4; ttl++ {
		check("a before any answer", a, ttl)
	}
	// a learns r1, r2, r3 and the destination at TTL 4, in a round's
	// replies in any order.
	b.learn(a, 4, dstA, KindReached)
	for _, ttl := range []int{2, 3, 1} {
		b.learn(a, ttl, hopIP(ttl), KindTimeExceeded)
	}
	for ttl := 1; ttl <= 3; ttl++ {
		check("a", a, ttl, hopIP(ttl))
	}
	for _, ttl := range []int{4, 5, 9} {
		check("a (the destination)", a, ttl)
	}
	// c has seen nothing: its TTLs are guessed along a's chain; beyond
	// the chain (a's destination is no router) nothing is limited.
	for ttl := 1; ttl <= 3; ttl++ {
		check("c guessed", c, ttl, hopIP(ttl))
	}
	check("c guessed", c, 4)
	// c's own answer overrides the guess: its path branches after r2.
	other := netip.MustParseAddr("198.18.99.2")
	b.learn(c, 2, hopIP(2), KindTimeExceeded)
	b.learn(c, 3, other, KindTimeExceeded)
	check("c", c, 3, other)
	// A new flow is charged to both branches after r2, the latest first.
	g := flowTo(netip.MustParseAddr("198.18.7.20"))
	check("g guessed", g, 3, other, hopIP(3))
	// After them come r5 (c's path) and a's destination: g's own
	// destination may be at TTL 4, so that is not held back, unless g has
	// seen a router answer beyond it.
	b.learn(c, 4, hopIP(5), KindTimeExceeded)
	check("g guessed", g, 4)
	b.learn(g, 6, hopIP(6), KindTimeExceeded)
	check("g guessed below a router it saw", g, 4, hopIP(5))
	// A flow that knows TTL 2 but not 1 keeps its own TTL 2.
	d := flowTo(netip.MustParseAddr("198.18.7.9"))
	b.learn(d, 2, other, KindTimeExceeded)
	check("d", d, 2, other)
	// A target that is itself a router of another path is its own
	// destination: never limited, known or guessed.
	check("a probe to r1", flowTo(hopIP(1)), 1)
	// The path got shorter: the destination now answers at TTL 2.
	b.learn(a, 2, dstA, KindReached)
	if check("a after it got shorter", a, 3); len(a.hops) != 2 {
		t.Errorf("a after the destination answered at TTL 2: %d hops kept, want 2", len(a.hops))
	}
	// Only ICMP errors teach routers; a destination's answer from another
	// address teaches nothing.
	f := flowTo(dstA)
	b.learn(f, 1, hopIP(6), KindReached)
	if len(f.hops) != 0 {
		t.Errorf("an Echo Reply from a router was learnt: %v", f.hops)
	}
	// A destination right after a router others go on from: once a
	// flow's destination answered there, new flows' probes there go out.
	b = newHopBudget(1, 5)
	x, y, z := flowTo(netip.MustParseAddr("198.18.30.1")), flowTo(netip.MustParseAddr("198.18.30.2")), flowTo(netip.MustParseAddr("198.18.30.3"))
	for ttl := 1; ttl <= 6; ttl++ {
		b.learn(x, ttl, hopIP(ttl), KindTimeExceeded) // x: r1 ... r6 ...
	}
	check("y guessed", y, 5, hopIP(5))
	check("y guessed", y, 6, hopIP(6))
	for ttl := 1; ttl <= 5; ttl++ {
		b.learn(z, ttl, hopIP(ttl), KindTimeExceeded)
	}
	b.learn(z, 6, z.dst, KindReached) // z: r1 ... r5, its destination
	check("y guessed", y, 5, hopIP(5))
	check("y guessed", y, 6)
	// A route change at TTL 3: the flow forgets what lies beyond and
	// probes those TTLs once more (its destination may now be nearer).
	w := flowTo(netip.MustParseAddr("198.18.31.1"))
	for ttl := 1; ttl <= 70; ttl++ {
		b.learn(w, ttl, netip.AddrFrom4([4]byte{198, 18, 40, byte(ttl)}), KindTimeExceeded)
		b.spend(w, ttl, set(), t0)
	}
	b.learn(w, 3, other, KindTimeExceeded)
	if len(w.hops) != 3 || w.hops[2] != other {
		t.Errorf("after a new router at TTL 3: responders %v, want 3 ending with %v", w.hops, other)
	}
	for _, ttl := range []int{1, 2, 3, 4, 63, 64, 65, 70} {
		if got, want := b.tried(w, ttl), ttl <= 3; got != want {
			t.Errorf("after a new router at TTL 3, TTL %d tried %v, want %v", ttl, got, want)
		}
	}
	for ttl := 4; ttl <= 70; ttl++ {
		b.learn(w, ttl, netip.AddrFrom4([4]byte{198, 18, 40, byte(ttl)}), KindTimeExceeded)
		b.spend(w, ttl, set(), t0)
	}
	b.learn(w, 65, other, KindTimeExceeded) // a change in the second word
	for _, ttl := range []int{3, 63, 64, 65, 66, 70} {
		if got, want := b.tried(w, ttl), ttl <= 65; got != want {
			t.Errorf("after a new router at TTL 65, TTL %d tried %v, want %v", ttl, got, want)
		}
	}
	// A router's branches are kept up to hopFanout, the latest first.
	for i := 0; i < hopFanout+2; i++ {
		b.link(hopIP(9), netip.AddrFrom4([4]byte{198, 18, 100, byte(i)}))
	}
	b.link(hopIP(9), netip.AddrFrom4([4]byte{198, 18, 100, 3}))
	if x := b.next[hopIP(9)]; x[0] != netip.AddrFrom4([4]byte{198, 18, 100, 3}) || x[1] != netip.AddrFrom4([4]byte{198, 18, 100, 5}) || x[hopFanout-1] != netip.AddrFrom4([4]byte{198, 18, 100, 2}) {
		t.Errorf("branches after r9: %v, want .3 .5 .4 .2", x)
	}
}
