package collector

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
)

// BenchmarkCollect1000Targets30Hops measures one scrape's collection: 1000
// targets, each reached in 30 hops over 10 rounds, so every per-hop series
// and one hop_info per hop is emitted.
func BenchmarkCollect1000Targets30Hops(b *testing.B) {
	hops := make([]netip.Addr, 30)
	for i := range hops {
		hops[i] = netip.AddrFrom4([4]byte{198, 18, byte(i), 2})
	}
	dst := hops[len(hops)-1]
	targets := make([]Target, 1000)
	for i := range targets {
		s := pathstate.NewState()
		s.SetAddress(dst)
		s.Observe(trace(dst, t0, 10, hops...))
		if s.Snapshot().Path.Hops != len(hops) {
			b.Fatalf("fixture: path of %d hops, want %d", s.Snapshot().Path.Hops, len(hops))
		}
		targets[i] = Target{Name: fmt.Sprintf("t%04d", i), Labels: map[string]string{"site": "x"}, Snapshot: s.Snapshot()}
	}
	c := New(Sources{
		Targets: func() []Target { return targets },
		Stats:   func() ExporterStats { return ExporterStats{} },
		Reload:  func() (bool, time.Time) { return true, t0 },
	})
	b.ReportAllocs()
	for b.Loop() {
		ch := make(chan prometheus.Metric, 1024)
		go func() { c.Collect(ch); close(ch) }()
		for range ch {
		}
	}
}
