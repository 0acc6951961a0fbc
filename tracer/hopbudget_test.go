package tracer

import (
	"fmt"
	"math/rand/v2"
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
	// A router's branches are kept up to hopFanout, the latest first.
	for i := 0; i < hopFanout+2; i++ {
		b.link(hopIP(9), netip.AddrFrom4([4]byte{198, 18, 100, byte(i)}))
	}
	b.link(hopIP(9), netip.AddrFrom4([4]byte{198, 18, 100, 3}))
	if x := b.next[hopIP(9)]; x[0] != netip.AddrFrom4([4]byte{198, 18, 100, 3}) || x[1] != netip.AddrFrom4([4]byte{198, 18, 100, 5}) || x[hopFanout-1] != netip.AddrFrom4([4]byte{198, 18, 100, 2}) {
		t.Errorf("branches after r9: %v, want .3 .5 .4 .2", x)
	}
}

// kernelRouter answers like a Linux router with its default ICMP error
// rate limit towards one source: one a second, bursts of 6.
type kernelRouter struct {
	tokens float64
	last   time.Time
	// shed counts the answers it did not send, and late those after
	// hopWarm.
	shed, late int
}

// hopWarm is when every target of hopRun has sent its first round, the
// one probe per TTL that always goes out.
const hopWarm = 2 * time.Second

func (k *kernelRouter) allow(at time.Time) bool {
	if k.last.IsZero() {
		k.tokens = 6
	} else {
		k.tokens = min(6, k.tokens+at.Sub(k.last).Seconds())
	}
	k.last = at
	if k.tokens >= 1 {
		k.tokens--
		return true
	}
	k.shed++
	if at.Sub(t0) >= hopWarm {
		k.late++
	}
	return false
}

// hopRun traces `targets` destinations 4 hops away for `span` through
// r1, then r2 (even targets) or r2' (odd: the two branches of a load
// balancer), then r3, each rate-limited like Linux, with the given hop
// budget (its draw seeded, or none if rnd is nil), answering every write
// 1ms after it was sent. It returns the harness once every interval begun
// has been delivered, and the routers by address.
func hopRun(t *testing.T, hb *hopBudget, targets int, span time.Duration) (*harness, map[netip.Addr]*kernelRouter) {
	t.Helper()
	if hb != nil && hb.rnd != nil {
		hb.rnd = rand.New(rand.NewPCG(1, 2)).Float64 // the same draws every run
	}
	h := newHarness()
	h.c.hops = hb
	branch := netip.MustParseAddr("198.18.20.2")
	routers := map[netip.Addr]*kernelRouter{hopIP(1): {}, hopIP(2): {}, branch: {}, hopIP(3): {}}
	s := Schedule{Interval: 2 * time.Second, Rounds: 4, MaxHops: 8, Timeout: time.Second}
	var ts []*Target
	for i := 0; i < targets; i++ {
		s.Offset = time.Duration(i) * s.Interval / time.Duration(targets)
		ts = append(ts, h.addTarget(s, netip.AddrFrom4([4]byte{198, 18, 7, byte(10 + i)})))
	}
	done := 0
	for d := time.Duration(0); d <= span+4*time.Second; d += 10 * time.Millisecond {
		if d == span {
			for _, tg := range ts {
				tg.removed = true // no new intervals; those running finish
			}
		}
		h.at(d)
		for _, w := range h.fc.writes[done:] {
			rx := w.at.Add(time.Millisecond)
			if w.ttl >= 4 {
				h.answer(w, 4, rx)
				continue
			}
			from := hopIP(w.ttl)
			if w.ttl == 2 && w.dst.As4()[3]%2 == 1 {
				from = branch
			}
			if routers[from].allow(rx) {
				h.c.reply(h.now, rx, Reply{Kind: KindTimeExceeded, Proto: protoICMP4, Dst: w.dst, ID: w.id, Seq: w.seq}, from, 64-w.ttl)
			}
		}
		done = len(h.fc.writes)
		h.drain()
	}
	return h, routers
}

// hopLoss is the share of the delivered probes at TTLs 1..3 without reply
// (discovery probes left out, as the hop's statistics leave them out),
// and how many probes at TTL 4 (the destination) were delivered.
func hopLoss(h *harness) (loss float64, sent, dest int) {
	lost := 0
	for _, r := range h.results {
		for _, p := range r.Probes {
			switch {
			case p.TTL == 4:
				dest++
			case p.TTL < 4 && !p.Discovery:
				sent++
				if p.Kind == KindNone {
					lost++
				}
			}
		}
	}
	return float64(lost) / float64(max(1, sent)), sent, dest
}

// With 20 targets through the same three routers (160 probes a second at
// each, against a limit of one answer a second), the hop budget asks each
// router no more than it answers: every probe sent to them is answered,
// what was held back is counted and absent from the results, and the
// destination's probes all go out. Without it (the control), the routers
// shed nearly every answer.
func TestHopBudgetSamplesSharedHops(t *testing.T) {
	const targets, span = 20, 30 * time.Second
	h, routers := hopRun(t, newHopBudget(1, 5), targets, span)
	loss, sent, dest := hopLoss(h)
	skipped := int(h.st.hopSkipped.Load())
	t.Logf("with the budget: %d probes at the routers, loss %.3f, %d skipped, %d at the destination", sent, loss, skipped, dest)
	for r, k := range routers {
		// The first round of 20 targets asks each router 20 times in 2s
		// (10 per branch): it sheds all but its burst of 6 and 2 more.
		if k.late > 0 || k.shed > 14 {
			t.Errorf("router %v shed %d answers under the hop budget, %d after the first rounds", r, k.shed, k.late)
		}
	}
	if loss != 0 {
		t.Errorf("loss %.3f at the shared routers under the hop budget, want 0", loss)
	}
	// Each of 4 routers: at most its burst plus one a second.
	if limit := 4 * (5 + int(span.Seconds())); sent > limit || sent < 2*int(span.Seconds()) {
		t.Errorf("%d probes at the routers in %v, want about one a second each (at most %d)", sent, span, limit)
	}
	if want := 4 * len(h.results); dest != want || len(h.results) < targets*int(span/(2*time.Second))-targets {
		t.Errorf("%d probes at the destination's TTL in %d results, want all %d (never held back)", dest, len(h.results), want)
	}
	// What was held back is not in the results: they hold only what was
	// written, which the sent counter counts.
	if writes := len(h.fc.writes); sent+dest > writes || int(h.st.sent.Load()) != writes {
		t.Errorf("%d probes at TTLs 1-4 in the results, %d written, %d counted sent", sent+dest, writes, h.st.sent.Load())
	}
	if skipped < len(h.results)*4*3/2 {
		t.Errorf("%d skipped: want most of the routers' %d probes held back", skipped, len(h.results)*4*3)
	}
	// Discovery probes: the first rounds' probes beyond the budget, only.
	discovery := 0
	for _, r := range h.results {
		for _, p := range r.Probes {
			if p.Discovery {
				discovery++
				if r.Start.Sub(t0) >= hopWarm || p.TTL >= 4 {
					t.Errorf("discovery probe %+v in the interval from %v: only first rounds' probes at the routers may be", p, r.Start.Sub(t0))
				}
			}
		}
	}
	if discovery == 0 || discovery > targets*3 {
		t.Errorf("%d discovery probes, want some and at most one per target and router TTL", discovery)
	}

	// The samples are spread over the targets: each had probes at every
	// router. (Rounds recur every 0.5s: without the draw, the token that
	// comes back every second went to the same few targets.)
	// About 30 draws over 20 targets: 16 distinct expected.
	if got := sampled(h); got < targets*2/3 {
		t.Errorf("%d of %d targets had probes at r1, want about 16", got, targets)
	}

	// The control: the same network without the budget.
	h, routers = hopRun(t, nil, targets, span)
	loss, sent, _ = hopLoss(h)
	t.Logf("without: %d probes at the routers, loss %.3f, r1 shed %d", sent, loss, routers[hopIP(1)].shed)
	if loss < 0.5 || h.st.hopSkipped.Load() != 0 {
		t.Errorf("control: loss %.3f, %d skipped; want the routers to shed most answers and nothing skipped", loss, h.st.hopSkipped.Load())
	}
}

// sampled counts the targets that had a probe at TTL 1 answered after
// their first interval.
func sampled(h *harness) int {
	dsts := map[netip.Addr]bool{}
	for _, r := range h.results {
		if r.Start.Sub(t0) < hopWarm {
			continue // a first interval: see hopWarm
		}
		for _, p := range r.Probes {
			if p.TTL == 1 && p.Kind != KindNone {
				dsts[r.Dst] = true
			}
		}
	}
	return len(dsts)
}

// Without the draw (every probe takes a token when there is one), the
// token goes to whichever target's round comes first after it refills:
// with rounds on a fixed grid, the same few. The draw's control.
func TestHopBudgetWithoutDrawSamplesFewTargets(t *testing.T) {
	hb := newHopBudget(1, 5)
	hb.rnd = nil
	h, _ := hopRun(t, hb, 20, 30*time.Second)
	// With the draw off, rnd is never called while demand exceeds the
	// rate only if every probe that finds a token takes it.
	if got := sampled(h); got > 8 {
		t.Errorf("without the draw %d of 20 targets sampled at r1: the draw's test cannot fail", got)
	} else {
		t.Logf("without the draw: %d of 20 targets sampled at r1", got)
	}
}

// BenchmarkSendAndMatchHopBudget is BenchmarkSendAndMatch with the hop
// budget deciding on every probe (its routers known, so every probe below
// the destination is charged): deciding allocates nothing.
func BenchmarkSendAndMatchHopBudget(b *testing.B) {
	h := newHarness()
	h.c.hops = newHopBudget(1e12, 1<<62) // the fake clock stands still: a budget that never runs out
	s := Schedule{MaxHops: 8, Rounds: 1 << 30, Interval: time.Hour, Timeout: time.Second}
	tg := h.addTarget(s, dstA)
	h.at(0)
	h.answerAll(0, 5, nil)
	j := tg.job
	b.ReportAllocs()
	for b.Loop() {
		h.fc.writes = h.fc.writes[:0]
		j.recs = j.recs[:0]
		c := h.c
		c.sendRound(t0, j)
		for _, w := range h.fc.writes {
			h.answer(w, 5, w.at)
		}
		c.events.h = c.events.h[:0]
	}
	if n := h.st.hopSkipped.Load(); n != 0 {
		b.Fatalf("%d probes held back by a budget that never runs out", n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*8), "ns/probe")
}

// depthRun traces 10 targets 5 hops away (r1 r2 r3 r4, then the
// destination) and, started after them, 10 that are 4 hops away (r1 r2 r3,
// then the destination: r4 is where the others go on), with every router
// rate-limited like Linux, for 20s. It returns, per target, the lowest
// TTL at which its destination answered in each interval.
func depthRun(t *testing.T, hb *hopBudget) map[netip.Addr][]int {
	t.Helper()
	hb.rnd = rand.New(rand.NewPCG(3, 4)).Float64
	h := newHarness()
	h.c.hops = hb
	routers := map[int]*kernelRouter{1: {}, 2: {}, 3: {}, 4: {}}
	depth := map[netip.Addr]int{}
	s := Schedule{Interval: 2 * time.Second, Rounds: 4, MaxHops: 8, Timeout: time.Second}
	for i := 0; i < 20; i++ {
		dst := netip.AddrFrom4([4]byte{198, 18, 7, byte(10 + i)})
		depth[dst] = 5
		s.Offset = time.Duration(i) * 100 * time.Millisecond
		if i >= 10 {
			depth[dst] = 4
			s.Offset += 4 * time.Second
		}
		h.addTarget(s, dst)
	}
	done := 0
	for d := time.Duration(0); d <= 20*time.Second; d += 10 * time.Millisecond {
		h.at(d)
		for _, w := range h.fc.writes[done:] {
			rx := w.at.Add(time.Millisecond)
			if w.ttl >= depth[w.dst] {
				h.answer(w, depth[w.dst], rx)
			} else if routers[w.ttl].allow(rx) {
				h.answer(w, 8, rx)
			}
		}
		done = len(h.fc.writes)
		h.drain()
	}
	out := map[netip.Addr][]int{}
	for _, r := range h.results {
		low := 0
		for _, p := range r.Probes {
			if p.Kind == KindReached && (low == 0 || p.TTL < low) {
				low = p.TTL
			}
		}
		out[r.Dst] = append(out[r.Dst], low)
	}
	for dst, lows := range out {
		for i, low := range lows {
			if low != depth[dst] {
				t.Logf("%v (%d hops) interval %d: the destination first answered at TTL %d", dst, depth[dst], i, low)
			}
		}
	}
	return out
}

// The hop count stays exact: a target whose destination sits where other
// targets' paths go on through a busy router (r4) is guessed to reach r4
// at that TTL, but a flow's first probe at each TTL always goes out, so
// every interval finds the destination at its own TTL. The control holds
// the first probes back too: the destination is then found further out.
func TestHopBudgetKeepsHopCountExact(t *testing.T) {
	wrong := func(out map[netip.Addr][]int) (n int) {
		for dst, lows := range out {
			want := 5
			if dst.As4()[3] >= 20 {
				want = 4
			}
			for _, low := range lows {
				if low != want {
					n++
				}
			}
		}
		return n
	}
	if n := wrong(depthRun(t, newHopBudget(1, 5))); n != 0 {
		t.Errorf("%d intervals found the destination at another TTL than its own", n)
	}
	hb := newHopBudget(1, 5)
	hb.holdFirst = true
	if n := wrong(depthRun(t, hb)); n == 0 {
		t.Error("control: with first probes held back too, every hop count was still exact: the test cannot fail")
	}
}
