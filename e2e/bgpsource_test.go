package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// bgpSourceConfig peers with r1 as bgpExporterConfig does, over IPv4
// and IPv6, and lists a target per received prefix within
// 198.18.2.0/23, 198.18.7.0/24, 198.18.8.0/23 and 2001:db8:2::/48 (so
// not link 1, the exporter's own, nor link 10, nor r1's other IPv6
// networks) originated by AS 64501, 64502 or 64504 (so not link 9,
// which r5 originates).
const bgpSourceConfig = `
defaults:
  interval: 1s
  probes: 3
  timeout: 500ms
  max_hops: 10
target_sources:
  - name: routes
    bgp:
      prefixes: [198.18.2.0/23, 198.18.7.0/24, 198.18.8.0/23, 2001:db8:2::/48]
      origin_as: [64501, 64502, 64504]
      refresh_interval: 1s
bgp:
  local_as: 64500
  router_id: 198.18.1.1
  listen_port: 1790
  neighbors:
    - address: 198.18.1.2
      peer_as: 64501
      passive: true
      password: lab-md5
    - address: 2001:db8:1::2
      peer_as: 64501
      passive: true
`

// bgpTraced returns "target bgp_prefix hops" for every target with a
// traceroute_hops series of source routes, sorted.
func bgpTraced(m metrics) string {
	var out []string
	for _, s := range m["traceroute_hops"].GetMetric() {
		l := labels(s)
		if l["source"] == "routes" {
			out = append(out, fmt.Sprintf("%s %s %v", l["target"], l["bgp_prefix"], s.GetGauge().GetValue()))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// TestBGPTargetSource: in the BGP lab, the IPv4 and IPv6 prefixes r1
// announces to the exporter that pass the source's filters become
// targets at their first host, each traced over the namespace network
// (hops as far as the router owning the address); the prefixes the
// filters leave out never do; r4 dropping dst's link withdraws 198.18.7.0/24 and its target goes
// while the others keep being traced.
func TestBGPTargetSource(t *testing.T) {
	l := newBGPLab(t)
	l.waitRoute("r1", "198.18.7.0/24", "198.18.2.2")
	l.waitRoute("r4", "198.18.1.0/24", "198.18.3.1")
	l.in("src", "ip", "-6", "route", "add", "default", "via", "2001:db8:1::2")
	e := startExporter(t, l.name("src"), 10189, bgpSourceConfig)

	// r1 is 1 hop away (198.18.2.1, 198.18.8.1, 2001:db8:2::1), r2 2
	// (198.18.3.1), r4 3 (198.18.7.1).
	want := "198.18.2.1 198.18.2.0/24 1, 198.18.3.1 198.18.3.0/24 2, 198.18.7.1 198.18.7.0/24 3, 198.18.8.1 198.18.8.0/24 1, 2001:db8:2::1 2001:db8:2::/64 1"
	var got string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last targets of source routes: %q", got)
		}
	})
	e.waitFor(30*time.Second, "the filtered prefixes traced", func(m metrics) bool {
		got = bgpTraced(m)
		return got == want
	})
	m := e.scrape()
	if v, _ := m.get("traceroute_bgp_routes_received", map[string]string{"neighbor": "198.18.1.2", "afi": "ipv4"}); v < 7 {
		t.Fatalf("IPv4 routes received %v, want the lab's 7 networks: the filters had nothing to leave out", v)
	}
	if v, _ := m.get("traceroute_bgp_routes_received", map[string]string{"neighbor": "2001:db8:1::2", "afi": "ipv6"}); v < 3 {
		t.Fatalf("IPv6 routes received %v, want r1's 3 networks: the filters had nothing to leave out", v)
	}

	// Withdraw 198.18.7.0/24: r4 no longer has it.
	l.in("r4", "ip", "addr", "del", "198.18.7.1/24", "dev", "to-dst")
	want = "198.18.2.1 198.18.2.0/24 1, 198.18.3.1 198.18.3.0/24 2, 198.18.8.1 198.18.8.0/24 1, 2001:db8:2::1 2001:db8:2::/64 1"
	e.waitFor(20*time.Second, "the withdrawn prefix's target gone", func(m metrics) bool {
		got = bgpTraced(m)
		return got == want
	})
	// The remaining targets keep being traced: their traces go on.
	first := e.scrape()
	time.Sleep(3 * time.Second)
	m = e.scrape()
	for _, tg := range []string{"198.18.2.1", "198.18.3.1", "198.18.8.1", "2001:db8:2::1"} {
		sel := map[string]string{"target": tg}
		before, _ := first.get("traceroute_probes_sent_total", sel)
		after, ok := m.get("traceroute_probes_sent_total", sel)
		if !ok || after <= before {
			t.Errorf("%s: probes_sent_total %v then %v: not traced after the withdrawal", tg, before, after)
		}
		if v, _ := m.get("traceroute_destination_reached", sel); v != 1 {
			t.Errorf("%s: destination_reached %v, want 1", tg, v)
		}
	}
	if got := bgpTraced(m); got != want {
		t.Errorf("targets after the withdrawal %q, want %q", got, want)
	}
}
