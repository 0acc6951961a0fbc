package collector

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// trace builds a result in which each round is answered by hops[i] at TTL
// i+1, the last one an Echo Reply; invalid addresses are silent.
func trace(end time.Time, rounds int, hops ...netip.Addr) tracer.Result {
	r := tracer.Result{Start: end.Add(-10 * time.Second), End: end, Rounds: rounds}
	for i := 0; i < rounds; i++ {
		for j, h := range hops {
			p := tracer.Probe{Round: i, TTL: j + 1}
			if h.IsValid() {
				p.Kind, p.From = tracer.KindTimeExceeded, h
				if j == len(hops)-1 {
					p.Kind = tracer.KindEchoReply
				}
				p.RTT = time.Duration(j+1)*time.Millisecond + time.Duration(i)*250*time.Microsecond
			}
			r.Probes = append(r.Probes, p)
		}
	}
	return r
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func fixture() Sources {
	a := pathstate.NewState()
	a.Observe(trace(t0, 2, ip("198.18.1.2"), ip("198.18.2.2"), ip("198.18.7.2")))
	// Second interval: hop 2 moved, one reply at hop 2 came from another router.
	r := trace(t0.Add(10*time.Second), 2, ip("198.18.1.2"), ip("198.18.3.2"), ip("198.18.7.2"))
	r.Probes[4].From = ip("198.18.5.2")
	a.Observe(r)

	b := pathstate.NewState()
	var silent netip.Addr
	b.Observe(trace(t0, 2, ip("2001:db8:1::2"), silent, silent))
	b.Snapshot()

	c := pathstate.NewState()
	c.ResolveFailed()

	return Sources{
		Targets: func() []Target {
			return []Target{
				{Name: "a", Labels: map[string]string{"site": "lab"}, Snapshot: a.Snapshot()},
				{Name: "b", Snapshot: b.Snapshot()},
				{Name: "c", Labels: map[string]string{"team": "net"}, Snapshot: c.Snapshot()},
			}
		},
		Stats:  func() ExporterStats { return ExporterStats{Unmatched: 3, Malformed: 1, SendErrors: 2} },
		Reload: func() (bool, time.Time) { return true, t0.Add(-time.Minute) },
	}
}

func render(t *testing.T, src Sources) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(New(src))
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
	got := render(t, fixture())
	golden := filepath.Join("testdata", "metrics.golden")
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
}

func TestGoldenPassesPromtool(t *testing.T) {
	promtool := testenv.Tool(t, "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(render(t, fixture()))
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestVanishedHopsAndTargetsDisappear(t *testing.T) {
	s := pathstate.NewState()
	s.Observe(trace(t0, 1, ip("198.18.1.2"), ip("198.18.2.2"), ip("198.18.3.2"), ip("198.18.7.2")))
	s.Observe(trace(t0.Add(10*time.Second), 1, ip("198.18.1.2"), ip("198.18.7.2")))
	targets := []Target{{Name: "x", Snapshot: s.Snapshot()}}
	src := Sources{
		Targets: func() []Target { return targets },
		Stats:   func() ExporterStats { return ExporterStats{} },
		Reload:  func() (bool, time.Time) { return true, t0 },
	}
	out := string(render(t, src))
	if strings.Contains(out, `hop="3"`) || strings.Contains(out, "198.18.3.2") {
		t.Fatalf("hop 3 vanished from the path but is still exported:\n%s", out)
	}
	targets = nil
	out = string(render(t, src))
	if strings.Contains(out, `target="x"`) {
		t.Fatalf("removed target still exported:\n%s", out)
	}
}
