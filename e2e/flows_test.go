package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestFlowsRevealEveryBranch: a target traced by several flows shows both
// branches of the equal-cost split at r2, for ICMP through the balancer
// that hashes the checksum and for UDP through 5-tuple ECMP, with
// traceroute_path_flows 2 and no path change; a single-flow target of the
// same destination keeps one branch. 12 flows, so that the chance of all
// of them hashing to one branch (2^-11) does not make the test flaky.
func TestFlowsRevealEveryBranch(t *testing.T) {
	requireLab(t)
	tp := newTopo(t, false)
	tp.balance()
	warmUp(t, tp)
	cfg := "defaults: {interval: 1s, probes: 3, timeout: 500ms, max_hops: 10}\ntargets:\n" +
		"  - {name: icmp-flows, host: 198.18.7.2, flows: 12}\n" +
		"  - {name: udp-flows, host: 198.18.7.2, protocol: udp, flows: 12}\n" +
		"  - {name: icmp6-flows, host: \"2001:db8:7::2\", flows: 12}\n" +
		"  - {name: single, host: 198.18.7.2}\n"
	e := startExporter(t, tp.name("src"), 10188, cfg)
	multi := []string{"icmp-flows", "udp-flows", "icmp6-flows"}
	e.waitFor(20*time.Second, "both branches seen by every multi-flow target", func(m metrics) bool {
		for _, name := range multi {
			if v, _ := m.get("traceroute_path_flows", map[string]string{"target": name}); v != 2 {
				return false
			}
		}
		return true
	})
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		m := e.scrape()
		for _, name := range append(multi, "single") {
			l := map[string]string{"target": name}
			if v := m.value(t, "traceroute_path_changes_total", l); v != 0 {
				t.Fatalf("%s: %v path changes in a steady network", name, v)
			}
			want := 2.0
			if name == "single" {
				want = 1
			}
			if v := m.value(t, "traceroute_path_flows", l); v != want {
				t.Fatalf("%s: traceroute_path_flows %v, want %v", name, v, want)
			}
			if v := m.value(t, "traceroute_hops", l); v != 5 {
				t.Fatalf("%s: hops %v, want 5", name, v)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	m := e.scrape()
	for _, name := range multi {
		v6 := strings.Contains(name, "6")
		seen := map[string]bool{}
		for _, s := range m["traceroute_hop_info"].GetMetric() {
			if l := labels(s); l["target"] == name && l["hop"] == "3" {
				seen[l["ip"]] = true
			}
		}
		if !seen[addr(v6, 3)] || !seen[addr(v6, 5)] || len(seen) != 2 {
			t.Errorf("%s hop 3 responders across flows %v, want both %s and %s", name, seen, addr(v6, 3), addr(v6, 5))
		}
	}
	var single []string
	for _, s := range m["traceroute_hop_info"].GetMetric() {
		if l := labels(s); l["target"] == "single" && l["hop"] == "3" {
			single = append(single, l["ip"]+"/flow="+l["flow"])
		}
	}
	if len(single) != 1 || !strings.HasSuffix(single[0], "/flow=0") {
		t.Errorf("single-flow target hop 3: %v, want one responder with flow=\"0\"", single)
	}
}
