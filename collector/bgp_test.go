package collector

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

func renderBGP(t *testing.T) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(BGPSessions(func() []BGPSession {
		return []BGPSession{
			{Neighbor: "198.18.1.1", Up: true, Received: map[string]uint64{"ipv4": 12, "ipv6": 3}},
			{Neighbor: "2001:db8:1::1", Received: map[string]uint64{"ipv4": 0, "ipv6": 0}},
		}
	}))
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

func TestBGPSessionsGolden(t *testing.T) {
	got := renderBGP(t)
	golden := filepath.Join("testdata", "bgp.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("metrics differ from %s (run go test ./collector -update after checking the change):\n%s", golden, got)
	}
	cmd := exec.Command(testenv.Tool(t, "promtool"), "check", "metrics")
	cmd.Stdin = bytes.NewReader(got)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
