package e2e

import (
	"bufio"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tundelay is the delay helper (./tundelay) built by TestMain.
var tundelay string

// delayDev is the TUN device of the delay helper in r4.
const delayDev = "trxdly"

// delayDst delays every packet r4 forwards to or from dst by d (so the
// round trip through r4's link to dst grows by 2d): a tundelay helper in r4
// holds a TUN device, and policy routing by incoming interface sends what
// arrives from the source side or from dst into it. What the helper writes
// back arrives on the TUN device, which no rule names, and is forwarded by
// the main table. The helper is killed by its process id at cleanup, which
// removes the device.
func (tp *topo) delayDst(d time.Duration) {
	t := tp.t
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", tp.name("r4"), tundelay, "--dev", delayDev, "--delay", d.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ready <- sc.Scan() && sc.Text() == "ready"
		for sc.Scan() {
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("tundelay did not start: %s", stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tundelay not ready after 10s")
	}
	tp.in("r4", "ip", "link", "set", delayDev, "up")
	for _, fam := range []string{"-4", "-6"} {
		tp.in("r4", "ip", fam, "route", "add", "default", "dev", delayDev, "table", "200")
		for _, iif := range []string{"to-r3a", "to-r3b", "to-r6", "to-dst"} {
			tp.in("r4", "ip", fam, "rule", "add", "iif", iif, "table", "200")
		}
	}
}

// rttWindow is what one window of compareRTT measured for a target, in
// seconds: ping's mean RTT and the wire mean of ping's own packets, and
// the mean of the exporter's per-interval destination RTTs and the wire
// mean of the same probes (those at the destination's TTL, interval by
// interval), over n intervals.
type rttWindow struct {
	ping, pingWire, trx, trxWire float64
	n                            int
	// late counts the exporter's probes answered on the wire after the
	// timeout, left out of its wire mean.
	late int
}

// pingID is the ICMP identifier compareRTT's pings use (-e), so their
// packets are told apart from the exporter's on the wire.
const pingID = 4242

// compareRTT pings every target from src every 0.2s for d while scraping
// and capturing the source's echoes with tcpdump, and returns per target
// what the window measured. The exporter's intervals are those that ended
// within the window after its first second; hops is the destination's TTL
// and timeout the targets' probe timeout.
func compareRTT(t *testing.T, tp *topo, e *exporter, targets []target, d time.Duration, hops int, timeout time.Duration) map[string]rttWindow {
	count := fmt.Sprint(int(d / (200 * time.Millisecond)))
	capture := startCapture(t, tp.name("src"), "(icmp and (icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply)) or (icmp6 and (ip6[40] == 128 or ip6[40] == 129))",
		"-v", "--time-stamp-precision=nano", "-B", "4096")
	outs := make([]chan string, len(targets))
	start := time.Now()
	for i, tg := range targets {
		args := []string{"ip", "netns", "exec", tp.name("src"), "ping", "-q", "-n", "-e", fmt.Sprint(pingID), "-i", "0.2", "-c", count, tg.host}
		if tg.v6 {
			args = append(args, "-6")
		}
		outs[i] = make(chan string, 1)
		go func(c chan string) {
			out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
			if err != nil {
				out = append(out, "\nerror: "+err.Error()...)
			}
			c <- string(out)
		}(outs[i])
	}
	// Per target and interval end: the destination RTT and the share of
	// the destination's probes answered (the interval's weight).
	rtts := map[string]map[float64][2]float64{}
	ends := map[string][]float64{}
	for time.Since(start) < d+time.Second {
		m := e.scrape()
		for _, tg := range targets {
			end, ok1 := m.get("traceroute_last_run_timestamp_seconds", tg.labels())
			rtt, ok2 := m.get("traceroute_destination_rtt_seconds", tg.labels())
			from, to := float64(start.Add(time.Second).UnixNano())/1e9, float64(start.Add(d).UnixNano())/1e9
			if rtts[tg.name] == nil {
				rtts[tg.name] = map[float64][2]float64{}
			}
			if es := ends[tg.name]; ok1 && (len(es) == 0 || es[len(es)-1] != end) {
				ends[tg.name] = append(es, end)
			}
			if ok1 && ok2 && end >= from && end <= to {
				loss, _ := m.get("traceroute_destination_loss_ratio", tg.labels())
				rtts[tg.name][end] = [2]float64{rtt, 1 - loss}
			}
		}
		time.Sleep(scrapeEvery)
	}
	avg := regexp.MustCompile(`= [0-9.]+/([0-9.]+)/`)
	pings := make([]string, len(targets))
	for i := range targets {
		pings[i] = <-outs[i]
	}
	capture.close()
	capture.mu.Lock()
	wire := echoes(capture.lines)
	capture.mu.Unlock()
	res := map[string]rttWindow{}
	for i, tg := range targets {
		var w rttWindow
		out := pings[i]
		sub := avg.FindStringSubmatch(out)
		if sub == nil || !strings.Contains(out, " 0% packet loss") {
			t.Fatalf("ping %s: no mean RTT without loss:\n%s", tg.host, out)
		}
		ms, _ := strconv.ParseFloat(sub[1], 64)
		w.ping = ms / 1e3
		var mine, theirs []echo
		for _, ec := range wire {
			if ec.v6 != tg.v6 || ec.dst != tg.host {
				continue
			}
			if ec.id == pingID {
				mine = append(mine, ec)
			} else if ec.ttl == hops {
				// A reply later than the timeout is a late reply to the
				// exporter, never an RTT (issue 6): on the wire too.
				if ec.recv > 0 && ec.rtt() > timeout.Seconds() {
					w.late++
					ec.recv = 0
				}
				theirs = append(theirs, ec)
			}
		}
		// tcpdump on a loaded host may miss a packet now and then; the
		// wire mean is then over the pairs it saw.
		var n int
		if w.pingWire, n = wireMean(mine); n < int(d/(200*time.Millisecond))-3 {
			t.Fatalf("%s: the capture has %d of ping's echo requests and %d replies, want (nearly) all %s: tcpdump missed packets", tg.name, len(mine), n, count)
		}
		if len(rtts[tg.name]) < int(d/time.Second)-3 {
			t.Fatalf("%s: RTTs of only %d intervals in %s", tg.name, len(rtts[tg.name]), d)
		}
		// The exporter's mean over the window is the mean of its
		// intervals' means weighted by their answers; on the wire, the
		// mean of the same probes: those sent after the end of the
		// interval before the window's first and up to the end of its
		// last. (Which interval a probe near a boundary inside the window
		// belongs to does not matter for the whole window's mean.)
		first, last := math.Inf(1), math.Inf(-1)
		weight := 0.0
		for end, v := range rtts[tg.name] {
			first, last = math.Min(first, end), math.Max(last, end)
			w.trx += v[0] * v[1]
			weight += v[1]
			w.n++
		}
		w.trx /= weight
		prev := math.Inf(-1)
		for _, end := range ends[tg.name] {
			if end < first {
				prev = math.Max(prev, end)
			}
		}
		if math.IsInf(prev, -1) {
			t.Fatalf("%s: no interval seen ending before the window's first (%.3f)", tg.name, first)
		}
		var used []echo
		for _, ec := range theirs {
			if ec.sent > prev && ec.sent <= last {
				used = append(used, ec)
			}
		}
		var k int
		if w.trxWire, k = wireMean(used); k == 0 {
			t.Fatalf("%s: no answered probe at TTL %d in the capture between %.3f and %.3f", tg.name, hops, prev, last)
		}
		res[tg.name] = w
	}
	return res
}
