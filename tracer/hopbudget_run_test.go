package tracer

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// The hop budget in the core: targets traced through routers that answer
// like Linux, with their default ICMP error rate limit, on a fake clock.

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

// A route change that brings the destination nearer, to a TTL where a
// router answered before (6 hops via r5 r6 r4, then 5 via r3 r4), with
// 8 targets sharing the routers: a flow learns of the change when one of
// its probes at a changed TTL is sampled, and from then on it finds the
// destination at TTL 5, although the router it knew there has no token
// to spare: it forgets what lay beyond the changed TTL and probes those
// TTLs once more. (Until then it sees the old path: a change at shared
// routers is seen at their sampling rate.)
func TestHopBudgetRouteChangeFindsNearerDestination(t *testing.T) {
	h := newHarness()
	h.c.hops = newHopBudget(1, 5)
	h.c.hops.rnd = rand.New(rand.NewPCG(5, 6)).Float64
	long := []netip.Addr{hopIP(1), hopIP(2), netip.MustParseAddr("198.18.8.2"), netip.MustParseAddr("198.18.9.2"), hopIP(4)}
	short := []netip.Addr{hopIP(1), hopIP(2), hopIP(3), hopIP(4)}
	path := long
	routers := map[netip.Addr]*kernelRouter{}
	for _, r := range append(append([]netip.Addr{}, long...), short...) {
		routers[r] = &kernelRouter{}
	}
	s := Schedule{Interval: time.Second, Rounds: 5, MaxHops: 10, Timeout: 500 * time.Millisecond}
	for i := 0; i < 8; i++ {
		s.Offset = time.Duration(i) * 100 * time.Millisecond
		h.addTarget(s, netip.AddrFrom4([4]byte{198, 18, 7, byte(10 + i)}))
	}
	switched := t0.Add(10 * time.Second)
	done := 0
	for d := time.Duration(0); d <= 30*time.Second; d += 10 * time.Millisecond {
		if h.now = t0.Add(d); !h.now.Before(switched) {
			path = short
		}
		h.at(d)
		for _, w := range h.fc.writes[done:] {
			rx := w.at.Add(time.Millisecond)
			if w.ttl > len(path) {
				h.answer(w, 1, rx) // the destination
			} else if r := path[w.ttl-1]; routers[r].allow(rx) {
				h.c.reply(h.now, rx, Reply{Kind: KindTimeExceeded, Proto: protoICMP4, Dst: w.dst, ID: w.id, Seq: w.seq}, r, 64-w.ttl)
			}
		}
		done = len(h.fc.writes)
		h.drain()
	}
	learnt := map[netip.Addr]bool{} // the target saw a router of the new path
	wrong, checked := 0, 0
	for _, r := range h.results { // in delivery order
		if r.Start.Before(switched) {
			continue
		}
		low := 0
		for _, p := range r.Probes {
			if p.Kind == KindReached && (low == 0 || p.TTL < low) {
				low = p.TTL
			}
		}
		if learnt[r.Dst] {
			checked++
			if low != 5 {
				wrong++
				t.Logf("%v interval from %v: destination first at TTL %d after the change was seen, want 5", r.Dst, r.Start.Sub(t0), low)
			}
		}
		for _, p := range r.Probes {
			if p.From == hopIP(3) {
				learnt[r.Dst] = true
			}
		}
	}
	t.Logf("%d targets saw the change, %d intervals after that checked", len(learnt), checked)
	if wrong > 0 || len(learnt) < 6 || checked < 40 {
		t.Errorf("%d of %d intervals found the destination at another TTL after the change was seen (%d targets saw it)", wrong, checked, len(learnt))
	}
	if h.st.hopSkipped.Load() == 0 {
		t.Error("nothing held back: the test does not exercise the budget")
	}
}
