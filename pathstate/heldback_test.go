package pathstate

import (
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// holdBack removes the probes a budget held back from r: those of the
// given TTL in every round but the first. The tracer never delivers them.
func holdBack(r tracer.Result, ttls ...int) tracer.Result {
	held := map[int]bool{}
	for _, t := range ttls {
		held[t] = true
	}
	out := r
	out.Probes = nil
	for _, p := range r.Probes {
		if p.Round > 0 && held[p.TTL] {
			continue
		}
		out.Probes = append(out.Probes, p)
	}
	return out
}

// A hop whose probes the hop budget held back has the statistics of those
// that went out: held-back probes are neither sent nor lost, at that hop,
// in forward loss and in the interval's counts.
func TestHeldBackProbesAreNeitherSentNorLost(t *testing.T) {
	r := holdBack(result(
		round{a, b, d, d},
		round{a, b, d, d},
		round{a, none, d, d},
		round{a, b, d, d},
	), 1)
	in := Summarize(r, 3, true)
	if h := in.HopStats[0]; h.Sent != 1 || h.Replies != 1 || h.Loss != 0 || h.ForwardLoss != 0 || h.RTT.N != 1 {
		t.Errorf("hop 1: sent %d replies %d loss %v forward %v RTTs %d; want 1 1 0 0 1 (the three held back are not lost)",
			h.Sent, h.Replies, h.Loss, h.ForwardLoss, h.RTT.N)
	}
	if h := in.HopStats[1]; h.Sent != 4 || h.Loss != 0.25 {
		t.Errorf("hop 2: sent %d loss %v, want 4 0.25", h.Sent, h.Loss)
	}
	if in.Sent != 13 || in.Replies != 12 || in.Dest.Loss != 0 {
		t.Errorf("interval: sent %d replies %d destination loss %v; want 13 12 0", in.Sent, in.Replies, in.Dest.Loss)
	}
	s := NewState()
	s.Observe(r)
	if snap := s.Snapshot(); snap.ProbesSent != 13 || snap.Path.Hops != 3 || snap.Path.Addrs[0] != a {
		t.Errorf("snapshot: %d sent, path %v; want 13 and a b d", snap.ProbesSent, snap.Path)
	}
}

// A probe at the destination's TTL that was never sent is a wildcard: a
// run of rounds in which it is missing while the look-ahead TTL reaches
// the destination is no evidence of a longer path (a budget that runs dry
// mid-round does that: rounds are sent highest TTL first). The control:
// the same rounds with the probe sent and unanswered are that evidence.
func TestHeldBackDestinationTTLIsNoLongerPath(t *testing.T) {
	rounds := make([]round, 10)
	for i := range rounds {
		rounds[i] = round{a, b, d, d}
	}
	for _, held := range []bool{true, false} {
		s := NewState()
		s.Observe(result(rounds...))
		for i := 0; i < 4; i++ {
			lost := make([]round, 10)
			for k := range lost {
				lost[k] = round{none, none, none, d} // TTL 3 gets no answer
			}
			r := result(lost...)
			if held {
				var sent []tracer.Probe
				for _, p := range r.Probes {
					if p.TTL == 4 {
						sent = append(sent, p)
					}
				}
				r.Probes = sent
			}
			s.Observe(r)
		}
		snap := s.Snapshot()
		t.Logf("held back %v: %d changes, %d hops", held, snap.PathChanges, snap.Path.Hops)
		switch {
		case held && (snap.PathChanges != 0 || snap.Path.Hops != 3):
			t.Errorf("probes never sent at the destination's TTL: %d changes, %d hops; want 0 and 3", snap.PathChanges, snap.Path.Hops)
		case !held && (snap.PathChanges != 1 || snap.Path.Hops != 4):
			t.Errorf("control, probes sent and unanswered: %d changes, %d hops; want 1 and 4", snap.PathChanges, snap.Path.Hops)
		}
	}
}

// A discovery probe (sent beyond the hop budget only because it was the
// flow's first at its TTL) is evidence of the path but not a sample of
// the hop: its loss or reply is not in the hop's statistics.
func TestDiscoveryProbesAreEvidenceNotSamples(t *testing.T) {
	r := result(
		round{a, b, d, d},
		round{none, b, d, d},
	)
	for i := range r.Probes {
		if r.Probes[i].TTL == 1 {
			r.Probes[i].Discovery = true // round 0 answered, round 1 shed
		}
	}
	in := Summarize(r, 3, true)
	if h := in.HopStats[0]; h.Sent != 0 || h.Loss != 0 || h.RTT.N != 0 || len(h.Responders) != 0 {
		t.Errorf("hop 1: sent %d loss %v RTTs %d responders %v; want nothing from discovery probes", h.Sent, h.Loss, h.RTT.N, h.Responders)
	}
	if in.Sent != 8 || in.Replies != 7 {
		t.Errorf("interval: sent %d replies %d, want 8 7 (discovery probes went out)", in.Sent, in.Replies)
	}
	if fwd := in.HopStats[0].ForwardLoss; fwd != 0 {
		t.Errorf("hop 1 forward loss %v, want 0", fwd)
	}
	s := NewState()
	s.Observe(r)
	if snap := s.Snapshot(); snap.Path.Addrs[0] != a {
		t.Errorf("path %v: the discovery probe's reply is evidence of hop 1", snap.Path)
	}
}
