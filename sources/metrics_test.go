package sources

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func renderMetrics(t *testing.T) []byte {
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector{Status: func() []SourceStatus {
		return []SourceStatus{{Name: "files", Targets: 12}, {Name: "api", Targets: 0, Errors: 3},
			{Name: "top", Targets: 100, Flows: &FlowCounts{Records: 12345, DecodeErrors: 2, UnknownTemplates: 7}}}
	}})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestMetricsGolden(t *testing.T) {
	got := renderMetrics(t)
	golden := filepath.Join("testdata", "metrics.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("metrics differ from %s (go test ./sources -update after checking):\n%s", golden, got)
	}
}

func TestMetricsPassPromtool(t *testing.T) {
	cmd := exec.Command(testenv.Tool(t, "promtool"), "check", "metrics")
	cmd.Stdin = bytes.NewReader(renderMetrics(t))
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
