package sources

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/internal/metricstest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func renderMetrics(t *testing.T) []byte {
	return metricstest.Exposition(t, Collector{Status: func() []SourceStatus {
		return []SourceStatus{{Name: "files", Targets: 12}, {Name: "api", Targets: 0, Errors: 3},
			{Name: "top", Targets: 100, Flows: &FlowCounts{Records: 12345, DecodeErrors: 2, UnknownTemplates: 7}}}
	}})
}

func TestMetricsGolden(t *testing.T) {
	metricstest.Golden(t, filepath.Join("testdata", "metrics.golden"), renderMetrics(t), *update, "./sources")
}

func TestMetricsPassPromtool(t *testing.T) {
	metricstest.Promtool(t, renderMetrics(t))
}
