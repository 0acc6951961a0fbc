package e2e

import (
	"fmt"
	"testing"
)

// topo is the test network:
//
//	src -1- r1 -2- r2 -3- r3a -4- r4 -7- dst
//	               r2 -5- r3b -6- r4            (equal-cost branch at r2)
//	               r2 -8- r5 -9- r6 -10- r4     (longer alternate route)
//
// Link n is 198.18.n.0/24 and 2001:db8:n::/64; the node nearer src has .1.
// Every return route is single-path. Over IPv4 a router replies from the
// interface its reply leaves by; over IPv6 from the one the probe came in
// by. Only r4 tells them apart (it returns via r3a): primary path r1 1.2,
// r2 2.2, r3a 3.2 or r3b 5.2, r4 4.2 (IPv6: 4::2 after r3a, 6::2 after
// r3b), dst 7.2; alternate r1 1.2, r2 2.2, r5 8.2, r6 9.2, r4 4.2 (IPv6:
// 10::2), dst 7.2.
type topo struct {
	*lab
}

// primaryLinks returns the link number of each hop's address on the
// primary path, given the ECMP branch taken (3: via r3a, 5: via r3b).
func primaryLinks(v6 bool, branch int) []int {
	r4 := 4
	if v6 && branch == 5 {
		r4 = 6
	}
	return []int{1, 2, branch, r4, 7}
}

// alternateLinks is the same for the alternate path.
func alternateLinks(v6 bool) []int {
	if v6 {
		return []int{1, 2, 8, 9, 10, 7}
	}
	return []int{1, 2, 8, 9, 4, 7}
}

func addr(v6 bool, link int) string {
	if v6 {
		return fmt.Sprintf("2001:db8:%d::2", link)
	}
	return fmt.Sprintf("198.18.%d.2", link)
}

func newTopo(t testing.TB, rateLimited bool) *topo {
	l := newLab(t, rateLimited)
	for _, n := range []string{"src", "r1", "r2", "r3a", "r3b", "r4", "r5", "r6", "dst"} {
		l.addNode(n)
	}
	for _, k := range []struct {
		n    int
		a, b string
	}{{1, "src", "r1"}, {2, "r1", "r2"}, {3, "r2", "r3a"}, {4, "r3a", "r4"}, {5, "r2", "r3b"},
		{6, "r3b", "r4"}, {7, "r4", "dst"}, {8, "r2", "r5"}, {9, "r5", "r6"}, {10, "r6", "r4"}} {
		l.link(k.n, k.a, k.b)
	}
	for _, v6 := range []bool{false, true} {
		r := func(node, to, via string) {
			args := []string{"ip"}
			if v6 {
				args = append(args, "-6")
			}
			l.in(node, append(args, "route", "add", to, "via", via)...)
		}
		net := func(n int) string {
			if v6 {
				return fmt.Sprintf("2001:db8:%d::/64", n)
			}
			return fmt.Sprintf("198.18.%d.0/24", n)
		}
		gw := func(n, side int) string {
			if v6 {
				return fmt.Sprintf("2001:db8:%d::%d", n, side)
			}
			return fmt.Sprintf("198.18.%d.%d", n, side)
		}
		r("src", "default", gw(1, 2))
		r("dst", "default", gw(7, 1))
		r("r1", net(7), gw(2, 2))
		r("r2", net(1), gw(2, 1))
		r("r3a", net(7), gw(4, 2))
		r("r3a", net(1), gw(3, 1))
		r("r3b", net(7), gw(6, 2))
		r("r3b", net(1), gw(5, 1))
		r("r4", net(1), gw(4, 1))
		r("r5", net(7), gw(9, 2))
		r("r5", net(1), gw(8, 1))
		r("r6", net(7), gw(10, 2))
		r("r6", net(1), gw(9, 1))
		fam := "-4"
		if v6 {
			fam = "-6"
		}
		l.in("r2", "ip", fam, "route", "add", net(7), "nexthop", "via", gw(3, 2), "nexthop", "via", gw(5, 2))
	}
	return &topo{lab: l}
}

// useAlternate sends r2's traffic for the destination over r5 and r6.
func (tp *topo) useAlternate() {
	tp.in("r2", "ip", "-4", "route", "replace", "198.18.7.0/24", "via", "198.18.8.2")
	tp.in("r2", "ip", "-6", "route", "replace", "2001:db8:7::/64", "via", "2001:db8:8::2")
}

// dropForwarded makes r2 drop pct percent of the packets it forwards, in
// both directions (not the ICMP errors r2 itself sends).
func (tp *topo) dropForwarded(pct int) {
	tp.in("r2", "nft", "add", "table", "inet", "trxloss")
	tp.in("r2", "nft", "add", "chain", "inet", "trxloss", "fw", "{ type filter hook forward priority 0; policy accept; }")
	tp.in("r2", "nft", "add", "rule", "inet", "trxloss", "fw", "numgen", "random", "mod", "100", "<", fmt.Sprint(pct), "drop")
}

// stopDropping removes the loss rule.
func (tp *topo) stopDropping() {
	tp.in("r2", "nft", "delete", "table", "inet", "trxloss")
}
