package main

import (
	"testing"
	"time"
)

// series returns samples every 10 s over total, from f.
func series(total time.Duration, f func(i int, at time.Duration) point) []point {
	var ps []point
	for i := 0; time.Duration(i)*10*time.Second <= total; i++ {
		at := time.Duration(i) * 10 * time.Second
		p := f(i, at)
		p.At = at
		ps = append(ps, p)
	}
	return ps
}

// steady is a flat exporter: 40 MB with noise, 18-20 goroutines, 23-24 fds,
// a store growing 2 KiB per change with 1 change a sample, 3,000 probes/s.
func steady(i int, at time.Duration) point {
	return point{RSS: 40<<20 + int64(i%3)<<20, Goroutines: 18 + i%3, FDs: 23 + i%2, Store: 1<<20 + int64(i)*2048,
		ScrapeSec: 0.05, Series: 60000 + i%7, Sent: 3000 * at.Seconds(), Changes: float64(i)}
}

func verdict(t *testing.T, ps []point) map[string]bool {
	t.Helper()
	cs, err := judge(ps, 30*time.Minute, defaultRule)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]bool{}
	for _, c := range cs {
		ok[c.Name] = c.OK
	}
	return ok
}

func TestJudgeFlat(t *testing.T) {
	for name, ok := range verdict(t, series(30*time.Minute, steady)) {
		if !ok {
			t.Errorf("%s not flat", name)
		}
	}
}

func TestJudgeSpikesIgnored(t *testing.T) {
	// A scrape burst every 2 minutes: 30 more goroutines, 50 more fds and
	// 20 MB more for one sample.
	ps := series(30*time.Minute, func(i int, at time.Duration) point {
		p := steady(i, at)
		if i%12 == 0 {
			p.Goroutines += 30
			p.FDs += 50
			p.RSS += 20 << 20
		}
		return p
	})
	for name, ok := range verdict(t, ps) {
		if !ok {
			t.Errorf("%s not flat", name)
		}
	}
}

func TestJudgeLeaks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check string
		bump  func(p *point, i int)
	}{
		{"goroutine per sample", "goroutines", func(p *point, i int) { p.Goroutines += i }},
		{"fd every 3 samples", "open_fds", func(p *point, i int) { p.FDs += i / 3 }},
		{"goroutine per fault (2 min)", "goroutines", func(p *point, i int) { p.Goroutines += i / 12 }},
		{"fd per fault (2 min)", "open_fds", func(p *point, i int) { p.FDs += i / 12 }},
		{"RSS +0.2 MB a sample", "rss_bytes", func(p *point, i int) { p.RSS += int64(i) * 200 << 10 }},
		{"store without changes", "store_bytes", func(p *point, i int) { p.Store += int64(i) * 64 << 10 }},
		{"probing stops", "probes_per_second", func(p *point, i int) {
			if i > 120 {
				p.Sent = 3000 * 1200
			}
		}},
		{"series grow", "series", func(p *point, i int) { p.Series += i * 100 }},
		{"scrapes slow down", "scrape_seconds", func(p *point, i int) {
			if i > 120 {
				p.ScrapeSec *= 3
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := series(30*time.Minute, func(i int, at time.Duration) point {
				p := steady(i, at)
				tc.bump(&p, i)
				return p
			})
			if verdict(t, ps)[tc.check] {
				t.Errorf("%s judged flat", tc.check)
			}
		})
	}
}

func TestJudgeTooFewSamples(t *testing.T) {
	ps := series(time.Minute, steady)
	if _, err := judge(ps, time.Minute, defaultRule); err == nil {
		t.Fatal("judge with 2 samples a third: no error")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
