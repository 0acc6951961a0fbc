package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// protoTargets are the UDP and TCP targets of the protocol tests: UDP to
// the classic port, TCP to a closed port (the destination answers RST)
// and to a port with a listener (SYN-ACK), over both families.
var protoTargets = []struct {
	name, host, proto string
	port              int
	v6                bool
}{
	{"udp4", "198.18.7.2", "udp", 33434, false},
	{"udp6", "2001:db8:7::2", "udp", 33434, true},
	{"tcp4", "198.18.7.2", "tcp", 443, false},
	{"tcp6", "2001:db8:7::2", "tcp", 443, true},
	{"tcp4-open", "198.18.7.2", "tcp", 8443, false},
	{"tcp6-open", "2001:db8:7::2", "tcp", 8443, true},
}

func protoConfig() string {
	var b strings.Builder
	b.WriteString("defaults:\n  interval: 1s\n  probes: 5\n  timeout: 500ms\n  max_hops: 10\ntargets:\n")
	for _, tg := range protoTargets {
		fmt.Fprintf(&b, "  - {name: %s, host: %q, protocol: %s, port: %d}\n", tg.name, tg.host, tg.proto, tg.port)
	}
	return b.String()
}

// kernelTrace runs the kernel's traceroute with the given method flags
// from src and returns the set of addresses seen at each hop.
func kernelTrace(t *testing.T, tp *topo, v6 bool, dst string, flags ...string) [][]string {
	args := append([]string{"traceroute", "-n", "-q", "3", "-w", "1", "-m", "10"}, flags...)
	if v6 {
		args = append(args, "-6")
	}
	out := tp.in("src", append(args, dst)...)
	var hops [][]string
	for _, line := range strings.Split(out, "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var set []string
		for _, f := range fields[1:] {
			if net.ParseIP(f) != nil && !contains(set, f) {
				set = append(set, f)
			}
		}
		hops = append(hops, set)
	}
	return hops
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// TestUDPAndTCPTracing: both protocols over both families trace the same
// hops as the kernel's traceroute -U / -T, a single Paris flow shows no
// change through the 5-tuple ECMP point at r2 while each target's probes
// keep one 5-tuple, TCP reaches a closed port (RST) and an open one
// (SYN-ACK) without a connection ever being established, and a route
// switch is exactly one change.
func TestUDPAndTCPTracing(t *testing.T) {
	requireLab(t)
	tp := newTopo(t, false)
	warmUp(t, tp)
	// A listener on the open port; nothing must ever be accepted.
	var lns []net.Listener
	for _, a := range []string{"198.18.7.2:8443", "[2001:db8:7::2]:8443"} {
		ln, err := listen(tp.name("dst"), a)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		lns = append(lns, ln)
	}
	accepted := make(chan string, 16)
	for _, ln := range lns {
		go func(ln net.Listener) {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c.RemoteAddr().String()
				c.Close()
			}
		}(ln)
	}
	capture := startCapture(t, tp.name("src"), "(udp or tcp) and (src host 198.18.1.1 or src host 2001:db8:1::1)")
	e := startExporter(t, tp.name("src"), 10188, protoConfig())
	e.waitFor(20*time.Second, "every UDP and TCP target reached in 5 hops", func(m metrics) bool {
		for _, tg := range protoTargets {
			if v, _ := m.get("traceroute_hops", map[string]string{"target": tg.name}); v != 5 {
				return false
			}
			if v, _ := m.get("traceroute_destination_reached", map[string]string{"target": tg.name}); v != 1 {
				return false
			}
		}
		return true
	})

	t.Run("hops match the kernel's traceroute", func(t *testing.T) {
		m := e.scrape()
		for _, tg := range protoTargets {
			flag := "-U"
			if tg.proto == "tcp" {
				flag = "-T"
			}
			kernel := kernelTrace(t, tp, tg.v6, tg.host, flag, "-p", fmt.Sprint(tg.port))
			ips := m.hopIPs(tg.name)
			if len(kernel) != 5 {
				t.Fatalf("%s: kernel traceroute %s saw %d hops: %v", tg.name, flag, len(kernel), kernel)
			}
			// Behind the ECMP point at r2 each 5-tuple takes one branch,
			// and the kernel's traceroute uses another source port than
			// the exporter: there, both must be on one of the branches.
			branches := map[string]bool{}
			for _, b := range []int{3, 5} {
				for _, l := range primaryLinks(tg.v6, b) {
					branches[addr(tg.v6, l)] = true
				}
			}
			for i, set := range kernel {
				got := ips[i+1]
				if len(got) != 1 {
					t.Fatalf("%s hop %d: responders %v, want exactly one (a Paris flow)", tg.name, i+1, got)
				}
				if contains(set, got[0]) {
					continue
				}
				if i+1 < 3 || !branches[got[0]] || len(set) == 0 || !branches[set[0]] {
					t.Errorf("%s hop %d: exporter %v, kernel traceroute %s %v", tg.name, i+1, got, flag, set)
				}
			}
		}
	})

	t.Run("one flow, no change through 5-tuple ECMP", func(t *testing.T) {
		start := time.Now()
		first := e.scrape()
		for time.Since(start) < 6*time.Second {
			m := e.scrape()
			for _, tg := range protoTargets {
				l := map[string]string{"target": tg.name}
				if v := m.value(t, "traceroute_path_changes_total", l); v != 0 {
					t.Fatalf("%s: %v path changes in a steady network", tg.name, v)
				}
				if a, b := first.value(t, "traceroute_path_hash", l), m.value(t, "traceroute_path_hash", l); a != b {
					t.Fatalf("%s: path hash moved", tg.name)
				}
			}
			time.Sleep(400 * time.Millisecond)
		}
		// Each target's probes in the capture keep one 5-tuple.
		flows := map[string]map[string]bool{}
		for _, line := range capture.window(start, 6*time.Second) {
			if !strings.Contains(line, "UDP") && !strings.Contains(line, "Flags [S],") {
				continue // the host's RSTs answering SYN-ACKs
			}
			f := strings.Fields(line)
			for i := 0; i+3 < len(f); i++ {
				if f[i] == "IP" || f[i] == "IP6" {
					src, dst := f[i+1], strings.TrimSuffix(f[i+3], ":")
					proto := "tcp"
					if strings.Contains(line, "UDP") {
						proto = "udp"
					}
					port := dst[strings.LastIndex(dst, ".")+1:]
					if flows[proto+port] == nil {
						flows[proto+port] = map[string]bool{}
					}
					flows[proto+port][src+">"+dst] = true
					break
				}
			}
		}
		for k, set := range flows {
			if len(set) != 2 { // one IPv4 and one IPv6 flow per protocol and port
				t.Errorf("%s: %d distinct 5-tuples in the capture, want 2 (one per family): %v", k, len(set), set)
			}
		}
		if len(flows) != 3 {
			t.Errorf("captured flows %v, want UDP 33434, TCP 443 and TCP 8443", flows)
		}
	})

	t.Run("no connection is established", func(t *testing.T) {
		select {
		case a := <-accepted:
			t.Fatalf("the listener accepted a connection from %s", a)
		default:
		}
	})

	t.Run("route switch is one change", func(t *testing.T) {
		tp.useAlternate()
		e.waitFor(4*time.Second, "the new 6-hop path on every target", func(m metrics) bool {
			for _, tg := range protoTargets {
				if v, _ := m.get("traceroute_hops", map[string]string{"target": tg.name}); v != 6 {
					return false
				}
			}
			return true
		})
		time.Sleep(3 * time.Second)
		m := e.scrape()
		for _, tg := range protoTargets {
			if v := m.value(t, "traceroute_path_changes_total", map[string]string{"target": tg.name}); v != 1 {
				t.Errorf("%s: %v changes after one switch, want 1", tg.name, v)
			}
		}
	})
}
