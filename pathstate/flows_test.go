package pathstate

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// multiFlow merges one simulated interval per flow into one result, each
// flow's probes tagged with its index; model(k) is flow k's network.
func multiFlow(rng *rand.Rand, start time.Time, rounds int, hint int, model func(flow int) *netModel, flows int) tracer.Result {
	r := tracer.Result{Start: start, End: start.Add(10 * time.Second), Rounds: rounds, Flows: flows, Hint: hint}
	for k := 0; k < flows; k++ {
		fr := simInterval(rng, start, rounds, hint, func(int) *netModel { return model(k) })
		r.Dst = fr.Dst
		for _, p := range fr.Probes {
			p.Flow = k
			r.Probes = append(r.Probes, p)
		}
	}
	return r
}

func TestFlowsShowEveryBranchAndCountOneChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	a, b := steady(addrs(1, 4), d), steady(append(addrs(1, 2), addrs(5, 2)...), d) // two branches after hop 2
	branch := func(k int) *netModel {
		if k%2 == 0 {
			return a
		}
		return b
	}
	s := NewState()
	for i := 0; i < 3; i++ {
		s.Observe(multiFlow(rng, t0.Add(time.Duration(i)*10*time.Second), 5, s.Snapshot().MaxHops(), branch, 4))
	}
	snap := s.Snapshot()
	if snap.PathFlows != 2 || len(snap.Flows) != 4 || snap.PathChanges != 0 {
		t.Fatalf("4 flows over two branches: %d distinct paths, %d flows, %d changes; want 2, 4, 0", snap.PathFlows, len(snap.Flows), snap.PathChanges)
	}
	if snap.Flows[1].Hops[2] != addrs(5, 2)[0] || snap.Flows[0].Hops[2] != addrs(1, 4)[2] {
		t.Fatalf("flow 0 hop 3 %v, flow 1 hop 3 %v; want the two branches", snap.Flows[0].Hops[2], snap.Flows[1].Hops[2])
	}
	hash := snap.PathHash
	// The balancer rehashes: the flows trade branches. The set of paths
	// is the same: no change, same hash.
	swapped := func(k int) *netModel { return branch(k + 1) }
	for i := 3; i < 6; i++ {
		s.Observe(multiFlow(rng, t0.Add(time.Duration(i)*10*time.Second), 5, s.Snapshot().MaxHops(), swapped, 4))
	}
	if snap := s.Snapshot(); snap.PathChanges != 0 || snap.PathHash != hash {
		t.Fatalf("flows trading branches: %d changes, hash moved %v; want 0 and the same set", snap.PathChanges, snap.PathHash != hash)
	}
	// One branch moves to a longer route: one change for the target.
	c := steady(append(addrs(1, 2), addrs(8, 3)...), d)
	moved := func(k int) *netModel {
		if k%2 == 1 {
			return a
		}
		return c
	}
	for i := 6; i < 10; i++ {
		s.Observe(multiFlow(rng, t0.Add(time.Duration(i)*10*time.Second), 5, s.Snapshot().MaxHops(), moved, 4))
	}
	if snap := s.Snapshot(); snap.PathChanges != 1 || snap.MaxHops() != 6 || snap.PathFlows != 2 {
		t.Fatalf("one branch moved: %d changes, max hops %d, %d paths; want 1, 6, 2", snap.PathChanges, snap.MaxHops(), snap.PathFlows)
	}
}
