package e2e

import (
	"fmt"
	"testing"
	"time"
)

// narrowLinks gives the links after r2 (both equal-cost branches, 3 and 5,
// and the alternate route's 8) an MTU of mtu, on both ends, so the path
// narrows at hop 2 whichever way a probe goes.
func narrowLinks(tp *topo, mtu int) {
	for _, l := range []struct{ a, b string }{{"r2", "r3a"}, {"r2", "r3b"}, {"r2", "r5"}} {
		tp.in(l.a, "ip", "link", "set", "to-"+l.b, "mtu", fmt.Sprint(mtu))
		tp.in(l.b, "ip", "link", "set", "to-"+l.a, "mtu", fmt.Sprint(mtu))
	}
}

const pmtuConfig = `defaults:
  interval: 2s
  probes: 4
  timeout: 500ms
  max_hops: 10
  pmtu: true
  pmtu_every: 1
targets:
  - {name: mtu4, host: 198.18.7.2}
  - {name: mtu6, host: "2001:db8:7::2"}
  - {name: mtu4-udp, host: 198.18.7.2, protocol: udp}
`

// TestPathMTU: with the links after r2 at MTU 1400, every target's path
// MTU is found to be exactly 1400 over IPv4 and IPv6 (ICMP and UDP
// targets), at hop 2, where r2 answers Fragmentation Needed or Packet Too
// Big. When r2 then drops those messages (a black hole), the search still
// finds 1400 from the silent drops, and no longer knows the hop. Without
// DF on the probes r2 would fragment IPv4 ones and the search would read
// 1500: the test then fails.
func TestPathMTU(t *testing.T) {
	requireLab(t)
	tp := newTopo(t, false)
	narrowLinks(tp, 1400)
	warmUp(t, tp)
	e := startExporter(t, tp.name("src"), 10188, pmtuConfig)
	targets := []string{"mtu4", "mtu6", "mtu4-udp"}
	e.waitFor(30*time.Second, "every target's path MTU is 1400, found at hop 2", func(m metrics) bool {
		for _, tg := range targets {
			b, _ := m.get("traceroute_path_mtu_bytes", map[string]string{"target": tg})
			h, _ := m.get("traceroute_path_mtu_hop", map[string]string{"target": tg})
			if b != 1400 || h != 2 {
				return false
			}
		}
		return true
	})

	t.Run("black hole", func(t *testing.T) {
		tp.in("r2", "nft", "add", "table", "inet", "trxpmtu")
		tp.in("r2", "nft", "add", "chain", "inet", "trxpmtu", "out", "{ type filter hook output priority 0; policy accept; }")
		tp.in("r2", "nft", "add", "rule", "inet", "trxpmtu", "out", "icmp", "type", "destination-unreachable", "icmp", "code", "frag-needed", "drop")
		tp.in("r2", "nft", "add", "rule", "inet", "trxpmtu", "out", "icmpv6", "type", "packet-too-big", "drop")
		// The host has learnt r2's MTU; black holes are about routers
		// that never say it, so start from a host that never heard it.
		tp.in("src", "ip", "route", "flush", "cache")
		tp.in("src", "ip", "-6", "route", "flush", "cache")
		e.waitFor(60*time.Second, "every target's path MTU is 1400 from silent drops, hop unknown", func(m metrics) bool {
			for _, tg := range targets {
				b, _ := m.get("traceroute_path_mtu_bytes", map[string]string{"target": tg})
				_, hop := m.get("traceroute_path_mtu_hop", map[string]string{"target": tg})
				if b != 1400 || hop {
					return false
				}
			}
			return true
		})
		m := e.scrape()
		for _, tg := range targets {
			if v, _ := m.get("traceroute_path_changes_total", map[string]string{"target": tg}); v != 0 {
				t.Errorf("%s: %v path changes: the search disturbed the trace", tg, v)
			}
		}
	})
}
