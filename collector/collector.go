// Package collector exposes the per-target state as Prometheus metrics. It
// is thin: at scrape time it takes the targets' immutable snapshots and
// emits const metrics; it does no I/O and knows nothing of sockets.
//
// Cardinality is bounded by design: per-hop series are labelled by the hop
// index only, and addresses appear only in traceroute_hop_info.
package collector

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
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

// Collector implements prometheus.Collector over Sources.
type Collector struct {
	src Sources

	mu    sync.Mutex
	key   string // the static label names descs were built for
	descs *descs
	self  selfDescs
}

// New returns a collector over src.
func New(src Sources) *Collector {
	return &Collector{src: src, self: newSelfDescs()}
}

// Describe sends nothing: the label names of the per-target metrics follow
// the configuration's static labels, so the collector is unchecked.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	targets := c.src.Targets()
	names := staticLabelNames(targets)
	withFlow := false
	for _, t := range targets {
		withFlow = withFlow || len(t.Snapshot.Flows) > 1
	}
	d := c.descsFor(names, withFlow)
	for _, t := range targets {
		values := make([]string, 0, 1+len(names))
		values = append(values, t.Name)
		for _, n := range names {
			values = append(values, t.Labels[n])
		}
		ev := t.Evidence
		if ev == nil {
			ev = &noEvidence
		}
		collectTarget(ch, d, values, t.Snapshot, ev)
	}
	c.collectSelf(ch, len(targets))
}

// descsFor returns the descriptors for the given static label names,
// building them only when the names change (after a reload).
func (c *Collector) descsFor(names []string, withFlow bool) *descs {
	key := strings.Join(names, ",") + "/" + strconv.FormatBool(withFlow)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.descs == nil || key != c.key {
		c.descs, c.key = newDescs(names, withFlow), key
	}
	return c.descs
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

func collectTarget(ch chan<- prometheus.Metric, d *descs, lv []string, s *pathstate.Snapshot, ev *enrich.Evidence) {
	emit := func(desc *prometheus.Desc, t prometheus.ValueType, v float64, extra ...string) {
		m, err := prometheus.NewConstMetric(desc, t, v, append(lv[:len(lv):len(lv)], extra...)...)
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- m
	}
	emit(d.probesSent, prometheus.CounterValue, float64(s.ProbesSent))
	emit(d.replies, prometheus.CounterValue, float64(s.Replies))
	emit(d.pathChanges, prometheus.CounterValue, float64(s.PathChanges))
	emit(d.resolveErrors, prometheus.CounterValue, float64(s.ResolveErrors))
	emit(d.addrChanges, prometheus.CounterValue, float64(s.AddressChanges))
	emit(d.asPathChanges, prometheus.CounterValue, float64(ev.ASPathChanges))
	emit(d.degradations, prometheus.CounterValue, float64(ev.Degradations))
	if c := ev.LastChange; c != nil {
		emit(d.lastChange, prometheus.GaugeValue, 1, strconv.FormatUint(c.ID, 10), c.Verdict, c.Before, c.After)
	}
	if s.Address.IsValid() {
		emit(d.targetInfo, prometheus.GaugeValue, 1, s.Address.String())
	}
	if !s.Observed {
		return
	}
	in := s.Last
	emit(d.reached, prometheus.GaugeValue, boolf(in.Reached))
	emit(d.lastRun, prometheus.GaugeValue, unix(in.End))
	if !s.Path.Known() {
		return
	}
	// Everything per hop comes from the one path: its hop count, its
	// identity, the responder known at each TTL and that TTL's statistics.
	emit(d.hops, prometheus.GaugeValue, float64(s.MaxHops()))
	emit(d.pathFlows, prometheus.GaugeValue, float64(s.PathFlows))
	emit(d.pathHash, prometheus.GaugeValue, float64(s.PathHash))
	emit(d.pathSince, prometheus.GaugeValue, unix(s.PathSince))
	emit(d.destLoss, prometheus.GaugeValue, in.Dest.Loss)
	if len(ev.ASPath) > 0 {
		emit(d.asPathHash, prometheus.GaugeValue, float64(ev.ASPathHash))
		emit(d.asPathLength, prometheus.GaugeValue, float64(len(ev.ASPath)))
	}
	if s.Reached && in.Dest.RTT.N > 0 {
		emit(d.destRTT, prometheus.GaugeValue, in.Dest.RTT.Mean.Seconds())
	}
	if len(s.Flows) > 1 {
		for k, f := range s.Flows {
			collectHops(emit, d, f.Last.HopStats, f.Hops, ev, strconv.Itoa(k))
		}
		return
	}
	collectHops(emit, d, in.HopStats, s.Hops, ev, "0")
}

// collectHops emits the per-hop series of one flow's path: statistics of
// its TTLs, the responder of each with what is known of it, and the
// Unreachable codes. flow is the value of the flow label when the
// families have one. Names and AS numbers are looked up for flow 0's path
// (the evidence follows flow 0); other flows' hops carry their addresses.
func collectHops(emit func(*prometheus.Desc, prometheus.ValueType, float64, ...string), d *descs, stats []pathstate.Hop, hops []netip.Addr, ev *enrich.Evidence, flow string) {
	lv := func(hop string, extra ...string) []string {
		if d.withFlow {
			return append([]string{hop, flow}, extra...)
		}
		return append([]string{hop}, extra...)
	}
	for _, h := range stats {
		hop := strconv.Itoa(h.TTL)
		emit(d.hopLoss, prometheus.GaugeValue, h.Loss, lv(hop)...)
		emit(d.hopFwdLoss, prometheus.GaugeValue, h.ForwardLoss, lv(hop)...)
		if h.RTT.N > 0 {
			emit(d.hopRTT, prometheus.GaugeValue, h.RTT.Mean.Seconds(), lv(hop)...)
			emit(d.hopRTTMin, prometheus.GaugeValue, h.RTT.Min.Seconds(), lv(hop)...)
			emit(d.hopRTTMax, prometheus.GaugeValue, h.RTT.Max.Seconds(), lv(hop)...)
			emit(d.hopRTTStddev, prometheus.GaugeValue, h.RTT.Stddev.Seconds(), lv(hop)...)
		}
		if h.TTL <= len(hops) && hops[h.TTL-1].IsValid() {
			var info enrich.HopInfo
			if flow == "0" && h.TTL <= len(ev.Hops) {
				info = ev.Hops[h.TTL-1]
			}
			asn := ""
			if info.ASN != 0 {
				asn = strconv.FormatUint(uint64(info.ASN), 10)
				emit(d.hopASN, prometheus.GaugeValue, float64(info.ASN), lv(hop)...)
			}
			emit(d.hopInfo, prometheus.GaugeValue, 1, lv(hop, hops[h.TTL-1].String(), info.Name, asn, h.MPLS, h.Interface)...)
		}
		if h.Unreachable >= 0 {
			emit(d.hopUnreach, prometheus.GaugeValue, 1, lv(hop, strconv.Itoa(h.Unreachable))...)
		}
	}
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
