package e2e

import (
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// trafficGen sends UDP datagrams from a namespace to destinations at
// per-destination rates until stopped.
type trafficGen struct {
	mu    sync.Mutex
	rates map[string]int // datagrams of 1000 bytes per 10 ms
	conns map[string]net.Conn
	ns    string
	stop  chan struct{}
	done  chan struct{}
}

func startTraffic(t *testing.T, ns string) *trafficGen {
	g := &trafficGen{rates: map[string]int{}, conns: map[string]net.Conn{}, ns: ns, stop: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	t.Cleanup(func() {
		close(g.stop)
		<-g.done
		for _, c := range g.conns {
			c.Close()
		}
	})
	return g
}

// set changes the rate to dst (0 stops it).
func (g *trafficGen) set(t *testing.T, dst string, rate int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.conns[dst]; !ok {
		err := inNetns(g.ns, func() (err error) {
			g.conns[dst], err = net.Dial("udp", net.JoinHostPort(dst, "9"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	g.rates[dst] = rate
}

func (g *trafficGen) run() {
	defer close(g.done)
	payload := make([]byte, 1000)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-tick.C:
		}
		g.mu.Lock()
		for dst, n := range g.rates {
			for i := 0; i < n; i++ {
				g.conns[dst].Write(payload)
			}
		}
		g.mu.Unlock()
	}
}

// TestFlowsSourceFromSoftflowd: softflowd (Debian's package) watches the
// traffic src sends through r1 and exports NetFlow v9 to the exporter's
// flows source; the two busiest destinations become targets and are
// traced; when the busiest stops and another takes its place, the new one
// enters and the quiet one leaves, but not before its bytes have left the
// window (less one bucket of it, 0.5s, and 0.5s of slack).
func TestFlowsSourceFromSoftflowd(t *testing.T) {
	requireLab(t)
	softflowd := testenv.Tool(t, "softflowd")
	tp := newTopo(t, false)
	tp.addAnyIP()
	tp.switchPath(false)
	warmUp(t, tp)
	src := tp.name("src")
	dir := t.TempDir()

	const window = 6 * time.Second
	e := startExporter(t, src, 10198, `
defaults: {interval: 1s, probes: 2, timeout: 500ms, max_hops: 10}
target_sources:
  - name: top
    flows: {listen_address: "198.18.1.1:2055", top: 2, margin: 1, window: 6s, min_time: 4s, refresh_interval: 1s}
`)
	// softflowd on r1's side of the link to src, counting only the
	// traffic src's generator sends (UDP to port 9), not the exporter's
	// own probes, which would keep every listed destination busy (README:
	// "Mind the loop"); flows expire every second or two.
	startService(t, tp.name("r1"), softflowd, "-d", "-i", "to-src", "-n", "198.18.1.1:2055", "-v", "9", "-C", "2000",
		"-t", "maxlife=1", "-t", "expint=1", "-t", "udp=1", "-t", "general=1",
		"-p", filepath.Join(dir, "softflowd.pid"), "-c", filepath.Join(dir, "softflowd.ctl"), "src host 198.18.1.1 and udp dst port 9")

	traffic := startTraffic(t, src)
	busy, second, newcomer := anyIP(false, 10), anyIP(false, 11), anyIP(false, 13)
	traffic.set(t, busy, 4)
	traffic.set(t, second, 2)

	listed := func(m metrics) map[string]bool {
		out := map[string]bool{}
		for _, s := range m["traceroute_hops"].GetMetric() {
			if l := labels(s); l["source"] == "top" {
				out[l["target"]] = true
			}
		}
		return out
	}
	m := e.waitFor(40*time.Second, "the two busiest destinations traced", func(m metrics) bool {
		l := listed(m)
		if len(l) != 2 || !l[busy] || !l[second] {
			return false
		}
		for _, tg := range []string{busy, second} {
			if v, _ := m.get("traceroute_destination_reached", map[string]string{"target": tg}); v != 1 {
				return false
			}
		}
		return true
	})
	if v := m.value(t, "traceroute_target_source_flow_records_total", map[string]string{"source": "top"}); v == 0 {
		t.Fatal("no flow records counted")
	}
	if v := m.value(t, "traceroute_target_source_flow_decode_errors_total", map[string]string{"source": "top"}); v != 0 {
		t.Errorf("%v decode errors of softflowd's NetFlow v9", v)
	}

	// The busiest goes quiet; a newcomer carries more than anyone. With
	// margin 1 the quiet one is at worst third, inside the margin, until
	// its bytes have left the window.
	traffic.set(t, busy, 0)
	stopped := time.Now()
	traffic.set(t, newcomer, 6)
	e.waitFor(30*time.Second, "the newcomer traced", func(m metrics) bool { return listed(m)[newcomer] })
	e.waitFor(30*time.Second, "the quiet destination gone", func(m metrics) bool {
		l := listed(m)
		return !l[busy] && l[second] && l[newcomer]
	})
	if gone := time.Since(stopped); gone < window-time.Second {
		t.Fatalf("the quiet destination left %s after its traffic stopped, before its bytes could leave the %s window", gone, window)
	} else {
		t.Logf("the quiet destination left %s after its traffic stopped (window %s)", gone.Round(100*time.Millisecond), window)
	}
}
