package collector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
)

// BenchmarkCollect1000Targets30Hops measures one scrape's collection.
func BenchmarkCollect1000Targets30Hops(b *testing.B) {
	hops := make([]netip.Addr, 30)
	for i := range hops {
		hops[i] = netip.AddrFrom4([4]byte{198, 18, byte(i), 2})
	}
	targets := make([]Target, 1000)
	for i := range targets {
		s := pathstate.NewState()
		s.Observe(trace(t0, 10, hops...))
		targets[i] = Target{Name: "t" + string(rune('a'+i%26)) + time.Duration(i).String(), Labels: map[string]string{"site": "x"}, Snapshot: s.Snapshot()}
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
