package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The flood test (issue "Hardening"): unsolicited ICMP at the exporter's
// host, written by r1 straight onto its link to src (sendmmsg on a packet
// socket), TRX_FLOOD_PPS packets a second (default 100,000) for
// TRX_FLOOD_SECONDS (default 15; the minute is
// TRX_FLOOD_SECONDS=60), then for 3s as fast as r1 can send (300,000 to
// 475,000 a second on a 2-core test machine: more than the exporter reads,
// about 200,000). Echo Replies, Time Exceeded and Destination Unreachable
// from addresses no target has, quoting datagrams to addresses no target
// has, half IPv4 and half IPv6: every one reaches the exporter's sockets
// and answers nothing. Throughout, the exporter must keep its resident
// memory under floodRSSLimit, keep tracing (its intervals ending on time
// with no path change, and at the asked rate every destination reached),
// answer every scrape within a second, and account for the flood: what it
// did not read (as unmatched or malformed), its sockets dropped and it
// counted.

// floodRSSLimit bounds the exporter's resident memory (VmRSS) under the
// flood, with the six targets of floodConfig. It has about 20 MiB before
// and 24 to 26 MiB during the flood, at any rate: the flood costs CPU,
// never memory (a reply is decoded into a reused buffer and the queue to
// the probing loop is bounded); the limit leaves room for the Go heap's
// growth between collections on another machine.
const floodRSSLimit = 64 << 20

const floodConfig = `
defaults:
  interval: 1s
  probes: 5
  timeout: 500ms
  max_hops: 10
targets:
  - {name: icmp4, host: 198.18.7.2}
  - {name: icmp6, host: "2001:db8:7::2"}
  - {name: udp4, host: 198.18.7.2, protocol: udp}
  - {name: udp6, host: "2001:db8:7::2", protocol: udp}
  - {name: tcp4, host: 198.18.7.2, protocol: tcp}
  - {name: tcp6, host: "2001:db8:7::2", protocol: tcp}
`

var floodTargets = []string{"icmp4", "icmp6", "udp4", "udp6", "tcp4", "tcp6"}

// envInt reads a positive integer knob from the environment.
func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

func TestFloodOfUnsolicitedICMP(t *testing.T) {
	requireLab(t)
	seconds := envInt(t, "TRX_FLOOD_SECONDS", 15)
	pps := envInt(t, "TRX_FLOOD_PPS", 100000)
	tp := newTopo(t, false)
	warmUp(t, tp)
	e := startExporter(t, tp.name("src"), 10188, floodConfig)
	e.waitFor(20*time.Second, "every target traced with 5 hops", func(m metrics) bool {
		for _, name := range floodTargets {
			if v, _ := m.get("traceroute_hops", map[string]string{"target": name}); v != 5 {
				return false
			}
		}
		return true
	})
	// `ip netns exec` execs the binary: the process started is the
	// exporter.
	pid := e.cmd.Process.Pid
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || !strings.HasSuffix(exe, "/"+binaryName()) {
		t.Fatalf("process %d is %q (%v), not the exporter", pid, exe, err)
	}
	time.Sleep(2 * interval)
	t.Logf("VmRSS before the flood: %d kB", mustStatus(t, pid, "VmRSS"))
	fl := &flooder{w: openWire(tp.lab, "r1", "to-src", "src", "to-r1", false)}
	fl.b = fl.w.newBatch(floodPackets(1024))

	t.Run(fmt.Sprintf("%d a second for %ds", pps, seconds), func(t *testing.T) {
		r := watchFlood(t, e, pid, fl, pps, time.Duration(seconds)*time.Second)
		r.check(t, true)
		if r.rate < 0.5*float64(pps) {
			t.Errorf("the flood reached only %.0f of the %d packets a second asked", r.rate, pps)
		}
	})
	// Then as fast as r1 can send, beyond what the exporter reads: its
	// sockets overflow. Replies to probes are dropped with the flood, so
	// the destination may go unanswered for an interval; every other
	// rule holds.
	t.Run("overload for 3s", func(t *testing.T) {
		r := watchFlood(t, e, pid, fl, 0, 3*time.Second)
		r.check(t, false)
		if r.drops == 0 {
			t.Logf("the exporter's sockets reported no drops")
		}
	})
	// The peak between samples too.
	if hwm := mustStatus(t, pid, "VmHWM"); hwm*1024 > floodRSSLimit {
		t.Errorf("VmHWM %d kB: the exporter's resident memory went above %d kB", hwm, floodRSSLimit>>10)
	} else {
		t.Logf("VmHWM (peak VmRSS since start): %d kB, limit %d kB", hwm, floodRSSLimit>>10)
	}
}

// flooder sends the same unsolicited packets over and over from r1.
type flooder struct {
	w *wire
	b *batch
}

// run sends for d at pps packets a second (0: as fast as it can), at
// most pps*d, and returns how many it sent and for how long.
func (fl *flooder) run(pps int, d time.Duration) (int64, time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	limit := int64(pps) * int64(d/time.Second)
	if pps == 0 {
		limit = int64(d/time.Second) * 5_000_000
	}
	var sent int64
	next := 0
	for {
		el := time.Since(start)
		if el >= d || sent >= limit {
			return sent, el
		}
		due := limit - sent
		if pps != 0 {
			due = min(int64(el.Seconds()*float64(pps)), limit) - sent
		}
		if due <= 0 {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		n := int(min(due, 64, int64(len(fl.b.frames)-next)))
		m, err := fl.w.sendBatch(fl.b, next, n)
		sent += int64(m)
		if next = (next + m) % len(fl.b.frames); err != nil {
			time.Sleep(100 * time.Microsecond) // ENOBUFS: the device is busy
		}
	}
}

// floodReport is what watchFlood saw.
type floodReport struct {
	sent                                int64
	rate                                float64
	unmatched, drops, malformed, probes float64
	softnet                             int64
	scrapes                             []time.Duration
	rssPeak                             int
	findings                            map[string][]string
}

// watchFlood floods for d at pps (0: as fast as it can) and, every 250ms
// from its start to two intervals after its end, times a scrape, reads
// the exporter's VmRSS and checks that every target is traced.
func watchFlood(t *testing.T, e *exporter, pid int, fl *flooder, pps int, d time.Duration) floodReport {
	r := floodReport{findings: map[string][]string{}}
	note := func(kind, what string) { r.findings[kind] = append(r.findings[kind], what) }
	before := e.scrape()
	softnetBefore := softnetDrops(t)
	type result struct {
		n    int64
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		n, took := fl.run(pps, d)
		done <- result{n, took}
	}()
	var stoppedAt time.Time
	start := time.Now()
	for stoppedAt.IsZero() || time.Since(stoppedAt) < 2*interval {
		select {
		case res := <-done:
			stoppedAt = time.Now()
			r.sent, r.rate = res.n, float64(res.n)/res.took.Seconds()
		case <-e.done:
			t.Fatalf("the exporter exited during the flood")
		case <-time.After(250 * time.Millisecond):
		}
		at := time.Since(start).Seconds()
		t0 := time.Now()
		m := e.scrape()
		took := time.Since(t0)
		r.scrapes = append(r.scrapes, took)
		if took > time.Second {
			note("scrape time", fmt.Sprintf("at %.1fs: %s", at, took.Round(time.Millisecond)))
		}
		if kb, err := procStatus(pid, "VmRSS"); err == nil {
			r.rssPeak = max(r.rssPeak, kb)
			if kb*1024 > floodRSSLimit {
				note("VmRSS", fmt.Sprintf("at %.1fs: %d kB", at, kb))
			}
		}
		now := float64(time.Now().UnixNano()) / 1e9
		for _, name := range floodTargets {
			l := map[string]string{"target": name}
			if v, _ := m.get("traceroute_destination_reached", l); v != 1 {
				note(name+": destination_reached", fmt.Sprintf("at %.1fs: %v", at, v))
			}
			// An interval ends every second, its results a timeout
			// later: the last one is never older than 2.5s.
			if v, _ := m.get("traceroute_last_run_timestamp_seconds", l); now-v > 2.5 {
				note(name+": last_run_timestamp_seconds", fmt.Sprintf("at %.1fs: %.1fs old", at, now-v))
			}
			if v, _ := m.get("traceroute_path_changes_total", l); v != 0 {
				note(name+": path_changes_total", fmt.Sprintf("at %.1fs: %v", at, v))
			}
		}
	}
	after := e.scrape()
	r.softnet = softnetDrops(t) - softnetBefore
	delta := func(name string, l map[string]string) float64 {
		return after.value(t, name, l) - before.value(t, name, l)
	}
	r.unmatched = delta("traceroute_exporter_unmatched_replies_total", nil)
	r.drops = delta("traceroute_exporter_socket_drops_total", nil)
	r.malformed = delta("traceroute_exporter_malformed_packets_total", nil)
	for _, name := range floodTargets {
		r.probes += delta("traceroute_probes_sent_total", map[string]string{"target": name})
	}
	sort.Slice(r.scrapes, func(i, j int) bool { return r.scrapes[i] < r.scrapes[j] })
	t.Logf("flood: %d packets: %.0f a second (asked: %d; 0 is as fast as possible)", r.sent, r.rate, pps)
	t.Logf("exporter: unmatched +%v, socket drops +%v, malformed +%v: %.1f%% of the flood; %v probes sent; host backlog drops %d",
		r.unmatched, r.drops, r.malformed, 100*(r.unmatched+r.drops+r.malformed)/float64(r.sent), r.probes, r.softnet)
	t.Logf("VmRSS peak %d kB (limit %d kB); %d scrapes: median %s, max %s", r.rssPeak, floodRSSLimit>>10,
		len(r.scrapes), r.scrapes[len(r.scrapes)/2].Round(time.Microsecond), r.scrapes[len(r.scrapes)-1].Round(time.Microsecond))
	return r
}

// check fails the test for what the report shows wrong; reached says
// whether every scrape must show every destination reached.
func (r floodReport) check(t *testing.T, reached bool) {
	t.Helper()
	kinds := make([]string, 0, len(r.findings))
	for k := range r.findings {
		if reached || !strings.HasSuffix(k, ": destination_reached") {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		f := r.findings[k]
		t.Errorf("%s: wrong in %d scrapes; first %s; last %s", k, len(f), f[0], f[len(f)-1])
	}
	if !reached {
		for _, name := range floodTargets {
			if f := r.findings[name+": destination_reached"]; len(f) > 0 {
				t.Logf("%s: destination not reached in %d scrapes (its replies dropped with the flood)", name, len(f))
			}
		}
	}
	// Every packet of the flood reaches a socket of the exporter, which
	// reads it (unmatched or malformed) or drops it (counted), unless the
	// host's backlog dropped it first. A full socket drops the replies to
	// probes too: at most one a probe.
	n := float64(r.sent)
	if got := r.unmatched + r.drops + r.malformed; got < 0.9*(n-float64(r.softnet)) || got > n+r.probes {
		t.Errorf("unmatched + socket drops + malformed grew by %v for %v packets (%d dropped by the host's backlog, %v probes sent): want 90%% to 100%% of them", got, n, r.softnet, r.probes)
	}
	if r.sent == 0 {
		t.Errorf("no packet sent: the flood did not happen")
	}
}

// binaryName is the exporter's file name.
func binaryName() string {
	return binary[strings.LastIndex(binary, "/")+1:]
}

func mustStatus(t *testing.T, pid int, field string) int {
	t.Helper()
	kb, err := procStatus(pid, field)
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

// softnetDrops is the number of packets the host's CPUs dropped because
// their input backlog was full (the second column of
// /proc/net/softnet_stat, summed).
func softnetDrops(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseInt(f[1], 16, 64)
		if err != nil {
			t.Fatalf("/proc/net/softnet_stat: %q", line)
		}
		n += v
	}
	return n
}

// floodPackets returns n unsolicited ICMP packets to src: Echo Replies,
// Time Exceeded quoting an Echo Request or a UDP datagram, and Port
// Unreachable quoting a UDP datagram, alternately IPv4 and IPv6, from
// addresses in link 200 and about datagrams to addresses in link 201
// (no node has either).
func floodPackets(n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	pkts := make([][]byte, n)
	for i := range pkts {
		v6 := i%2 == 1
		from, to := netip.MustParseAddr(floodAddr(v6, 200, 1+r.IntN(250))), netip.MustParseAddr(hostAddr(v6))
		quotedDst := netip.MustParseAddr(floodAddr(v6, 201, 1+r.IntN(250)))
		id, seq := uint16(r.Uint32()), uint16(r.Uint32())
		echo := icmpPacket(to, quotedDst, icmpEchoRequest, icmpType{}, uint32(id)<<16|uint32(seq), []byte("trxflood"))
		udp := ipPacket(to, quotedDst, ipUDP, []byte{byte(id >> 8), byte(id), 0x82, 0x9a, 0, 16, byte(seq >> 8), byte(seq), 't', 'r', 'x', 'f', 'l', 'o', 'o', 'd'})
		switch i / 2 % 4 {
		case 0:
			pkts[i] = icmpPacket(from, to, icmpEchoReply, icmpType{}, uint32(id)<<16|uint32(seq), []byte("trxflood"))
		case 1:
			pkts[i] = icmpPacket(from, to, icmpTimeExceeded, icmpType{}, 0, echo)
		case 2:
			pkts[i] = icmpPacket(from, to, icmpTimeExceeded, icmpType{}, 0, udp)
		case 3:
			pkts[i] = icmpPacket(from, to, icmpUnreachable, codePortUnreachable, 0, udp)
		}
	}
	return pkts
}

// floodAddr is address i of link n (198.18.n.i, 2001:db8:n::i).
func floodAddr(v6 bool, n, i int) string {
	if v6 {
		return fmt.Sprintf("2001:db8:%d::%x", n, i)
	}
	return fmt.Sprintf("198.18.%d.%d", n, i)
}
