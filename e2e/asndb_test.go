package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// linkASN is the AS number of each link of the test network: the AS of
// the router on the link's .2 / ::2 side, the side farther from src. r3a
// and r3b (the two equal-cost branches) share one AS, and r4's three links
// (from r3a, r3b and r6) are all r4's.
var linkASN = map[int]uint32{
	1:  64501, // src - r1
	2:  64502, // r1 - r2
	3:  64503, // r2 - r3a
	4:  64504, // r3a - r4
	5:  64503, // r2 - r3b
	6:  64504, // r3b - r4
	7:  64507, // r4 - dst
	8:  64505, // r2 - r5
	9:  64506, // r5 - r6
	10: 64504, // r6 - r4
}

// Expected AS paths of the primary and the alternate route.
var (
	primaryASPath   = []uint32{64501, 64502, 64503, 64504, 64507}
	alternateASPath = []uint32{64501, 64502, 64505, 64506, 64504, 64507}
)

// writeASNDatabase writes an iptoasn-style TSV (range_start, range_end,
// asn, country, description, tab-separated) in dir that maps every link's
// whole /24 and /64 to linkASN, and returns its path.
func writeASNDatabase(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("range_start\trange_end\tAS_number\tcountry_code\tAS_description\n")
	for link := 1; link <= 10; link++ {
		asn := linkASN[link]
		fmt.Fprintf(&b, "198.18.%d.0\t198.18.%d.255\t%d\tZZ\tLAB-AS%d link %d\n", link, link, asn, asn, link)
		fmt.Fprintf(&b, "2001:db8:%d::\t2001:db8:%d::ffff:ffff:ffff:ffff\t%d\tZZ\tLAB-AS%d link %d\n", link, link, asn, asn, link)
	}
	path := filepath.Join(dir, "asn.tsv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// asnOf returns the AS the database maps an address of the test network
// to (0 if none): the link number is the third IPv4 octet or the third
// IPv6 group.
func asnOf(ip string) uint32 {
	var link int
	if strings.Contains(ip, ":") {
		fmt.Sscanf(ip, "2001:db8:%d::", &link)
	} else {
		fmt.Sscanf(ip, "198.18.%d.", &link)
	}
	return linkASN[link]
}

// hopASNs checks tg's AS series against the database and the expected
// path, where each hop has its own AS (want[h-1] for hop h, true of both
// routes here): every hop_info series has the asn label of its ip, and
// hop_asn says the same; a known hop's AS is want's; the AS path length is
// the number of known hops (unknown hops are skipped). When complete, every
// hop must be known.
func hopASNs(m metrics, tg target, want []uint32, complete bool) []finding {
	var fs []finding
	known := 0
	for _, s := range m["traceroute_hop_info"].GetMetric() {
		l := labels(s)
		if l["target"] != tg.name {
			continue
		}
		known++
		h, _ := strconv.Atoi(l["hop"])
		asn := asnOf(l["ip"])
		if l["asn"] != fmt.Sprint(asn) || asn == 0 {
			fs = append(fs, finding{"traceroute_hop_info asn", fmt.Sprintf("hop %s ip %s asn %q, the database says %d", l["hop"], l["ip"], l["asn"], asn)})
		}
		if v, ok := m.get("traceroute_hop_asn", hop(tg.name, l["hop"])); !ok || v != float64(asn) {
			fs = append(fs, finding{"traceroute_hop_asn", fmt.Sprintf("hop %s (ip %s): %v (present %v), want %d", l["hop"], l["ip"], v, ok, asn)})
		}
		if h < 1 || h > len(want) || asn != want[h-1] {
			fs = append(fs, finding{"hop AS", fmt.Sprintf("hop %d answered from %s in AS%d; want the path %v", h, l["ip"], asn, want)})
		}
	}
	if complete && known != len(want) {
		fs = append(fs, finding{"traceroute_hop_info", fmt.Sprintf("%d hops known, want all %d: %v", known, len(want), m.hopIPs(tg.name))})
	}
	return concat(fs, expect(m, "traceroute_as_path_length", tg.labels(), float64(known)))
}
