package sources

import "github.com/prometheus/client_golang/prometheus"

var (
	targetsDesc = prometheus.NewDesc("traceroute_target_source_targets",
		"Targets in the last good list of a target source (after its max_targets cap, before name clashes and sharding).",
		[]string{"source"}, nil)
	errorsDesc = prometheus.NewDesc("traceroute_target_source_errors_total",
		"Failed refreshes of a target source (unreadable or invalid files, HTTP errors, failed lookups, invalid targets); the source keeps its last good list.",
		[]string{"source"}, nil)
	flowRecordsDesc = prometheus.NewDesc("traceroute_target_source_flow_records_total",
		"Flow records (sFlow samples) a flows target source decoded.", []string{"source"}, nil)
	flowDecodeErrorsDesc = prometheus.NewDesc("traceroute_target_source_flow_decode_errors_total",
		"Datagrams a flows target source could not decode.", []string{"source"}, nil)
	flowUnknownTemplatesDesc = prometheus.NewDesc("traceroute_target_source_flow_unknown_templates_total",
		"NetFlow v9 / IPFIX data sets a flows target source skipped because their template had not been received.", []string{"source"}, nil)
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
	ch <- flowRecordsDesc
	ch <- flowDecodeErrorsDesc
	ch <- flowUnknownTemplatesDesc
}

// Collect implements prometheus.Collector.
func (c Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.Status() {
		ch <- prometheus.MustNewConstMetric(targetsDesc, prometheus.GaugeValue, float64(s.Targets), s.Name)
		ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, s.Errors, s.Name)
		if f := s.Flows; f != nil {
			ch <- prometheus.MustNewConstMetric(flowRecordsDesc, prometheus.CounterValue, f.Records, s.Name)
			ch <- prometheus.MustNewConstMetric(flowDecodeErrorsDesc, prometheus.CounterValue, f.DecodeErrors, s.Name)
			ch <- prometheus.MustNewConstMetric(flowUnknownTemplatesDesc, prometheus.CounterValue, f.UnknownTemplates, s.Name)
		}
	}
}
