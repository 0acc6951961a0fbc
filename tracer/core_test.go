package tracer

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// write is one probe the fake socket was asked to send.
type write struct {
	dst, src netip.Addr
	ttl      int
	id, seq  uint16
	cksum    uint16
	size     int       // the ICMP message's length
	at       time.Time // the clock when it was sent
}

// fakeConn records writes and wakes; tests answer writes by calling
// core.reply and report drains by calling core.drained.
type fakeConn struct {
	h      *harness
	writes []write
	wakes  int
	fail   error
}

func (f *fakeConn) WriteTo(b []byte, dst, src netip.Addr, ttl int) error {
	if f.fail != nil {
		return f.fail
	}
	f.writes = append(f.writes, write{dst: dst, src: src, ttl: ttl, at: f.h.now, size: len(b),
		cksum: binary.BigEndian.Uint16(b[2:]), id: binary.BigEndian.Uint16(b[4:]), seq: binary.BigEndian.Uint16(b[6:])})
	return nil
}
func (f *fakeConn) ReadPacket([]byte) (Packet, error) { select {} }
func (f *fakeConn) Wake()                             { f.wakes++ }
func (f *fakeConn) Close() error                      { return nil }

var (
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dstA  = netip.MustParseAddr("198.18.7.2")
	dstB  = netip.MustParseAddr("198.18.7.3")
	hopIP = func(ttl int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(ttl), 2}) }
)

// harness drives a core with a fake clock: now is what both advance and
// the core's send stamps see.
type harness struct {
	c       *core
	fc      *fakeConn
	st      *counters
	now     time.Time
	results []Result
}

func newHarness() *harness {
	h := &harness{now: t0, st: &counters{}}
	h.fc = &fakeConn{h: h}
	h.c = newCore([2][nSocks]PacketConn{{h.fc}}, func() time.Time { return h.now }, h.st, func(_ *Target, r Result) { h.results = append(h.results, r) })
	return h
}

// at moves the clock to t0+d and handles the events due.
func (h *harness) at(d time.Duration) {
	h.now = t0.Add(d)
	h.c.advance(h.now)
}

// drain reports a watermark at the current time.
func (h *harness) drain() {
	for k, conn := range h.c.conns[0] {
		if conn != nil && receives(sockKind(k)) {
			h.c.drained(h.now, 0, sockKind(k), h.now)
		}
	}
}

// answer replies to w like a chain of `hops` routers ending at the
// destination, as received by the kernel at rx and handled now.
func (h *harness) answer(w write, hops int, rx time.Time) bool {
	if w.ttl >= hops {
		return h.c.reply(h.now, rx, Reply{Kind: KindReached, Proto: protoICMP4, ID: w.id, Seq: w.seq}, w.dst, 60)
	}
	return h.c.reply(h.now, rx, Reply{Kind: KindTimeExceeded, Proto: protoICMP4, Dst: w.dst, ID: w.id, Seq: w.seq}, hopIP(w.ttl), 64-w.ttl)
}

// answerAll answers the writes from index `from` on, received 1ms after
// each was sent, skipping TTLs in silent.
func (h *harness) answerAll(from, hops int, silent map[int]bool) {
	for _, w := range h.fc.writes[from:] {
		if !silent[w.ttl] {
			h.answer(w, hops, w.at.Add(time.Millisecond))
		}
	}
}

func sched(rounds int) Schedule {
	return Schedule{Interval: 4 * time.Second, Rounds: rounds, MaxHops: 8, Timeout: time.Second}
}

func (h *harness) addTarget(s Schedule, dst netip.Addr) *Target {
	t := NewTarget(s, nil)
	t.SetAddr(dst)
	h.c.add(h.now, t)
	return t
}

func TestRoundsSpreadOverIntervalWithParallelTTLs(t *testing.T) {
	h := newHarness()
	h.addTarget(sched(4), dstA)
	// Nothing answers: every round probes all 8 TTLs at once, one round a second.
	for i := 0; i < 4; i++ {
		d := time.Duration(i) * time.Second
		h.at(d - time.Nanosecond)
		if len(h.fc.writes) != i*8 {
			t.Fatalf("before round %d: %d writes, want %d (rounds must not be sent early)", i, len(h.fc.writes), i*8)
		}
		h.at(d)
		if len(h.fc.writes) != (i+1)*8 {
			t.Fatalf("at round %d: %d writes, want %d", i, len(h.fc.writes), (i+1)*8)
		}
		for k, w := range h.fc.writes[i*8:] {
			if w.ttl != 8-k || w.dst != dstA {
				t.Fatalf("round %d probe %d: TTL %d to %v, want TTL %d (highest first) to %v", i, k, w.ttl, w.dst, 8-k, dstA)
			}
		}
		h.drain()
	}
	h.at(4*time.Second - time.Nanosecond)
	h.drain()
	if len(h.results) != 0 {
		t.Fatal("result delivered before the interval ended")
	}
	h.at(4 * time.Second) // the next interval starts and the last round's probes expire
	h.drain()
	if len(h.results) != 1 {
		t.Fatalf("got %d results at the end of the interval, want 1", len(h.results))
	}
	r := h.results[0]
	if r.Rounds != 4 || len(r.Probes) != 32 || r.Dst != dstA {
		t.Fatalf("result: %d rounds, %d probes to %v; want 4, 32, %v", r.Rounds, len(r.Probes), r.Dst, dstA)
	}
	for _, p := range r.Probes {
		if p.Kind != KindNone {
			t.Fatalf("probe %+v answered, but nothing replied", p)
		}
	}
	if len(h.fc.writes) != 40 {
		t.Fatalf("%d writes after the second interval started, want 40", len(h.fc.writes))
	}
}

func TestIntervalsScheduledByTheEngineSkipMissedOnes(t *testing.T) {
	h := newHarness()
	s := sched(1)
	s.Offset = 500 * time.Millisecond
	h.addTarget(s, dstA)
	starts := func() (n int) {
		for _, w := range h.fc.writes {
			if w.ttl == 1 {
				n++
			}
		}
		return n
	}
	h.at(499 * time.Millisecond)
	if starts() != 0 {
		t.Fatal("first interval started before the offset")
	}
	h.at(500 * time.Millisecond)
	h.at(4500 * time.Millisecond)
	if starts() != 2 {
		t.Fatalf("%d intervals after one period, want 2", starts())
	}
	// The loop stalls for 3 intervals: they are skipped, not run in a burst.
	h.at(4500*time.Millisecond + 12100*time.Millisecond)
	if starts() != 3 {
		t.Fatalf("%d intervals after a stall, want 3 (missed ones skipped)", starts())
	}
	h.at(20500 * time.Millisecond)
	if starts() != 4 || !h.fc.writes[len(h.fc.writes)-1].at.Equal(t0.Add(20500*time.Millisecond)) {
		t.Fatalf("%d intervals; the grid k*interval+offset must hold after a stall", starts())
	}
}

func TestParisFlowConstantAndIdentifiersUniquePerDestination(t *testing.T) {
	h := newHarness()
	a1 := h.addTarget(sched(4), dstA)
	a2 := h.addTarget(sched(4), dstA)
	b := h.addTarget(sched(4), dstB)
	h.at(3 * time.Second)
	cksum := map[uint16]uint16{}
	ids := map[netip.Addr]map[uint16]bool{}
	for _, w := range h.fc.writes {
		if c, ok := cksum[w.id]; ok && c != w.cksum {
			t.Fatalf("flow %#x: checksum %#x then %#x; a Paris flow keeps one", w.id, c, w.cksum)
		}
		cksum[w.id] = w.cksum
		if ids[w.dst] == nil {
			ids[w.dst] = map[uint16]bool{}
		}
		ids[w.dst][w.id] = true
	}
	if len(ids[dstA]) != 2 || len(ids[dstB]) != 1 {
		t.Fatalf("identifiers per destination %v: two targets of one address need two, one of another needs one", ids)
	}
	if a1.flows[0].id == a2.flows[0].id {
		t.Fatal("two targets of one destination share an identifier")
	}
	_ = b
	// A table with every identifier but one taken towards a destination
	// still hands out that one.
	tab := idTable{}
	k := flowKey{dstA, protoICMP4}
	tab[k] = map[uint16]struct{}{}
	for i := 0; i < 1<<16; i++ {
		if i != 4242 {
			tab[k][uint16(i)] = struct{}{}
		}
	}
	if id := tab.take(dstA, ICMP); id != 4242 {
		t.Fatalf("took %d, want the only free 4242", id)
	}
	tab.release(dstA, ICMP, 7)
	if id := tab.take(dstA, ICMP); id != 7 {
		t.Fatalf("took %d after releasing 7, want 7", id)
	}
}

func TestReplyReceivedInTimeCountsEvenWhenHandledAfterExpiry(t *testing.T) {
	h := newHarness()
	h.addTarget(sched(1), dstA)
	h.at(0)
	w := sortedByTTL(h.fc.writes)
	h.at(time.Second) // the round's deadline: expiry asks for a drain
	if h.fc.wakes != 1 {
		t.Fatalf("%d wakes at the deadline, want 1", h.fc.wakes)
	}
	h.at(1500 * time.Millisecond) // the loop was busy; replies are handled late
	// Received by the kernel 900ms after the send: in time.
	for _, x := range w[:3] {
		if !h.answer(x, 3, x.at.Add(900*time.Millisecond)) {
			t.Fatalf("reply to TTL %d received in time but handled after expiry was rejected", x.ttl)
		}
	}
	// Received 1.2s after the send: late, even though a probe waited.
	if h.answer(w[3], 9, w[3].at.Add(1200*time.Millisecond)) {
		t.Fatal("reply received after the timeout was accepted")
	}
	h.drain()
	// A reply to a given-up probe, received after the drain: late too.
	h.at(1600 * time.Millisecond)
	h.answer(w[5], 9, h.now)
	h.at(4 * time.Second)
	h.drain()
	if len(h.results) != 1 {
		t.Fatalf("%d results, want 1", len(h.results))
	}
	r := h.results[0]
	for _, p := range r.Probes {
		switch {
		case p.TTL <= 3 && (p.Kind == KindNone || p.RTT != 900*time.Millisecond):
			t.Errorf("TTL %d: %v with RTT %v, want answered in 900ms", p.TTL, p.Kind, p.RTT)
		case p.TTL > 3 && p.Kind != KindNone:
			t.Errorf("TTL %d: %v, want lost", p.TTL, p.Kind)
		}
	}
	if h.st.late.Load() != 2 || h.st.replies.Load() != 3 || h.st.unmatched.Load() != 0 {
		t.Fatalf("late %d replies %d unmatched %d, want 2 3 0", h.st.late.Load(), h.st.replies.Load(), h.st.unmatched.Load())
	}
}

func TestExpiredProbesWaitForTheWatermark(t *testing.T) {
	short := sched(1)
	short.Interval = 2 * time.Second
	h := newHarness()
	h.addTarget(short, dstA)
	h.at(0)
	h.at(2 * time.Second) // interval over, deadline passed
	if len(h.results) != 0 {
		t.Fatal("result delivered before the socket was drained up to the deadline")
	}
	h.c.drained(h.now, 0, sockICMP, t0.Add(999*time.Millisecond)) // a watermark before the deadline
	if len(h.results) != 0 {
		t.Fatal("a watermark before the deadline gave the probes up")
	}
	if h.fc.wakes != 2 {
		t.Fatalf("%d wakes, want a second one for the round still waiting", h.fc.wakes)
	}
	if len(h.results) != 0 {
		t.Fatal("result delivered before a watermark reached the deadline")
	}
	h.c.drained(h.now, 0, sockICMP, t0.Add(time.Second))
	if len(h.results) != 1 {
		t.Fatal("a watermark at the deadline did not finish the interval")
	}
	// Without any watermark, drainGrace ends the wait.
	h2 := newHarness()
	h2.addTarget(short, dstA)
	h2.at(0)
	h2.at(time.Second + drainGrace - time.Nanosecond)
	if len(h2.results) != 0 {
		t.Fatal("gave up before drainGrace")
	}
	h2.at(time.Second + drainGrace)
	if len(h2.results) != 1 {
		t.Fatal("no result drainGrace after the deadline without a watermark")
	}
}

func TestRemoveStopsAtOnce(t *testing.T) {
	h := newHarness()
	tg := h.addTarget(sched(4), dstA)
	other := h.addTarget(sched(4), dstB)
	h.at(1500 * time.Millisecond) // two rounds sent
	w := h.fc.writes
	h.c.remove(tg)
	n := len(h.fc.writes)
	h.answerAll(0, 3, nil) // replies to the removed target's probes arrive
	for d := 2 * time.Second; d <= 20*time.Second; d += 500 * time.Millisecond {
		h.at(d)
		h.drain()
	}
	for _, x := range h.fc.writes[n:] {
		if x.dst == dstA {
			t.Fatalf("probe to a removed target sent at %v", x.at.Sub(t0))
		}
	}
	for _, r := range h.results {
		if r.Dst == dstA {
			t.Fatal("result of a removed target delivered")
		}
	}
	if len(h.results) == 0 {
		t.Fatal("the other target stopped too")
	}
	if _, ok := h.c.ids[flowKey{dstA, protoICMP4}]; ok {
		t.Fatal("removed target's identifier not released")
	}
	aReplies := 0
	for _, x := range w {
		if x.dst == dstA {
			aReplies++
		}
	}
	if got := h.st.unmatched.Load(); got != uint64(aReplies) {
		t.Fatalf("%d unmatched, want the %d replies to the removed target", got, aReplies)
	}
	_ = other
}

func TestHintLimitsTTLsAndLongerPathVoidsIt(t *testing.T) {
	h := newHarness()
	tg := h.addTarget(sched(4), dstA)
	tg.SetHint(3)
	h.at(0)
	if len(h.fc.writes) != 4 {
		t.Fatalf("round 0 with hint 3 sent %d probes, want TTLs 1..4", len(h.fc.writes))
	}
	// The path is 3 hops: later rounds stop one past the destination.
	h.answerAll(0, 3, nil)
	h.at(time.Second)
	if got := len(h.fc.writes) - 4; got != 4 {
		t.Fatalf("round 1 sent %d probes, want 4", got)
	}
	// Next interval: the path got longer (6 hops). A router answers at
	// TTL 3, the hinted destination TTL, so later rounds probe MaxHops.
	h.drain()
	h.at(4 * time.Second)
	h.drain()
	start := len(h.fc.writes)
	h.answerAll(start-4, 6, nil)
	h.at(5 * time.Second)
	if got := len(h.fc.writes) - start; got != 8 {
		t.Fatalf("round after a router answered at the hinted TTL sent %d probes, want MaxHops 8", got)
	}
	h.answerAll(start, 6, nil)
	h.at(6 * time.Second)
	if got := len(h.fc.writes) - start - 8; got != 7 {
		t.Fatalf("round after the destination answered at 6 sent %d probes, want 7", got)
	}
}

func TestRoundWithoutDestinationVoidsHint(t *testing.T) {
	h := newHarness()
	tg := h.addTarget(sched(4), dstA)
	tg.SetHint(3)
	h.at(0)
	// TTLs 3 and 4 silent: round 0 never reaches the destination.
	h.answerAll(0, 3, map[int]bool{3: true, 4: true})
	h.at(time.Second)
	h.drain() // round 0 is given up without reaching
	h.at(2 * time.Second)
	if got := len(h.fc.writes) - 8; got != 8 {
		t.Fatalf("round after one that did not reach sent %d probes, want MaxHops 8", got)
	}
}

func TestSendErrorsAndSequenceWrap(t *testing.T) {
	h := newHarness()
	h.fc.fail = errors.New("no route")
	h.addTarget(sched(1), dstA)
	h.at(0)
	h.at(4 * time.Second)
	if len(h.results) != 1 || h.results[0].SendErr == nil || len(h.results[0].Probes) != 8 || h.st.sendErrors.Load() < 8 || h.st.sent.Load() != 0 {
		t.Fatalf("results %d, send errors %d, sent %d; want 1 result of 8 refused probes with the error, 0 sent", len(h.results), h.st.sendErrors.Load(), h.st.sent.Load())
	}
	for _, p := range h.results[0].Probes {
		if !p.SendFailed {
			t.Fatalf("probe %+v not marked as refused", p)
		}
	}
	// A flow whose sequence wraps onto a probe still waiting gives that
	// probe up instead of leaving its interval hanging.
	h2 := newHarness()
	tg := h2.addTarget(sched(2), dstA)
	h2.at(0)
	tg.flows[0].seq -= 8 // the next round reuses the first round's sequence numbers
	h2.at(2 * time.Second)
	h2.at(4 * time.Second)
	h2.drain()
	if len(h2.results) != 1 {
		t.Fatalf("%d results after a wrapped sequence, want 1", len(h2.results))
	}
}

func TestRTTUsesKernelTimeAndSurvivesClockSteps(t *testing.T) {
	sent := time.Now()
	rx := sent.Round(0).Add(30 * time.Millisecond) // kernel time: wall only
	handled := sent.Add(45 * time.Millisecond)
	if got := rtt(sent, rx, handled); got != 30*time.Millisecond {
		t.Fatalf("rtt %v, want the kernel's 30ms, not the 45ms until handling", got)
	}
	stepped := sent.Round(0).Add(-time.Hour)
	if got := rtt(sent, stepped, handled); got != 45*time.Millisecond {
		t.Fatalf("rtt across a wall-clock step back %v, want the monotonic bound 45ms", got)
	}
	if got := rtt(sent, sent.Round(0).Add(time.Hour), handled); got != 45*time.Millisecond {
		t.Fatalf("rtt across a wall-clock step forward %v, want 45ms", got)
	}
	if got := rtt(sent, time.Time{}, handled); got != 45*time.Millisecond {
		t.Fatalf("rtt without a kernel time %v, want the handling time 45ms", got)
	}
}

// sortedByTTL returns a copy of writes ordered by TTL (rounds send the
// highest TTL first).
func sortedByTTL(writes []write) []write {
	out := append([]write(nil), writes...)
	slices.SortStableFunc(out, func(a, b write) int { return a.ttl - b.ttl })
	return out
}

// An interval that starts while the one before still waits for replies
// (so no hint has come back yet) starts from the destination TTL that
// interval found, not from MaxHops.
func TestNextIntervalUsesRunningIntervalsEnd(t *testing.T) {
	h := newHarness()
	s := sched(4) // 4s interval, rounds every second, 1s timeout, 8 hops
	h.addTarget(s, dstA)
	h.at(0)
	h.answerAll(0, 3, nil)
	h.at(3 * time.Second) // the last round; its replies never come
	n := len(h.fc.writes)
	h.at(4 * time.Second) // the next interval starts before the last round's deadline
	if len(h.results) != 0 {
		t.Fatalf("the first interval was delivered before the second started")
	}
	top := 0
	for _, w := range h.fc.writes[n:] {
		top = max(top, w.ttl)
	}
	if top != 4 {
		t.Errorf("the second interval's first round probed up to TTL %d, want 4 (destination at 3, plus one)", top)
	}
}
