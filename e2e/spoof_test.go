package e2e

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The spoofing test (issue "Hardening"): while the exporter traces, an
// attacker on the path, in r1, injects forged replies towards the source
// at about 5,000 packets a second. It learns the exporter's flows from the
// probes it forwards, as an on-path attacker can, and, the moment each
// probe passes, forges from it:
//
//   - Time Exceeded quoting the probe with another identifier, or with
//     another sequence number;
//   - the destination's answer (Echo Reply, Port Unreachable, SYN-ACK or
//     RST), from the destination's address, with another identifier or
//     another sequence number;
//   - a Time Exceeded and a destination's answer that carry this probe's
//     identifier and live sequence number with its sibling target's
//     destination (ICMP) or port (UDP, TCP);
//   - the destination's answer with the probe's exact identity, sent from
//     another address (r1's, r2's, the other destination's);
//
// and it sends the same kinds built from the flows' latest probes at a
// steady rate, and replays every real reply two seconds after it passed.
// The destination's link is slowed by spoofDelay each way, so that a probe
// to the destination is still waiting for its answer when the forgeries
// made from it arrive: a matcher that ignored a sender, destination, port,
// identifier or sequence number would take them.
//
// Not forged: an ICMP error that copies a live probe's quote verbatim,
// which cannot be told from a router's (for UDP that includes a Port
// Unreachable from another address before the real answer; see
// unreachableFromOther).
//
// None of them may be attributed: every scrape shows each target's path,
// hop count, hash, responders, reachability, loss and RTT as before, no
// path change, and the exporter counts (nearly) every forged packet as
// unmatched or late.

// spoofTarget is one target of the spoofing test.
type spoofTarget struct {
	name, host, proto string
	port              int
	v6                bool
}

// spoofTargets come in pairs of one family and protocol, so that every
// flow has a sibling to mix with: two ICMP targets at different
// destinations, two UDP and two TCP targets at one destination on
// different ports (TCP 8443 has a listener and answers SYN-ACK, 443 RST).
var spoofTargets = []spoofTarget{
	{"icmp4", "198.18.7.2", "icmp", 0, false},
	{"icmp4-any", anyIP(false, 11), "icmp", 0, false},
	{"icmp6", "2001:db8:7::2", "icmp", 0, true},
	{"icmp6-any", anyIP(true, 11), "icmp", 0, true},
	{"udp4", "198.18.7.2", "udp", 33434, false},
	{"udp4-b", "198.18.7.2", "udp", 33435, false},
	{"udp6", "2001:db8:7::2", "udp", 33434, true},
	{"udp6-b", "2001:db8:7::2", "udp", 33435, true},
	{"tcp4", "198.18.7.2", "tcp", 8443, false},
	{"tcp4-closed", "198.18.7.2", "tcp", 443, false},
	{"tcp6", "2001:db8:7::2", "tcp", 8443, true},
	{"tcp6-closed", "2001:db8:7::2", "tcp", 443, true},
}

func spoofConfig() string {
	var b strings.Builder
	b.WriteString("defaults:\n  interval: 1s\n  probes: 5\n  timeout: 500ms\n  max_hops: 10\ntargets:\n")
	for _, tg := range spoofTargets {
		fmt.Fprintf(&b, "  - {name: %s, host: %q, protocol: %s", tg.name, tg.host, tg.proto)
		if tg.port != 0 {
			fmt.Fprintf(&b, ", port: %d", tg.port)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func (tg spoofTarget) labels() map[string]string { return map[string]string{"target": tg.name} }

// wantHops is the responder of each hop of tg's path (r2 routes every
// destination via r3a): r1, r2, r3a, r4 and the destination itself.
func (tg spoofTarget) wantHops() map[int][]string {
	want := map[int][]string{}
	for i, link := range []int{1, 2, 3, 4} {
		want[i+1] = []string{addr(tg.v6, link)}
	}
	want[5] = []string{tg.host}
	return want
}

// Knobs of the spoofing test.
const (
	spoofFor = 15 * time.Second
	// spoofRate is the steady rate of forgeries from the latest probes,
	// besides those made the moment a probe passes and the replays.
	spoofRate   = 2000
	spoofMax    = 150000 // packets in all, at most
	spoofDelay  = 10 * time.Millisecond
	replayAfter = 2 * time.Second
	udpAfter    = 50 * time.Millisecond
)

func TestSpoofedRepliesNeverAttributed(t *testing.T) {
	requireLab(t)
	tp := newTopo(t, false)
	// One path via r3a for dst and the AnyIP prefixes: r2's equal-cost
	// split is not what is tested.
	tp.addAnyIP()
	for _, v6 := range []bool{false, true} {
		fam, nets := "-4", []string{dstNet4.String(), anyIP4Prefix}
		if v6 {
			fam, nets = "-6", []string{dstNet6.String(), anyIP6Prefix}
		}
		for _, n := range nets {
			tp.in("r2", "ip", fam, "route", "replace", n, "via", addr(v6, 3))
		}
	}
	tp.delayDst(spoofDelay)
	warmUp(t, tp)
	for _, tg := range spoofTargets {
		if err := runIn(tp.name("src"), "ping", "-c", "1", "-W", "1", tg.host); err != nil {
			t.Fatalf("%s does not answer ping from src: the test network is broken", tg.host)
		}
	}
	for _, a := range []string{"198.18.7.2:8443", "[2001:db8:7::2]:8443"} {
		ln, err := listen(tp.name("dst"), a)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}

	fg := newForger(t, tp)
	e := startExporter(t, tp.name("src"), 10188, spoofConfig())
	var targets []target
	byName := map[string]spoofTarget{}
	for _, tg := range spoofTargets {
		targets = append(targets, target{tg.name, tg.host, tg.v6})
		byName[tg.name] = tg
	}
	// The path, complete, on every target.
	e.waitFor(20*time.Second, "every target traced with its 5 hops", func(m metrics) bool {
		for _, tg := range spoofTargets {
			if v, _ := m.get("traceroute_hops", tg.labels()); v != 5 {
				return false
			}
			if fmt.Sprint(m.hopIPs(tg.name)) != fmt.Sprint(tg.wantHops()) {
				return false
			}
		}
		return true
	})
	// Baseline: the path hash and the lowest destination RTT of three
	// intervals (a stall on a loaded host only ever raises an interval's
	// mean, and a baseline raised by one made later intervals look
	// pulled down).
	hash, rtt := map[string]float64{}, map[string]float64{}
	m := e.scrape()
	for _, tg := range spoofTargets {
		hash[tg.name] = m.value(t, "traceroute_path_hash", tg.labels())
	}
	for i := 0; i < 3; i++ {
		time.Sleep(interval)
		m := e.scrape()
		for _, tg := range spoofTargets {
			v := m.value(t, "traceroute_destination_rtt_seconds", tg.labels())
			if b, ok := rtt[tg.name]; !ok || v < b {
				rtt[tg.name] = v
			}
		}
	}
	if n := fg.learned(); n != len(spoofTargets) {
		t.Fatalf("the forger learned %d flows from the probes it forwards, want %d: %s", n, len(spoofTargets), fg.flowList())
	}
	before := e.scrape()

	// The attack, and every scrape during it and for two intervals
	// after (those intervals held forged replies too).
	done := fg.start(spoofFor)
	rttRange := map[string][2]float64{}
	observe(t, e, spoofFor+2*interval+timeout, targets, func(m metrics, tg target, _ time.Duration) []finding {
		fs := concat(
			expect(m, "traceroute_path_changes_total", tg.labels(), 0),
			expect(m, "traceroute_hops", tg.labels(), 5),
			expect(m, "traceroute_path_hash", tg.labels(), hash[tg.name]),
			expect(m, "traceroute_destination_reached", tg.labels(), 1),
			expect(m, "traceroute_destination_loss_ratio", tg.labels(), 0),
		)
		for h := 1; h <= 5; h++ {
			for _, f := range expect(m, "traceroute_hop_loss_ratio", hop(tg.name, fmt.Sprint(h)), 0) {
				fs = append(fs, finding{fmt.Sprintf("%s{hop=%d}", f.kind, h), f.detail})
			}
		}
		if got, want := m.hopIPs(tg.name), byName[tg.name].wantHops(); fmt.Sprint(got) != fmt.Sprint(want) {
			fs = append(fs, finding{"traceroute_hop_info", fmt.Sprintf("%v, want %v", got, want)})
		}
		for _, s := range m["traceroute_hop_unreachable_info"].GetMetric() {
			if l := labels(s); l["target"] == tg.name {
				fs = append(fs, finding{"traceroute_hop_unreachable_info{hop=" + l["hop"] + "}", "code " + l["code"]})
			}
		}
		// The destination's RTT stays what it was (twice spoofDelay and
		// some): a forged answer taken for the destination's would pull
		// the mean of 5 probes down by about 4ms. Above, the bound only
		// leaves room for the delay helper's stalls on a busy host (21ms
		// on the mean of an interval with a load average of 8.7 on 2
		// cores); a replay taken for an answer would add 400ms to one
		// probe, 80ms to the mean.
		v, ok := m.get("traceroute_destination_rtt_seconds", tg.labels())
		r, seen := rttRange[tg.name]
		if !seen {
			r = [2]float64{v, v}
		}
		rttRange[tg.name] = [2]float64{math.Min(r[0], v), math.Max(r[1], v)}
		if b := rtt[tg.name]; !ok || v < b-2e-3 || v > b+40e-3 {
			fs = append(fs, finding{"traceroute_destination_rtt_seconds", fmt.Sprintf("%.3fms, baseline %.3fms", v*1e3, b*1e3)})
		}
		return fs
	})
	<-done
	time.Sleep(time.Second)
	after := e.scrape()
	counts := fg.counts()
	t.Logf("forged: %s", counts)
	for _, tg := range spoofTargets {
		r := rttRange[tg.name]
		t.Logf("%s: destination RTT baseline %.3fms, %.3f-%.3fms during the attack", tg.name, rtt[tg.name]*1e3, r[0]*1e3, r[1]*1e3)
	}

	t.Run("every forged packet is counted as unmatched or late", func(t *testing.T) {
		delta := func(name string) float64 {
			return after.value(t, "traceroute_exporter_"+name+"_total", nil) - before.value(t, "traceroute_exporter_"+name+"_total", nil)
		}
		unmatched, late, drops, malformed := delta("unmatched_replies"), delta("late_replies"), delta("socket_drops"), delta("malformed_packets")
		injected, provoked := float64(counts.total()), float64(counts.provoked)
		t.Logf("injected %v (and %v real errors provoked); unmatched +%v, late +%v, socket drops +%v, malformed +%v", injected, provoked, unmatched, late, drops, malformed)
		if injected < spoofFor.Seconds()*spoofRate {
			t.Errorf("only %v packets forged in %s, want more than %d a second", injected, spoofFor, spoofRate)
		}
		// Each forged packet is one unmatched or late reply, unless the
		// socket's buffer dropped it; so is each provoked error. Nothing
		// else is unmatched here (it is 0 in a quiet network). More than
		// that would be real replies left without their probe: forged
		// ones took it.
		want := injected + provoked
		if got := unmatched + late; got < 0.98*(want-drops) || got > want {
			t.Errorf("unmatched + late grew by %v for %v forged packets and %v provoked errors (%v dropped by the socket): want from 98%% to 100%% of what was not dropped", got, injected, provoked, drops)
		}
		if malformed != 0 {
			t.Errorf("malformed_packets_total grew by %v: every forged packet is well-formed", malformed)
		}
	})

	t.Run("forgeries hit probes still waiting for their answer", func(t *testing.T) {
		// Made from a probe to the destination and sent before half of
		// spoofDelay had passed: the real answer was at least 1.5
		// spoofDelay away. About 1,800 such probes pass in spoofFor.
		for k := 0; k < fReplay; k++ {
			if n := counts.live[k]; n < 500 {
				t.Errorf("%s: only %d forged while their probe was surely waiting, want at least 500", forgedNames[k], n)
			}
		}
	})

	t.Run("the API shows each target's path as before", func(t *testing.T) {
		for _, tg := range spoofTargets {
			var got apiTarget
			e.apiGet(t, "/api/v1/targets/"+url.PathEscape(tg.name), &got)
			want := tg.wantHops()
			if got.Hops != 5 || len(got.Path) != 5 || got.PathChanges != 0 || !got.Reached {
				t.Errorf("%s: hops %d, %d path entries, %d changes, reached %v; want 5, 5, 0, true", tg.name, got.Hops, len(got.Path), got.PathChanges, got.Reached)
				continue
			}
			for _, h := range got.Path {
				if w := want[h.Hop]; len(w) != 1 || h.Address != w[0] {
					t.Errorf("%s hop %d: %s, want %v", tg.name, h.Hop, h.Address, w)
				}
			}
		}
	})
}
