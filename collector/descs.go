package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// selfValues are what the exporter's own families read at scrape time.
type selfValues struct {
	targets  int
	mode     string
	reloadOK bool
	reloaded time.Time
	stats    ExporterStats
}

// selfFamily is one of the exporter's own families (named
// traceroute_exporter_<name>); label is its one label, if any, whose
// value value returns with the sample's.
type selfFamily struct {
	name, help string
	typ        prometheus.ValueType
	label      string
	value      func(*selfValues) (v float64, label string, ok bool)
}

func stat(v uint64) (float64, string, bool) { return float64(v), "", true }

var selfFamilies = []selfFamily{
	{"targets", "Number of configured targets.", gauge, "",
		func(s *selfValues) (float64, string, bool) { return float64(s.targets), "", true }},
	{"config_last_reload_successful", "Whether the last configuration reload succeeded (1) or not (0).", gauge, "",
		func(s *selfValues) (float64, string, bool) { return boolf(s.reloadOK), "", true }},
	{"config_last_reload_success_timestamp_seconds", "Time of the last successful configuration reload.", gauge, "",
		func(s *selfValues) (float64, string, bool) { return unix(s.reloaded), "", !s.reloaded.IsZero() }},
	{"unmatched_replies_total", "Replies that matched no probe (another program's, a removed target's, or forged); dropped.", counter, "",
		func(s *selfValues) (float64, string, bool) { return stat(s.stats.Unmatched) }},
	{"late_replies_total", "Replies the kernel received after their probe's timeout; dropped, never used as an RTT.", counter, "",
		func(s *selfValues) (float64, string, bool) { return stat(s.stats.Late) }},
	{"socket_drops_total", "Packets the kernel dropped because a socket's receive buffer was full.", counter, "",
		func(s *selfValues) (float64, string, bool) { return stat(s.stats.SocketDrops) }},
	{"history_errors_total", "Failed reads and writes of the path history store.", counter, "",
		func(s *selfValues) (float64, string, bool) { return stat(s.stats.HistoryErrors) }},
	{"asn_database_last_reload_successful", "Whether the last load of the ASN database (at start and with each configuration reload) succeeded (1) or failed, keeping the database loaded before (0); absent without --asn.database.", gauge, "",
		func(s *selfValues) (float64, string, bool) { return boolf(s.stats.ASNLoadOK), "", s.stats.ASNDatabase }},
	{"info", "How the exporter traces (value 1): mode raw (CAP_NET_RAW: icmp, udp, tcp) or unprivileged (ICMP datagram sockets: icmp only).", gauge, "mode",
		func(s *selfValues) (float64, string, bool) { return 1, s.mode, s.mode != "" }},
	{"malformed_extensions_total", "ICMP extensions (RFC 4884: MPLS, interface information) that did not decode; their replies were still used.", counter, "",
		func(s *selfValues) (float64, string, bool) { return stat(s.stats.BadExtensions) }},
	{"malformed_packets_total", "Received packets that could not be decoded; dropped.", counter, "",
		func(s *selfValues) (float64, string, bool) { return stat(s.stats.Malformed) }},
	{"send_errors_total", "Probes the socket refused to send.", counter, "",
		func(s *selfValues) (float64, string, bool) { return stat(s.stats.SendErrors) }},
	{"probes_skipped_total", "Probes the packet budget (--probe.rate-limit) held back past the end of their interval: never sent.", counter, "",
		func(s *selfValues) (float64, string, bool) { return stat(s.stats.ProbesSkipped) }},
	{"hop_probes_skipped_total", "Probes the hop budget (--probe.hop-rate-limit) held back because the router their TTL expires at had been asked enough: never sent, neither sent nor lost.", counter, "",
		func(s *selfValues) (float64, string, bool) { return stat(s.stats.HopProbesSkipped) }},
}

// newSelfDescs describes selfFamilies, in the same order.
func newSelfDescs() []*prometheus.Desc {
	var ds []*prometheus.Desc
	for _, f := range selfFamilies {
		var labels []string
		if f.label != "" {
			labels = []string{f.label}
		}
		ds = append(ds, prometheus.NewDesc(namespace+"_exporter_"+f.name, f.help, labels, nil))
	}
	return ds
}

// selfValues reads the exporter's own values.
func (c *Collector) selfValues(targets int) selfValues {
	sv := selfValues{targets: targets, mode: c.src.Mode, stats: c.src.Stats()}
	sv.reloadOK, sv.reloaded = c.src.Reload()
	return sv
}

func (c *Collector) collectSelf(ch chan<- prometheus.Metric, targets int) {
	sv := c.selfValues(targets)
	for i, f := range selfFamilies {
		v, label, ok := f.value(&sv)
		if !ok {
			continue
		}
		var labels []string
		if f.label != "" {
			labels = []string{label}
		}
		ch <- constMetric(c.self[i], f.typ, v, labels)
	}
}
