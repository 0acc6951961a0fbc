package tracer

import (
	"net/netip"
	"testing"
	"time"
)

// After a burst of probes has been answered, the in-flight table is
// rebuilt at its new size; a table that stays busy is not.
func TestInflightShrinksAfterBurst(t *testing.T) {
	h := newHarness()
	const n = 1000 // x 8 TTLs: 8000 probes in flight at once
	for i := 0; i < n; i++ {
		h.addTarget(sched(1), netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}))
	}
	h.at(0)
	if got := h.c.inflightPeak; got != 8*n {
		t.Fatalf("peak %d, want %d", got, 8*n)
	}
	before := h.c.inflight
	h.answerAll(0, 3, nil) // everything answered: the table empties
	h.at(time.Millisecond)
	if len(h.c.inflight) != 0 || h.c.inflightPeak != 0 {
		t.Fatalf("after the burst: %d in flight, peak %d; want a rebuilt empty table", len(h.c.inflight), h.c.inflightPeak)
	}
	h.c.inflight[probeKey{}] = inflight{}
	if _, ok := before[probeKey{}]; ok {
		t.Fatal("the table was not rebuilt")
	}
	delete(h.c.inflight, probeKey{})

	// Busy: more than a quarter of the peak still in flight.
	h2 := newHarness()
	for i := 0; i < n; i++ {
		h2.addTarget(sched(1), netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}))
	}
	h2.at(0)
	h2.answerAll(0, 4, map[int]bool{1: true, 2: true, 3: true}) // TTLs 1-3 silent: 3000 of 8000 wait
	h2.at(time.Millisecond)
	if h2.c.inflightPeak != 8*n {
		t.Fatalf("a busy table was rebuilt: peak %d, %d in flight", h2.c.inflightPeak, len(h2.c.inflight))
	}
}
