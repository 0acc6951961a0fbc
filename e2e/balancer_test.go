package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// routed is one destination prefix of both families that the test network
// routes to dst: dst's own link and the AnyIP prefixes dst answers for.
type routed struct{ v4, v6 string }

// routedPrefixes are the prefixes the balancer at r2 steers and the route
// switch moves.
var routedPrefixes = []routed{
	{"198.18.7.0/24", "2001:db8:7::/64"},
	{anyIP4Prefix, anyIP6Prefix},
}

// balance turns r2's equal-cost point into a load balancer that, like many
// real ones, hashes the first four bytes of the transport header: for ICMP
// the type, code and checksum. Packets from the source side (r2's link to
// r1) get mark 1 or 2 from that hash; mark 1 routes via r3a (table 101),
// mark 2 via r3b (table 102). Only the forward direction is marked, so
// replies take the single return path. Linux's own multipath hash ignores
// ICMP identifier and checksum, so without this every ICMP packet to one
// address would take one branch whatever a tracer does.
func (tp *topo) balance() {
	tp.in("r2", "nft", "add", "table", "inet", "trxlb")
	tp.in("r2", "nft", "add", "chain", "inet", "trxlb", "pre", "{ type filter hook prerouting priority mangle; policy accept; }")
	tp.in("r2", "nft", "add", "rule", "inet", "trxlb", "pre", "iifname", "to-r1",
		"meta", "l4proto", "{ icmp, ipv6-icmp }", "meta", "mark", "set", "jhash", "@th,0,32", "mod", "2", "offset", "1")
	for _, fam := range []string{"-4", "-6"} {
		tp.in("r2", "ip", fam, "rule", "add", "fwmark", "1", "table", "101")
		tp.in("r2", "ip", fam, "rule", "add", "fwmark", "2", "table", "102")
	}
	tp.switchPath(false)
}

// switchPath sets r2's routes to every routed prefix, in the main table
// and in both balancer tables, with one batch of route replacements: via r5
// and r6 (the longer alternate route) when alternate, otherwise the
// balanced primary route (multipath in the main table, one branch per
// balancer table).
func (tp *topo) switchPath(alternate bool) {
	var b strings.Builder
	for _, p := range routedPrefixes {
		for _, v6 := range []bool{false, true} {
			prefix, via := p.v4, func(n int) string { return fmt.Sprintf("198.18.%d.2", n) }
			if v6 {
				prefix, via = p.v6, func(n int) string { return fmt.Sprintf("2001:db8:%d::2", n) }
			}
			if alternate {
				for _, table := range []string{"main", "101", "102"} {
					fmt.Fprintf(&b, "route replace %s via %s table %s\n", prefix, via(8), table)
				}
				continue
			}
			fmt.Fprintf(&b, "route replace %s table main nexthop via %s nexthop via %s\n", prefix, via(3), via(5))
			fmt.Fprintf(&b, "route replace %s via %s table 101\n", prefix, via(3))
			fmt.Fprintf(&b, "route replace %s via %s table 102\n", prefix, via(5))
		}
	}
	batch := filepath.Join(tp.t.TempDir(), "routes")
	if err := os.WriteFile(batch, []byte(b.String()), 0o644); err != nil {
		tp.t.Fatal(err)
	}
	tp.in("r2", "ip", "-batch", batch)
}

// hopResponders runs the kernel's ICMP traceroute from src with six probes
// per hop (its checksum changes with every probe) and returns the distinct
// addresses that answered at ttl.
func hopResponders(t *testing.T, tp *topo, v6 bool, dst string, ttl int) []string {
	args := []string{"traceroute", "-n", "-I", "-q", "6", "-w", "1", "-f", fmt.Sprint(ttl), "-m", fmt.Sprint(ttl), dst}
	if v6 {
		args = append([]string{"traceroute", "-6"}, args[1:]...)
	}
	out := tp.in("src", args...)
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n")[1:] {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "198.18.") || strings.HasPrefix(f, "2001:db8:") {
				seen[f] = true
			}
		}
	}
	var ips []string
	for ip := range seen {
		ips = append(ips, ip)
	}
	sort.Strings(ips)
	return ips
}

// TestBalancerSplitsICMPByChecksum is the negative control of the Paris
// tests: through the balancer, the kernel's traceroute, whose checksum
// varies per probe, sees both branches at hop 3, so a tracer that varied
// its checksum would see two responders and fail the no-change tests.
func TestBalancerSplitsICMPByChecksum(t *testing.T) {
	requireLab(t)
	tp := newTopo(t, true)
	tp.addAnyIP()
	tp.balance()
	warmUp(t, tp)
	for _, f := range families {
		want := []string{addr(f.v6, 3), addr(f.v6, 5)}
		// Six probes all hash to one branch with probability 1/32: a run
		// that shows one branch is repeated (the checksums change with the
		// traceroute's process id), at most three times.
		seen := map[string]bool{}
		for run := 0; run < 3 && len(seen) < 2; run++ {
			for _, ip := range hopResponders(t, tp, f.v6, f.dst, 3) {
				seen[ip] = true
			}
		}
		var got []string
		for ip := range seen {
			got = append(got, ip)
		}
		sort.Strings(got)
		t.Logf("%s: hop 3 answered from %v", f.dst, got)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: kernel traceroute -I saw %v at hop 3, want both branches %v", f.dst, got, want)
		}
	}
}
