// Package metricstest holds the checks the packages that export metrics
// share in their tests: the text exposition of collectors, golden files,
// and `promtool check metrics`.
package metricstest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// Exposition registers cs in a pedantic registry (which rejects
// inconsistent descriptions) and returns what it gathers in the text
// format, as a scrape without compression would see it.
func Exposition(t testing.TB, cs ...prometheus.Collector) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(cs...)
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

// Golden compares got with the golden file path, first rewriting it when
// update is set (the package's -update flag); pkg names the package for
// the hint the failure gives.
func Golden(t testing.TB, path string, got []byte, update bool, pkg string) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("metrics differ from %s (run go test %s -update after checking the change):\n%s", path, pkg, got)
	}
}

// Promtool runs `promtool check metrics` on text and fails on any
// complaint (Prometheus's naming and help rules).
func Promtool(t testing.TB, text []byte) {
	t.Helper()
	cmd := exec.Command(testenv.Tool(t, "promtool"), "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
