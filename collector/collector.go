// Package collector exposes the per-target state as Prometheus metrics. It
// is thin: at scrape time it reads the targets' immutable snapshots and
// evidence; it does no I/O and knows nothing of sockets.
//
// What a scrape derives from a target (its label values, where its series
// sort among every other target's) is cached per snapshot, evidence and
// label set (cache.go), so a scrape of 10,000 targets mostly formats
// values. Collect serves any registry; WriteText and Handler write the
// text exposition directly, byte for byte as the registry would, which is
// what keeps such a scrape under half a second (the registry's own
// gathering, sorting and encoding take 3 to 30 seconds at that scale).
//
// Cardinality is bounded by design: per-hop series are labelled by the hop
// index only, and addresses appear only in traceroute_hop_info.
package collector

import (
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
)

const namespace = "traceroute"

// Target is one target as the collector sees it.
type Target struct {
	Name     string
	Labels   map[string]string
	Snapshot *pathstate.Snapshot
	// Evidence is the target's enrichment; nil means none.
	Evidence *enrich.Evidence
}

// ExporterStats are the exporter's own counters.
type ExporterStats struct {
	Unmatched, Late, Malformed, SendErrors, SocketDrops uint64
	// HistoryErrors counts failed reads and writes of the path history.
	HistoryErrors uint64
	// BadExtensions counts ICMP extensions that did not decode.
	BadExtensions uint64
	// ProbesSkipped counts probes the packet budget never sent.
	ProbesSkipped uint64
	// ASNDatabase tells whether an ASN database is configured, and
	// ASNLoadOK whether its last load (at start or with a configuration
	// reload) succeeded; a failed one keeps the database loaded before.
	ASNDatabase, ASNLoadOK bool
	// HopProbesSkipped counts probes the hop budget never sent.
	HopProbesSkipped uint64
}

// Sources are the functions the collector reads at scrape time.
type Sources struct {
	Targets func() []Target
	Stats   func() ExporterStats
	// Reload reports whether the last config reload succeeded and when
	// one last did.
	Reload func() (ok bool, lastSuccess time.Time)
	// Mode is how the exporter traces: "raw" or "unprivileged".
	Mode string
}

// Collector implements prometheus.Collector over Sources. Scrapes share
// its cache of per-target entries; the lock guarding it is held only
// while a scrape brings it up to date, never while writing, and nothing
// outside scrapes takes it.
type Collector struct {
	src   Sources
	self  []*prometheus.Desc
	cache cache
}

// New returns a collector over src.
func New(src Sources) *Collector {
	return &Collector{src: src, self: newSelfDescs()}
}

// Describe sends nothing: the label names of the per-target metrics follow
// the configuration's static labels, so the collector is unchecked.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector: every series of every family
// as a const metric, built from the cached entries.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	targets := c.src.Targets()
	v := c.cache.update(targets, false)
	for _, e := range v.entries {
		for fi := range families {
			f := &families[fi]
			lay := &v.lay.group[f.group]
			for i, n := 0, e.count(f.group); i < n; i++ {
				if !e.member(f.group, i) {
					continue
				}
				if val, ok := f.value(e, i); ok {
					ch <- constMetric(v.lay.descs[fi], f.typ, val, lay.values(e, i))
				}
			}
		}
	}
	c.collectSelf(ch, len(targets))
}

// constMetric is a const metric, or an invalid one that the registry
// reports (a label value that is not UTF-8): the collector never panics.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

// staticLabelNames is the sorted union of the targets' static label names;
// a target without one of them exports it empty, so every family has one
// label set.
func staticLabelNames(ts []Target) []string {
	seen := map[string]bool{}
	var names []string
	for _, t := range ts {
		for k := range t.Labels {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	sort.Strings(names)
	return names
}

// noEvidence stands for a target without enrichment.
var noEvidence enrich.Evidence

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
