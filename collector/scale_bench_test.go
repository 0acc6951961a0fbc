package collector

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
)

// scaleTargets builds n targets reached in hops hops over 10 rounds, each
// with evidence (a name and an AS number for every hop), so every series
// a real target has is emitted. next are the same targets one interval
// later (new snapshots of the same path), for scrapes between intervals.
func scaleTargets(tb testing.TB, n, hops int) (targets, next []Target) {
	addrs := make([]netip.Addr, hops)
	info := make([]enrich.HopInfo, hops)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{198, 18, byte(i), 2})
		info[i] = enrich.HopInfo{Name: fmt.Sprintf("r%d.lab.example", i), ASN: 64500 + uint32(i)}
	}
	dst := addrs[len(addrs)-1]
	ev := &enrich.Evidence{Hops: info, ASPath: []uint32{64500, 64501}, ASPathHash: 12345}
	targets, next = make([]Target, n), make([]Target, n)
	for i := range targets {
		s := pathstate.NewState()
		s.SetAddress(dst)
		s.Observe(trace(dst, t0, 10, addrs...))
		if s.Snapshot().Path.Hops != hops {
			tb.Fatalf("fixture: path of %d hops, want %d", s.Snapshot().Path.Hops, hops)
		}
		targets[i] = Target{Name: fmt.Sprintf("t%05d", i), Labels: map[string]string{"site": "x"}, Snapshot: s.Snapshot(), Evidence: ev}
		s.Observe(trace(dst, t0.Add(time.Minute), 10, addrs...))
		next[i] = targets[i]
		next[i].Snapshot = s.Snapshot()
	}
	return targets, next
}

// registryScrape gathers g and encodes it as the text exposition into
// buf, as promhttp does without compression.
func registryScrape(tb testing.TB, g prometheus.Gatherer, buf *bytes.Buffer) {
	buf.Reset()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	enc := expfmt.NewEncoder(buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			tb.Fatal(err)
		}
	}
}

func textScrape(tb testing.TB, c *Collector, buf *bytes.Buffer) {
	buf.Reset()
	if err := c.WriteText(buf); err != nil {
		tb.Fatal(err)
	}
}

// discard is a ResponseWriter that counts and drops the body.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// BenchmarkScrape measures a whole /metrics scrape at the scales
// (goal: 10,000 targets x 5 hops in 0.25 s, x 15 hops in 0.5 s) and at
// the 1,000 x 30 of the review that found 3.1 M allocations per scrape:
//
//   - registry/uncached: Collect through a registry and expfmt, every
//     entry rebuilt: the exporter before the cache;
//   - registry/cached: the same with cached entries: the registry's own
//     gathering and sorting dominate;
//   - text/uncached: the text path rebuilding every entry and order;
//   - text/cold: the first scrape of a new collector;
//   - text/warm: a scrape with nothing changed since the last;
//   - text/interval: a scrape after a quarter of the targets finished an
//     interval (new snapshots, same paths): the steady state;
//   - handler/gzip: text/warm through Handler with gzip, as Prometheus
//     asks for it.
func BenchmarkScrape(b *testing.B) {
	for _, sc := range []struct{ targets, hops int }{{1000, 30}, {10000, 5}, {10000, 15}} {
		targets, next := scaleTargets(b, sc.targets, sc.hops)
		cur := targets
		src := Sources{
			Targets: func() []Target { return cur },
			Stats:   func() ExporterStats { return ExporterStats{} },
			Reload:  func() (bool, time.Time) { return true, t0 },
		}
		var buf bytes.Buffer
		b.Run(fmt.Sprintf("targets=%d/hops=%d", sc.targets, sc.hops), func(b *testing.B) {
			for _, cached := range []bool{false, true} {
				name := map[bool]string{false: "registry/uncached", true: "registry/cached"}[cached]
				b.Run(name, func(b *testing.B) {
					c := New(src)
					c.cache.off = !cached
					reg := prometheus.NewRegistry()
					reg.MustRegister(c)
					registryScrape(b, reg, &buf)
					runtime.GC() // not the garbage of the runs before
					b.ReportAllocs()
					for b.Loop() {
						registryScrape(b, reg, &buf)
					}
					b.ReportMetric(float64(buf.Len()), "bytes/scrape")
				})
			}
			b.Run("text/uncached", func(b *testing.B) {
				c := New(src)
				c.cache.off = true
				textScrape(b, c, &buf)
				runtime.GC()
				b.ReportAllocs()
				for b.Loop() {
					textScrape(b, c, &buf)
				}
				b.ReportMetric(float64(buf.Len()), "bytes/scrape")
			})
			b.Run("text/cold", func(b *testing.B) {
				textScrape(b, New(src), &buf)
				runtime.GC()
				b.ReportAllocs()
				for b.Loop() {
					textScrape(b, New(src), &buf)
				}
			})
			b.Run("text/warm", func(b *testing.B) {
				c := New(src)
				textScrape(b, c, &buf)
				runtime.GC()
				b.ReportAllocs()
				for b.Loop() {
					textScrape(b, c, &buf)
				}
			})
			b.Run("text/interval", func(b *testing.B) {
				c := New(src)
				textScrape(b, c, &buf)
				mixed := append([]Target(nil), targets...)
				cur = mixed
				defer func() { cur = targets }()
				runtime.GC()
				b.ReportAllocs()
				k := 0
				for b.Loop() {
					b.StopTimer()
					for range len(mixed) / 4 {
						k = (k + 1) % len(mixed)
						if mixed[k].Snapshot == targets[k].Snapshot {
							mixed[k] = next[k]
						} else {
							mixed[k] = targets[k]
						}
					}
					b.StartTimer()
					textScrape(b, c, &buf)
				}
			})
			b.Run("handler/gzip", func(b *testing.B) {
				c := New(src)
				h := Handler(c, prometheus.NewRegistry())
				r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				r.Header.Set("Accept-Encoding", "gzip")
				w := &discard{h: http.Header{}}
				h.ServeHTTP(w, r)
				runtime.GC()
				b.ReportAllocs()
				for b.Loop() {
					w.n = 0
					h.ServeHTTP(w, r)
				}
				b.ReportMetric(float64(w.n), "gzip-bytes/scrape")
			})
		})
	}
}
