package pathstate

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkObserve30Hops10Rounds folds one interval of a 30-hop path with
// 10 rounds into a state: evidence, path tracking and statistics.
func BenchmarkObserve30Hops10Rounds(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	m := steady(addrs(1, 29), d)
	s := NewState()
	r := simInterval(rng, t0, 10, 30, func(int) *netModel { return m })
	s.Observe(r)
	b.ReportAllocs()
	for b.Loop() {
		s.Observe(r)
	}
}
