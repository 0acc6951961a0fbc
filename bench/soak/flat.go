package main

import (
	"fmt"
	"slices"
	"time"
)

// point is one sample of the exporter, taken every -sample.
type point struct {
	At         time.Duration `json:"-"`          // since the exporter started
	AtSeconds  float64       `json:"at_seconds"` // At, for the JSON
	RSS        int64         `json:"rss_bytes"`
	Goroutines int           `json:"goroutines"` // go_goroutines
	FDs        int           `json:"open_fds"`   // entries of /proc/PID/fd
	Store      int64         `json:"store_bytes"`
	ScrapeSec  float64       `json:"scrape_seconds"`
	Series     int           `json:"series"`         // samples in the exposition
	Sent       float64       `json:"packets_sent"`   // out of the source's interface (the exporter's counters restart with a reloaded target)
	Changes    float64       `json:"path_changes"`   // sum of traceroute_path_changes_total
	HistErrors float64       `json:"history_errors"` // traceroute_exporter_history_errors_total
}

// rule is what "flat" means. The run is cut into thirds by time: the
// first is warm-up, the second the reference, the last is judged against
// it, median against median, so a fault's spike moves neither.
type rule struct {
	RSSRatio       float64 // RSS: last ≤ reference × RSSRatio
	GoroutineSlack int     // goroutines: last ≤ reference + max(GoroutineSlack, 1% of reference)
	FDSlack        int     // open fds: last ≤ reference + FDSlack
	// Store: its growth from the reference third's start to the end is at
	// most StorePerChange per path change recorded meanwhile, plus one
	// step of bbolt's file (it doubles up to 16 MiB), at least StoreSlack.
	StorePerChange int64
	StoreSlack     int64
	SeriesRatio    float64 // series in /metrics: last ≤ reference × SeriesRatio
	ScrapeRatio    float64 // scrape: last ≤ reference × ScrapeRatio + 50 ms
	SentRatio      float64 // probing: probes/s in the last third ≥ reference × SentRatio
}

// defaultRule is the soak's rule.
var defaultRule = rule{RSSRatio: 1.15, GoroutineSlack: 3, FDSlack: 3, StorePerChange: 16 << 10, StoreSlack: 1 << 20, SeriesRatio: 1.05, ScrapeRatio: 1.5, SentRatio: 0.8}

// check is one judged quantity.
type check struct {
	Name      string  `json:"name"`
	Reference float64 `json:"reference"` // median of the second third (rate for probing)
	Last      float64 `json:"last"`      // median of the last third (end value for the store)
	Limit     float64 `json:"limit"`
	OK        bool    `json:"ok"`
	Rule      string  `json:"rule"`
	single    bool    // a yes/no or a count: no reference, no limit
}

// judge applies r to the samples of a run of total. It needs at least
// three samples in each of the last two thirds.
func judge(pts []point, total time.Duration, r rule) ([]check, error) {
	var ref, last []point
	for _, p := range pts {
		switch {
		case p.At > 2*total/3:
			last = append(last, p)
		case p.At > total/3:
			ref = append(ref, p)
		}
	}
	if len(ref) < 3 || len(last) < 3 {
		return nil, fmt.Errorf("%d samples in the second third and %d in the last: need 3 each", len(ref), len(last))
	}
	med := func(ps []point, f func(point) float64) float64 {
		v := make([]float64, len(ps))
		for i, p := range ps {
			v[i] = f(p)
		}
		return median(v)
	}
	var cs []check
	upper := func(name, ruleText string, f func(point) float64, limit func(float64) float64) {
		rv, lv := med(ref, f), med(last, f)
		l := limit(rv)
		cs = append(cs, check{Name: name, Reference: rv, Last: lv, Limit: l, OK: lv <= l, Rule: ruleText})
	}
	upper("rss_bytes", fmt.Sprintf("median of the last third <= median of the second third x %.2f", r.RSSRatio),
		func(p point) float64 { return float64(p.RSS) }, func(v float64) float64 { return v * r.RSSRatio })
	upper("goroutines", fmt.Sprintf("median of the last third <= median of the second third + max(%d, 1%%)", r.GoroutineSlack),
		func(p point) float64 { return float64(p.Goroutines) },
		func(v float64) float64 { return v + max(float64(r.GoroutineSlack), v/100) })
	upper("open_fds", fmt.Sprintf("median of the last third <= median of the second third + %d", r.FDSlack),
		func(p point) float64 { return float64(p.FDs) }, func(v float64) float64 { return v + float64(r.FDSlack) })
	upper("series", fmt.Sprintf("median of the last third <= median of the second third x %.2f", r.SeriesRatio),
		func(p point) float64 { return float64(p.Series) }, func(v float64) float64 { return v * r.SeriesRatio })
	upper("scrape_seconds", fmt.Sprintf("median of the last third <= median of the second third x %.1f + 0.05", r.ScrapeRatio),
		func(p point) float64 { return p.ScrapeSec }, func(v float64) float64 { return v*r.ScrapeRatio + 0.05 })

	start, end := ref[0], last[len(last)-1]
	changes := max(0, end.Changes-start.Changes)
	storeLimit := float64(start.Store) + changes*float64(r.StorePerChange) + float64(max(r.StoreSlack, start.Store))
	cs = append(cs, check{Name: "store_bytes", Reference: float64(start.Store), Last: float64(end.Store), Limit: storeLimit,
		OK: float64(end.Store) <= storeLimit,
		Rule: fmt.Sprintf("end <= size at the second third's start + %d KiB x path changes since (%.0f) + max(%d KiB, that size)",
			r.StorePerChange>>10, changes, r.StoreSlack>>10)})

	refRate, lastRate := rate(ref), rate(last)
	cs = append(cs, check{Name: "probes_per_second", Reference: refRate, Last: lastRate, Limit: refRate * r.SentRatio,
		OK:   lastRate >= refRate*r.SentRatio && lastRate > 0,
		Rule: fmt.Sprintf("probes/s over the last third >= over the second third x %.1f", r.SentRatio)})
	return cs, nil
}

// rate is the probes per second from the first to the last point of ps.
func rate(ps []point) float64 {
	a, b := ps[0], ps[len(ps)-1]
	if b.At <= a.At {
		return 0
	}
	return (b.Sent - a.Sent) / (b.At - a.At).Seconds()
}

// median returns the median of v (the mean of the middle two for an even
// count); v is reordered.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
