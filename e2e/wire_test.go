package e2e

import (
	"regexp"
	"strconv"
	"strings"
)

// The wire is the reference for RTTs: tcpdump on the source's interface
// stamps each Echo Request as it leaves and each Echo Reply as it arrives
// with the kernel's clock, the same stamps the exporter asks the kernel for.
// Comparing a prober's mean with the wire mean of its own packets measures
// the prober alone; comparing two probers' means also measures the network's
// difference between their packets, which through the TUN delay helper on
// this VM (timer wake-ups late by 0.08 ms typically, 1.8 ms at the 99th
// percentile, and pauses of 15 ms or more) moves a 100-sample mean by up to
// 0.35 ms.

// echo is one Echo Request seen on the wire and its reply, if any.
type echo struct {
	v6         bool
	src, dst   string
	id, seq    int
	ttl        int
	sent, recv float64 // epoch seconds; recv 0 when no reply was seen
}

// rtt is the echo's round trip on the wire, in seconds.
func (e echo) rtt() float64 { return e.recv - e.sent }

var (
	echoRE = regexp.MustCompile(`(\S+) > (\S+): (?:\[[^\]]*\] )?ICMP6?,? echo (request|reply), id (\d+), seq (\d+)`)
	ttlRE  = regexp.MustCompile(`\((?:[^)]*[ (])?(?:ttl|hlim) (\d+)`)
)

// echoes pairs the Echo Requests and Replies of `tcpdump -v -tt` output
// (continuation lines, which start with white space, joined to their
// packet's line). A reply answers the latest request with its family,
// identifier and sequence number whose source is the reply's destination.
func echoes(lines []string) []echo {
	var pkts []string
	for _, l := range lines {
		if len(pkts) > 0 && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) {
			pkts[len(pkts)-1] += " " + strings.TrimSpace(l)
			continue
		}
		pkts = append(pkts, l)
	}
	type key struct {
		v6      bool
		host    string
		id, seq int
	}
	var out []echo
	open := map[key]int{}
	for _, p := range pkts {
		m := echoRE.FindStringSubmatch(p)
		f := strings.Fields(p)
		if m == nil || len(f) == 0 {
			continue
		}
		ts, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		id, _ := strconv.Atoi(m[4])
		seq, _ := strconv.Atoi(m[5])
		v6 := strings.Contains(p, " IP6 ")
		if m[3] == "request" {
			e := echo{v6: v6, src: m[1], dst: m[2], id: id, seq: seq, ttl: -1, sent: ts}
			if t := ttlRE.FindStringSubmatch(p); t != nil {
				e.ttl, _ = strconv.Atoi(t[1])
			}
			open[key{v6, m[1], id, seq}] = len(out)
			out = append(out, e)
			continue
		}
		k := key{v6, m[2], id, seq}
		if i, ok := open[k]; ok && out[i].recv == 0 {
			out[i].recv = ts
		}
	}
	return out
}

// wireMean is the mean round trip of the answered echoes es, and how many
// there were.
func wireMean(es []echo) (float64, int) {
	sum, n := 0.0, 0
	for _, e := range es {
		if e.recv > 0 {
			sum += e.rtt()
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}
