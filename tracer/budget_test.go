package tracer

import (
	"testing"
	"time"
)

func TestBudgetBucket(t *testing.T) {
	if ok, _ := (*budget)(nil).take(t0); !ok {
		t.Fatal("no budget must never hold back")
	}
	b := newBudget(10, 3)
	for i := 0; i < 3; i++ {
		if ok, _ := b.take(t0); !ok {
			t.Fatalf("burst probe %d held back", i)
		}
	}
	ok, next := b.take(t0)
	if ok || next.Sub(t0) != 100*time.Millisecond {
		t.Fatalf("after the burst: ok=%v next=+%v, want false and +100ms", ok, next.Sub(t0))
	}
	if ok, _ := b.take(t0.Add(100 * time.Millisecond)); !ok {
		t.Fatal("the token due at +100ms was not there")
	}
	// A long idle refills only up to the burst.
	n := 0
	for {
		if ok, _ := b.take(t0.Add(time.Hour)); !ok {
			break
		}
		n++
	}
	if n != 3 {
		t.Fatalf("%d probes after an idle hour, want the burst of 3", n)
	}
}

// sendTimes returns the times of the first interval's probe writes as
// offsets from t0.
func sendTimes(h *harness) []time.Duration {
	var out []time.Duration
	for _, w := range h.fc.writes {
		if at := w.at.Sub(t0); at < 4*time.Second {
			out = append(out, at)
		}
	}
	return out
}

// runBudget runs one 4s interval of one round for two 8-hop targets
// (16 probes) under a budget, stepping the clock every 10ms and answering
// nothing; it returns the harness when the results are in.
func runBudget(t *testing.T, rate float64, burst int) *harness {
	t.Helper()
	h := newHarness()
	h.c.budget = newBudget(rate, burst)
	s := sched(1)
	a, b := h.addTarget(s, dstA), h.addTarget(s, dstB)
	for d := time.Duration(0); d <= 8*time.Second && len(h.results) < 2; d += 10 * time.Millisecond {
		h.at(d)
		h.drain()
	}
	if len(h.results) != 2 {
		t.Fatalf("%d results delivered, want 2", len(h.results))
	}
	h.c.remove(a) // the next interval began: stop it
	h.c.remove(b)
	end := h.now.Sub(t0)
	for d := end; d < end+5*time.Second; d += 100 * time.Millisecond {
		h.at(d) // the rounds' deadlines forget their probes
		h.drain()
	}
	if len(h.c.inflight) != 0 {
		t.Errorf("%d probes left in flight", len(h.c.inflight))
	}
	return h
}

// Under a budget that can carry the round within the interval, every
// probe goes out, never faster than the budget, in the round's order.
func TestBudgetSpreadsRound(t *testing.T) {
	h := runBudget(t, 10, 4)
	times := sendTimes(h)
	if len(times) != 16 || h.st.skipped.Load() > 0 && len(h.results[0].Probes) != 8 {
		t.Fatalf("%d probes sent, %d skipped; want 16 and 0", len(times), h.st.skipped.Load())
	}
	for i, at := range times {
		// By time at, at most burst + rate*at probes may have gone.
		if allowed := 4 + int(at.Seconds()*10+1e-9); i+1 > allowed {
			t.Fatalf("probe %d sent at %v: over the budget (%d allowed)", i+1, at, allowed)
		}
	}
	if last := times[len(times)-1]; last < 1100*time.Millisecond {
		t.Errorf("the last probe went at %v: the budget did not hold the round back", last)
	}
	for _, r := range h.results {
		if len(r.Probes) != 8 {
			t.Errorf("result has %d probes, want 8", len(r.Probes))
		}
	}
}

// What the budget cannot send within the interval is skipped and counted,
// and the interval still ends.
func TestBudgetSkipsPastInterval(t *testing.T) {
	h := runBudget(t, 2, 1)
	sent, skipped := len(sendTimes(h)), int(h.st.skipped.Load())
	if sent+skipped != 16 {
		t.Fatalf("sent %d + skipped %d != 16", sent, skipped)
	}
	if sent > 9 || skipped == 0 {
		t.Fatalf("sent %d, skipped %d: want at most 1+2*4 sent and the rest skipped", sent, skipped)
	}
}

// A target removed while its round waits for the budget sends nothing
// more and leaves nothing in flight.
func TestBudgetRemoveMidRound(t *testing.T) {
	h := newHarness()
	h.c.budget = newBudget(2, 2)
	tg := h.addTarget(sched(1), dstA)
	h.at(0)
	if n := len(h.fc.writes); n != 2 {
		t.Fatalf("%d probes in the burst, want 2", n)
	}
	h.c.remove(tg)
	for d := 10 * time.Millisecond; d < 6*time.Second; d += 10 * time.Millisecond {
		h.at(d)
		h.drain()
	}
	if n := len(h.fc.writes); n != 2 {
		t.Errorf("%d probes sent after removal", n-2)
	}
	if len(h.c.inflight) != 0 {
		t.Errorf("%d probes left in flight", len(h.c.inflight))
	}
}
