package sources

import "github.com/prometheus/client_golang/prometheus"

var (
	targetsDesc = prometheus.NewDesc("traceroute_target_source_targets",
		"Targets in the last good list of a target source (after its max_targets cap, before name clashes and sharding).",
		[]string{"source"}, nil)
	errorsDesc = prometheus.NewDesc("traceroute_target_source_errors_total",
		"Failed refreshes of a target source (unreadable or invalid files, HTTP errors, failed lookups, invalid targets); the source keeps its last good list.",
		[]string{"source"}, nil)
)

// Collector exports every running source's status.
type Collector struct {
	// Status returns the sources' status (Manager.Status).
	Status func() []SourceStatus
}

// Describe implements prometheus.Collector.
func (c Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- targetsDesc
	ch <- errorsDesc
}

// Collect implements prometheus.Collector.
func (c Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.Status() {
		ch <- prometheus.MustNewConstMetric(targetsDesc, prometheus.GaugeValue, float64(s.Targets), s.Name)
		ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, s.Errors, s.Name)
	}
}
