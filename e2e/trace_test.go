package e2e

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

const (
	interval = time.Second
	timeout  = 500 * time.Millisecond
)

// labConfig is the exporter configuration of the end-to-end tests: the
// IPv4 and IPv6 address of dst, with the given probing defaults.
func labConfig(interval string, probes int, timeout string) string {
	return fmt.Sprintf(`
defaults:
  interval: %s
  probes: %d
  timeout: %s
  max_hops: 10
targets:
  - name: dst4
    host: 198.18.7.2
    labels: {site: lab}
  - name: dst6
    host: 2001:db8:7::2
    labels: {site: lab}
`, interval, probes, timeout)
}

var families = []struct {
	target string
	v6     bool
	dst    string
}{{"dst4", false, "198.18.7.2"}, {"dst6", true, "2001:db8:7::2"}}

func requireLab(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped with -short")
	}
	testenv.Root(t)
	for _, tool := range []string{"ip", "nft", "traceroute", "ping"} {
		testenv.Tool(t, tool)
	}
}

// warmUp pings the destination from src until it answers, so neighbour
// discovery is done before anything is measured.
func warmUp(t *testing.T, tp *topo) {
	for _, f := range families {
		args := []string{"ping", "-c", "1", "-W", "1", f.dst}
		if f.v6 {
			args = []string{"ping", "-6", "-c", "1", "-W", "1", f.dst}
		}
		ok := false
		for i := 0; i < 10 && !ok; i++ {
			ok = runIn(tp.name("src"), args...) == nil
		}
		if !ok {
			t.Fatalf("%s does not answer ping from src: the test network is broken", f.dst)
		}
	}
}

// kernelTraceroute runs the system's ICMP traceroute from src and returns
// the address of each hop.
func kernelTraceroute(t *testing.T, tp *topo, v6 bool, dst string) []string {
	args := []string{"traceroute", "-n", "-I", "-q", "1", "-w", "1", "-m", "10", dst}
	if v6 {
		args = append([]string{"traceroute", "-6"}, args[1:]...)
	}
	out := tp.in("src", args...)
	var hops []string
	for _, line := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 2 {
			hops = append(hops, f[1])
		}
	}
	return hops
}

func lab1(target string) map[string]string { return map[string]string{"target": target, "site": "lab"} }

func hop(target, h string) map[string]string {
	return map[string]string{"target": target, "hop": h}
}

func TestTraceNamespaceNetwork(t *testing.T) {
	requireLab(t)
	tp := newTopo(t, false)
	warmUp(t, tp)
	e := startExporter(t, tp.name("src"), 10188, labConfig("1s", 5, "500ms"))

	ready := func(m metrics) bool {
		for _, f := range families {
			if v, ok := m.get("traceroute_hops", lab1(f.target)); !ok || v != 5 {
				return false
			}
		}
		return true
	}
	e.waitFor(15*time.Second, "both targets traced with 5 hops", ready)

	resp, err := e.client.Get("http://" + e.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `href="/metrics"`) {
		t.Fatalf("landing page: %d, want 200 with a link to /metrics:\n%s", resp.StatusCode, page)
	}

	t.Run("hops match the routers and the kernel's traceroute", func(t *testing.T) {
		m := e.scrape()
		for _, f := range families {
			ips := m.hopIPs(f.target)
			kernel := kernelTraceroute(t, tp, f.v6, f.dst)
			if len(ips) != 5 || len(kernel) != 5 {
				t.Fatalf("%s: exporter hops %v, kernel traceroute %v; want 5 each", f.target, ips, kernel)
			}
			branch := 3
			if len(ips[3]) == 1 && ips[3][0] == addr(f.v6, 5) {
				branch = 5
			}
			for i, link := range primaryLinks(f.v6, branch) {
				got := ips[i+1]
				if len(got) != 1 {
					t.Fatalf("%s hop %d: responders %v, want exactly one (Paris flow through ECMP)", f.target, i+1, got)
				}
				if got[0] != addr(f.v6, link) {
					t.Errorf("%s hop %d: %s, want %s", f.target, i+1, got[0], addr(f.v6, link))
				}
				if got[0] != kernel[i] {
					t.Errorf("%s hop %d: exporter saw %s, kernel traceroute %s", f.target, i+1, got[0], kernel[i])
				}
			}
			if v := m.value(t, "traceroute_destination_reached", lab1(f.target)); v != 1 {
				t.Errorf("%s: destination_reached %v, want 1", f.target, v)
			}
			if v := m.value(t, "traceroute_destination_loss_ratio", lab1(f.target)); v != 0 {
				t.Errorf("%s: destination_loss_ratio %v, want 0", f.target, v)
			}
			if v := m.value(t, "traceroute_destination_rtt_seconds", lab1(f.target)); v <= 0 || v > 0.1 {
				t.Errorf("%s: destination_rtt_seconds %v, want a small positive RTT", f.target, v)
			}
		}
	})

	t.Run("no path change through the ECMP point", func(t *testing.T) {
		first := e.scrape()
		unmatched := first.value(t, "traceroute_exporter_unmatched_replies_total", nil)
		for i := 0; i < 8; i++ {
			time.Sleep(interval)
			m := e.scrape()
			for _, f := range families {
				if v := m.value(t, "traceroute_path_changes_total", lab1(f.target)); v != 0 {
					t.Fatalf("%s: %v path changes in a steady network with ECMP", f.target, v)
				}
				if a, b := first.value(t, "traceroute_path_hash", lab1(f.target)), m.value(t, "traceroute_path_hash", lab1(f.target)); a != b {
					t.Fatalf("%s: path hash moved from %v to %v", f.target, a, b)
				}
			}
		}
		// The kernel traceroute above got replies on the same host, which
		// count as unmatched; in the quiet window after it there are none.
		if v := e.scrape().value(t, "traceroute_exporter_unmatched_replies_total", nil) - unmatched; v != 0 {
			t.Errorf("%v unmatched replies in a quiet network", v)
		}
	})

	t.Run("reload keeps old config on error and applies a good one", func(t *testing.T) {
		before := e.scrape().value(t, "traceroute_probes_sent_total", lab1("dst4"))
		good, _ := os.ReadFile(e.config)
		os.WriteFile(e.config, []byte("targets:\n  - host: 198.18.7.2\n    probes: lots\n"), 0o644)
		code, body := e.post("/-/reload")
		if code != 500 || !strings.Contains(body, "cannot unmarshal") {
			t.Fatalf("bad reload: %d %q, want 500 naming the error", code, body)
		}
		m := e.scrape()
		if v := m.value(t, "traceroute_exporter_config_last_reload_successful", nil); v != 0 {
			t.Fatalf("config_last_reload_successful %v after a bad reload, want 0", v)
		}
		if v := m.value(t, "traceroute_exporter_targets", nil); v != 2 {
			t.Fatalf("%v targets after a bad reload, want the old 2", v)
		}
		// SIGHUP with a good file that adds a target.
		os.WriteFile(e.config, append(good, "  - name: dst4-again\n    host: 198.18.7.2\n"...), 0o644)
		e.cmd.Process.Signal(syscall.SIGHUP)
		m = e.waitFor(5*time.Second, "the SIGHUP reload", func(m metrics) bool {
			v, _ := m.get("traceroute_exporter_config_last_reload_successful", nil)
			n, _ := m.get("traceroute_exporter_targets", nil)
			return v == 1 && n == 3
		})
		if after := m.value(t, "traceroute_probes_sent_total", lab1("dst4")); after < before {
			t.Fatalf("unchanged target's counter went from %v to %v across reloads", before, after)
		}
		os.WriteFile(e.config, good, 0o644)
		if code, body := e.post("/-/reload"); code != 200 {
			t.Fatalf("good reload: %d %q", code, body)
		}
		m = e.scrape()
		if _, ok := m.get("traceroute_probes_sent_total", map[string]string{"target": "dst4-again"}); ok {
			t.Fatal("removed target still exported")
		}
	})

	t.Run("loss beyond a lossy router shows at later hops only", func(t *testing.T) {
		tp.dropForwarded(30)
		time.Sleep(2*interval + timeout) // let intervals with loss complete
		beyond := map[string]float64{}
		for i := 0; i < 6; i++ {
			m := e.scrape()
			for _, f := range families {
				for _, h := range []string{"1", "2"} {
					if v := m.value(t, "traceroute_hop_loss_ratio", hop(f.target, h)); v != 0 {
						t.Fatalf("%s hop %s (at or before the lossy router): loss %v, want 0", f.target, h, v)
					}
				}
				for _, h := range []string{"3", "4", "5"} {
					if v, ok := m.get("traceroute_hop_loss_ratio", hop(f.target, h)); ok {
						beyond[f.target+"/"+h] += v
					}
				}
				beyond[f.target+"/dest"] += m.value(t, "traceroute_destination_loss_ratio", lab1(f.target))
			}
			time.Sleep(interval)
		}
		tp.stopDropping()
		for k, v := range beyond {
			if v == 0 {
				t.Errorf("%s: no loss seen in 6 intervals behind a router dropping 30%%", k)
			}
		}
		if len(beyond) != 8 {
			t.Errorf("loss seen for %v, want hops 3-5 and the destination of both targets", beyond)
		}
		m := e.scrape()
		for _, f := range families {
			if v := m.value(t, "traceroute_path_changes_total", lab1(f.target)); v != 0 {
				t.Errorf("%s: loss caused %v path changes", f.target, v)
			}
		}
		time.Sleep(2*interval + timeout)
	})

	t.Run("route switch is one path change with the new hop count", func(t *testing.T) {
		tp.useAlternate()
		switched := time.Now()
		// Within two intervals (plus the last probes' timeout and a scrape).
		e.waitFor(2*interval+timeout+time.Second, "the new 6-hop path", func(m metrics) bool {
			for _, f := range families {
				if v, _ := m.get("traceroute_hops", lab1(f.target)); v != 6 {
					return false
				}
				if v, _ := m.get("traceroute_path_changes_total", lab1(f.target)); v != 1 {
					return false
				}
			}
			return true
		})
		t.Logf("new path seen %s after the switch", time.Since(switched).Round(time.Millisecond))
		time.Sleep(4 * interval)
		m := e.scrape()
		for _, f := range families {
			if v := m.value(t, "traceroute_path_changes_total", lab1(f.target)); v != 1 {
				t.Errorf("%s: %v path changes after one route switch, want exactly 1", f.target, v)
			}
			ips := m.hopIPs(f.target)
			for i, link := range alternateLinks(f.v6) {
				if got := ips[i+1]; len(got) != 1 || got[0] != addr(f.v6, link) {
					t.Errorf("%s hop %d: %v, want %s", f.target, i+1, got, addr(f.v6, link))
				}
			}
		}
	})
}
