package e2e

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// The truth tests check that what the exporter reports is what the network
// does (issue 6), in the test network with a per-flow load balancer at r2,
// the kernel's default ICMP rate limits at every router and, unless said
// otherwise, both cores kept busy. Every target is configured with the same
// probing as in trace_test.go (interval 1s, 5 probes, timeout 500ms), and
// every scrape of a window is checked, not just the last one.

// scrapeEvery is how often the truth tests scrape.
const scrapeEvery = 400 * time.Millisecond

// target is one configured target of the truth tests.
type target struct {
	name, host string
	v6         bool
}

func (tg target) labels() map[string]string { return map[string]string{"target": tg.name} }

// dstTargets are dst's own addresses.
func dstTargets() []target {
	return []target{{"dst4", "198.18.7.2", false}, {"dst6", "2001:db8:7::2", true}}
}

// anyIPTargets are n4 IPv4 and n6 IPv6 AnyIP addresses of dst, from the
// first after skip.
func anyIPTargets(skip, n4, n6 int) []target {
	var ts []target
	for i := skip + 1; i <= skip+n4; i++ {
		ts = append(ts, target{fmt.Sprintf("any4-%d", i), anyIP(false, 10+i), false})
	}
	for i := skip + 1; i <= skip+n6; i++ {
		ts = append(ts, target{fmt.Sprintf("any6-%d", i), anyIP(true, 10+i), true})
	}
	return ts
}

// truthConfig is the exporter configuration for targets. A target whose
// host is a name and that is v6 gets family ip6.
func truthConfig(targets []target) string {
	var b strings.Builder
	b.WriteString("defaults:\n  interval: 1s\n  probes: 5\n  timeout: 500ms\n  max_hops: 10\ntargets:\n")
	for _, tg := range targets {
		fmt.Fprintf(&b, "  - name: %s\n    host: %s\n    labels: {site: lab}\n", tg.name, tg.host)
		if tg.v6 && strings.HasSuffix(tg.host, ".test") {
			b.WriteString("    family: ip6\n")
		}
	}
	return b.String()
}

// newTruthTopo builds the test network with kernel ICMP rate limits on,
// the AnyIP prefixes at dst and the load balancer at r2, and pings every
// address of targets once so neighbour discovery is done.
func newTruthTopo(t *testing.T, targets []target, addrs ...string) *topo {
	return newTargetsTopo(t, true, targets, addrs...)
}

// newTargetsTopo is newTruthTopo with the routers' ICMP rate limits on
// only when rateLimited; addrs are further addresses to ping.
func newTargetsTopo(t *testing.T, rateLimited bool, targets []target, addrs ...string) *topo {
	requireLab(t)
	tp := newTopo(t, rateLimited)
	tp.addAnyIP()
	tp.balance()
	warmUp(t, tp)
	for _, tg := range targets {
		if !strings.HasSuffix(tg.host, ".test") {
			addrs = append(addrs, tg.host)
		}
	}
	for _, a := range addrs {
		ok := false
		for try := 0; try < 3 && !ok; try++ {
			ok = runIn(tp.name("src"), "ping", "-c", "1", "-W", "1", a) == nil
		}
		if !ok {
			t.Fatalf("%s does not answer ping from src: the test network is broken", a)
		}
	}
	return tp
}

func TestTruthManyTargets(t *testing.T) {
	targets := append(dstTargets(), anyIPTargets(0, 20, 10)...)
	tp := newTruthTopo(t, targets)
	busyCPU(t)
	e := startExporter(t, tp.name("src"), 10188, truthConfig(targets))
	s := steadyFrom(t, waitHops(t, e, targets, 5), targets, 5)
	observe(t, e, 15*time.Second, targets, func(m metrics, tg target, _ time.Duration) []finding {
		return s.check(m, tg)
	})
}

func TestTruthLossBeforeDestination(t *testing.T) {
	targets := append(dstTargets(), anyIPTargets(0, 4, 4)...)
	tp := newTruthTopo(t, targets)
	tp.lossBeforeDst(40)
	busyCPU(t)
	e := startExporter(t, tp.name("src"), 10188, truthConfig(targets))
	// No change ever; the hop count exact from the sixth interval on. A
	// probe at the destination's TTL is answered with chance 0.6*0.6, so
	// all 5 of an interval are lost with chance 0.64^5 = 0.107, and until
	// one is answered the destination is only known one TTL further. The
	// first interval ends half a second after the exporter starts, so by
	// 5.5 s at least five have ended and 8 targets are still wrong with
	// chance about 8*0.107^5 = 1e-4 (at 3.5 s it was 1%, and CI hit it).
	warm := 5*time.Second + 500*time.Millisecond
	s := newSteady(5)
	observe(t, e, warm+15*time.Second, targets, func(m metrics, tg target, at time.Duration) []finding {
		if at < warm {
			if v, ok := m.get("traceroute_path_changes_total", tg.labels()); ok && v != 0 {
				return []finding{{"traceroute_path_changes_total", fmt.Sprintf("%v, want 0", v)}}
			}
			return nil
		}
		if _, ok := s.hash[tg.name]; !ok {
			s.hash[tg.name], _ = m.get("traceroute_path_hash", tg.labels())
		}
		return s.check(m, tg)
	})
}

func TestTruthSilentHopBeforeDestination(t *testing.T) {
	targets := append(dstTargets(), anyIPTargets(0, 4, 4)...)
	tp := newTruthTopo(t, targets)
	busyCPU(t)
	e := startExporter(t, tp.name("src"), 10188, truthConfig(targets))
	s := steadyFrom(t, waitHops(t, e, targets, 5), targets, 5)
	tp.silenceBeforeDst()
	observe(t, e, 15*time.Second, targets, func(m metrics, tg target, _ time.Duration) []finding {
		return s.check(m, tg)
	})
}

func TestTruthRouteSwitch(t *testing.T) {
	targets := dstTargets()
	tp := newTruthTopo(t, targets)
	busyCPU(t)
	e := startExporter(t, tp.name("src"), 10188, truthConfig(targets))
	primary := steadyFrom(t, waitHops(t, e, targets, 5), targets, 5)
	// One change to the 6-hop alternate route, then one back to the same
	// primary path and so the same hash.
	alternate := watchSwitch(t, e, tp, targets, true, 1, nil)
	watchSwitch(t, e, tp, targets, false, 2, primary.hash)
	for _, tg := range targets {
		if alternate.hash[tg.name] == primary.hash[tg.name] {
			t.Errorf("%s: the same path hash %v for the 5- and the 6-hop path", tg.name, primary.hash[tg.name])
		}
	}
	log := e.stop()
	for _, tg := range targets {
		if n := countLogLines(log, `msg="Path changed"`, "target="+tg.name); n != 2 {
			t.Errorf("%s: %d log lines with msg=\"Path changed\" after two route switches, want 2", tg.name, n)
		}
	}
}

// watchSwitch switches r2 to the alternate route (or back) and checks every
// scrape: each target shows either its previous path or the new one, with
// hops 6 (alternate) or 5 and exactly changes changes, and every target
// shows the new one within two intervals plus the timeout and a second,
// and keeps it for four more intervals. The new path's hash must be hash
// when given. It returns the new path.
func watchSwitch(t *testing.T, e *exporter, tp *topo, targets []target, alternate bool, changes float64, hash map[string]float64) steady {
	t.Helper()
	prevHops, next := 6.0, newSteady(5)
	if alternate {
		prevHops, next.hops = 5, 6
	}
	prev := steadyFrom(t, e.scrape(), targets, prevHops)
	tp.switchPath(alternate)
	switched := time.Now()
	seen := map[string]time.Duration{}
	observe(t, e, 2*time.Second+500*time.Millisecond+time.Second+4*time.Second, targets, func(m metrics, tg target, _ time.Duration) []finding {
		c, _ := m.get("traceroute_path_changes_total", tg.labels())
		h, _ := m.get("traceroute_path_hash", tg.labels())
		at := time.Since(switched)
		if _, ok := seen[tg.name]; !ok && c == changes-1 {
			if at > 3500*time.Millisecond {
				return []finding{{"new path", fmt.Sprintf("not seen %s after the switch", at.Round(time.Millisecond))}}
			}
			return concat(expect(m, "traceroute_hops", tg.labels(), prev.hops),
				expect(m, "traceroute_path_hash", tg.labels(), prev.hash[tg.name]),
				hopInfo(m, tg, prev.hops, false))
		}
		if _, ok := seen[tg.name]; !ok {
			seen[tg.name] = at
			t.Logf("%s: new path seen %s after the switch", tg.name, at.Round(time.Millisecond))
			next.hash[tg.name] = h
			if hash != nil {
				next.hash[tg.name] = hash[tg.name]
			}
		}
		return concat(expect(m, "traceroute_path_changes_total", tg.labels(), changes),
			expect(m, "traceroute_hops", tg.labels(), next.hops),
			expect(m, "traceroute_path_hash", tg.labels(), next.hash[tg.name]),
			hopInfo(m, tg, next.hops, at-seen[tg.name] > 2*time.Second))
	})
	return next
}

// stop stops the exporter and returns its log (safe to read only once the
// process has exited).
func (e *exporter) stop() string {
	e.stopProcess()
	return e.log.String()
}

// countLogLines counts the lines of log that contain every one of the
// logfmt fields (key=value, compared whole).
func countLogLines(log string, fields ...string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		ok := true
		for _, f := range fields {
			i := strings.Index(line+" ", f+" ")
			ok = ok && i >= 0 && (i == 0 || line[i-1] == ' ')
		}
		if ok {
			n++
		}
	}
	return n
}

func TestTruthDNSRotation(t *testing.T) {
	requireLab(t)
	if out, _ := exec.Command(binary, "--help").CombinedOutput(); !strings.Contains(string(out), "--dns.refresh-interval") {
		t.Skipf("%s has no --dns.refresh-interval flag", binary)
	}
	names := []target{{"rot4", "rotating4.test", false}, {"rot6", "rotating6.test", true}}
	a, b := map[bool]string{false: anyIP(false, 201), true: anyIP(true, 201)}, map[bool]string{false: anyIP(false, 202), true: anyIP(true, 202)}
	tp := newTruthTopo(t, names, a[false], b[false], a[true], b[true])
	hosts := newHostsFile(t, tp.name("src"))
	// order writes the hosts file listing, for each name, the address of
	// first and then that of second (unless nil).
	order := func(first, second map[bool]string) {
		var lines []string
		for _, tg := range names {
			lines = append(lines, first[tg.v6]+" "+tg.host)
			if second != nil {
				lines = append(lines, second[tg.v6]+" "+tg.host)
			}
		}
		hosts.write(lines...)
	}
	order(a, b)
	busyCPU(t)
	e := startExporter(t, tp.name("src"), 10188, truthConfig(names), "--dns.refresh-interval=1s")
	waitHops(t, e, names, 5)
	// While both addresses are answered in either order, the current (the
	// first one) is kept: no change of any kind.
	rotated := false
	stopRotating := rotate(2*time.Second, func() {
		if rotated = !rotated; rotated {
			order(b, a)
		} else {
			order(a, b)
		}
	})
	observe(t, e, 12*time.Second, names, func(m metrics, tg target, _ time.Duration) []finding {
		return concat(expect(m, "traceroute_path_changes_total", tg.labels(), 0),
			expect(m, "traceroute_target_address_changes_total", tg.labels(), 0),
			expect(m, "traceroute_hops", tg.labels(), 5),
			addressInfo(m, tg, a[tg.v6]))
	})
	stopRotating()
	// The current address gone from the answers: exactly one address
	// change, to the other address, within Go's 5s hosts file cache, the
	// refresh, two intervals and a second; still no path change.
	order(b, nil)
	changed := map[string]time.Duration{}
	observe(t, e, 9*time.Second+4*time.Second, names, func(m metrics, tg target, at time.Duration) []finding {
		fs := expect(m, "traceroute_path_changes_total", tg.labels(), 0)
		if v, _ := m.get("traceroute_target_address_changes_total", tg.labels()); v == 0 && at <= 9*time.Second {
			return concat(fs, addressInfo(m, tg, a[tg.v6]))
		}
		if _, ok := changed[tg.name]; !ok {
			changed[tg.name] = at
			t.Logf("%s: address change seen %s after the hosts file dropped %s", tg.name, at.Round(time.Millisecond), a[tg.v6])
		}
		fs = concat(fs, expect(m, "traceroute_target_address_changes_total", tg.labels(), 1), addressInfo(m, tg, b[tg.v6]))
		// The new address's path is measured afresh in its first interval
		// (an interval and its timeout; 3s leaves room for a loaded host:
		// with a load average of 8.7 on 2 cores one scrape at 2s still
		// had none).
		if at-changed[tg.name] > 3*time.Second {
			fs = concat(fs, expect(m, "traceroute_hops", tg.labels(), 5))
		}
		return fs
	})
}

// rotate calls fn every period until the returned stop is called; stop
// returns once fn no longer runs.
func rotate(period time.Duration, fn func()) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				fn()
			}
		}
	}()
	return func() { close(quit); <-done }
}

func TestTruthReloadStopsRemovedTargets(t *testing.T) {
	requireLab(t)
	testenv.Tool(t, "tcpdump")
	kept := append(dstTargets(), anyIPTargets(0, 10, 0)...)
	removed := anyIPTargets(10, 10, 10)
	all := append(append([]target(nil), kept...), removed...)
	tp := newTruthTopo(t, all)
	busyCPU(t)
	e := startExporter(t, tp.name("src"), 10188, truthConfig(all))
	waitHops(t, e, all, 5)
	capture := startCapture(t, tp.name("src"), "(icmp and icmp[icmptype] == icmp-echo) or (icmp6 and ip6[40] == 128)")
	if err := os.WriteFile(e.config, []byte(truthConfig(kept)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := e.post("/-/reload")
	answered := time.Now()
	if code != 200 {
		t.Fatalf("reload: %d %q", code, body)
	}
	lines := capture.window(answered, 3*time.Second)
	probes := map[string]int{}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 {
			for i, w := range f[:len(f)-1] {
				if w == ">" {
					probes[strings.TrimSuffix(f[i+1], ":")]++
				}
			}
		}
	}
	n, late := 0, []string{}
	for _, tg := range removed {
		if probes[tg.host] > 0 {
			n += probes[tg.host]
			late = append(late, fmt.Sprintf("%s:%d", tg.host, probes[tg.host]))
		}
	}
	if n != 0 {
		t.Errorf("%d echo requests to the %d removed targets in the 3s after /-/reload answered (address:count %v)", n, len(removed), late)
	}
	for _, tg := range kept {
		if probes[tg.host] == 0 {
			t.Errorf("%s: no echo request captured in 3s: the capture does not work", tg.name)
		}
	}
}

// rttTolerance is how far the exporter's mean RTT may be from ping's over
// the same window (issue 6), once the network's difference between the two
// tools' packets is taken out: |(exporter - its wire) - (ping - its wire)|.
// wireTolerance is how far it may be from the wire mean of its own probes.
//
// The raw difference of the two means is logged but not asserted: through
// the TUN delay helper on this VM, whose timer wake-ups are late by 0.08 ms
// typically and 1.8 ms at the 99th percentile with pauses of 15 ms and
// more, the means of two sets of 100 to 200 different packets differ by up
// to 0.35 ms for a perfect prober (measured: ping vs ping's wire within
// 0.06 ms, exporter vs its wire within 0.02 ms, yet exporter vs ping
// -0.36 ms in one window). Both checks fail the 0.8 ms bias of
// round-scheduled send times and user-space receive stamps that the issue
// found, in any window. On a quiet machine the exporter is within 0.02ms
// of its wire; with other work keeping 2 cores at a load average of 8 to
// 11 it once read 0.097ms above it: a probe is stamped just before its
// send system call, and a thread preempted between the two adds the
// pause to that probe's RTT (the kernel's transmit timestamps,
// SO_TIMESTAMPING, would not).
const (
	rttTolerance  = 0.15e-3
	wireTolerance = 0.1e-3
)

func TestTruthRTT(t *testing.T) {
	requireLab(t)
	testenv.Tool(t, "tcpdump")
	targets := dstTargets()
	tp := newTruthTopo(t, targets)
	tp.delayDst(15 * time.Millisecond)
	warmUp(t, tp)
	e := startExporter(t, tp.name("src"), 10188, truthConfig(targets))
	waitHops(t, e, targets, 5)
	for _, busy := range []bool{false, true} {
		name := map[bool]string{false: "idle CPU", true: "busy CPU"}[busy]
		t.Run(name, func(t *testing.T) {
			if busy {
				busyCPU(t)
			}
			res := compareRTT(t, tp, e, targets, 20*time.Second, 5, 500*time.Millisecond)
			for _, tg := range targets {
				w := res[tg.name]
				t.Logf("%s: mean RTT over %d intervals: exporter %.3fms (its probes on the wire %.3fms, %d answered after the timeout left out), ping %.3fms (its packets on the wire %.3fms); raw difference %+.3fms, of which the network's %+.3fms",
					tg.name, w.n, w.trx*1e3, w.trxWire*1e3, w.late, w.ping*1e3, w.pingWire*1e3, (w.trx-w.ping)*1e3, (w.trxWire-w.pingWire)*1e3)
				if d := w.trx - w.trxWire; math.Abs(d) > wireTolerance {
					t.Errorf("%s: mean RTT %.3fms, the wire's for the same probes %.3fms: %+.3fms, want within %.2fms", tg.name, w.trx*1e3, w.trxWire*1e3, d*1e3, wireTolerance*1e3)
				}
				if d := (w.trx - w.trxWire) - (w.ping - w.pingWire); math.Abs(d) > rttTolerance {
					t.Errorf("%s: mean RTT %.3fms, ping's %.3fms over the same window, %+.3fms of it the network's: %+.3fms, want within %.2fms",
						tg.name, w.trx*1e3, w.ping*1e3, (w.trxWire-w.pingWire)*1e3, d*1e3, rttTolerance*1e3)
				}
			}
		})
	}
}
