package e2e

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hopLoss gathers, once per finished interval of each target (told apart
// by traceroute_last_run_timestamp_seconds), the loss reported at hops
// 1..4, the routers every target shares or splits over the balancer.
type hopLoss struct {
	seen map[string]float64  // target -> last interval counted
	sum  map[bool][4]float64 // by family (v6), per hop
	n    map[bool][4]int     // intervals in which the hop had probes
	all  map[bool]int        // intervals counted
	// first holds the targets that had probes at hop 1 in some interval.
	first map[string]bool
}

func newHopLoss() *hopLoss {
	return &hopLoss{seen: map[string]float64{}, sum: map[bool][4]float64{}, n: map[bool][4]int{}, all: map[bool]int{},
		first: map[string]bool{}}
}

// add counts tg's last interval in m, if it is a new one.
func (l *hopLoss) add(m metrics, tg target) {
	end, ok := m.get("traceroute_last_run_timestamp_seconds", tg.labels())
	if !ok || end == l.seen[tg.name] {
		return
	}
	l.seen[tg.name] = end
	l.all[tg.v6]++
	sum, n := l.sum[tg.v6], l.n[tg.v6]
	for h := 1; h <= 4; h++ {
		if v, ok := m.get("traceroute_hop_loss_ratio", hop(tg.name, strconv.Itoa(h))); ok {
			sum[h-1] += v
			n[h-1]++
			if h == 1 {
				l.first[tg.name] = true
			}
		}
	}
	l.sum[tg.v6], l.n[tg.v6] = sum, n
}

// mean is the mean loss at hop h (1-based) over the intervals in which
// it had probes, and how many those were.
func (l *hopLoss) mean(v6 bool, h int) (float64, int) {
	n := l.n[v6][h-1]
	if n == 0 {
		return 0, 0
	}
	return l.sum[v6][h-1] / float64(n), n
}

func ipv(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}

func (l *hopLoss) String() string {
	var b strings.Builder
	for _, v6 := range []bool{false, true} {
		fmt.Fprintf(&b, "%s (%d intervals):", ipv(v6), l.all[v6])
		for h := 1; h <= 4; h++ {
			m, n := l.mean(v6, h)
			fmt.Fprintf(&b, " hop %d loss %.3f in %d;", h, m, n)
		}
		b.WriteString(" ")
	}
	fmt.Fprintf(&b, "%d targets sampled at hop 1", len(l.first))
	return b.String()
}

// TestHopBudgetSharedFirstHops traces 24 AnyIP targets (16 IPv4, 8 IPv6,
// every one probed 5 times a second at each TTL) through routers with the
// kernel's default ICMP rate limits: r1, r2 and r4 are on every target's
// path and answer one Time Exceeded a second to the exporter (IPv6: four,
// for a /64), bursts of six. With the default hop budget they are asked
// no more than that after the targets' first rounds (whose probes beyond
// the budget are discovery probes, out of the hop's statistics): the loss
// reported at hops 1-4 is about 0, the path stays exact (hop count, hash,
// no change) and the destination loses nothing; the probes held back are
// counted. The control, the same
// network and targets with the budget off, reports the routers' shedding
// as loss at those hops.
func TestHopBudgetSharedFirstHops(t *testing.T) {
	targets := anyIPTargets(0, 16, 8)
	tp := newTruthTopo(t, targets)
	help, _ := exec.Command(binary, "--help").CombinedOutput()
	if !strings.Contains(string(help), "--probe.hop-rate-limit=1") {
		t.Errorf("--probe.hop-rate-limit does not default to 1 a second:\n%s", help)
	}

	e := startExporter(t, tp.name("src"), 10188, truthConfig(targets), "--probe.hop-rate-limit=1")
	s := steadyFrom(t, waitHops(t, e, targets, 5), targets, 5)
	// Every target's first probe at each TTL goes out, and the routers
	// shed most of the first round (24 probes each in a second): beyond
	// the budget those are discovery probes, not in the hop's loss, so
	// the targets' first intervals are checked as well.
	with := newHopLoss()
	observe(t, e, 15*time.Second, targets, func(m metrics, tg target, _ time.Duration) []finding {
		with.add(m, tg)
		return concat(s.check(m, tg), expect(m, "traceroute_destination_loss_ratio", tg.labels(), 0))
	})
	m := e.scrape()
	skipped, _ := m.get("traceroute_exporter_hop_probes_skipped_total", nil)
	late, _ := m.get("traceroute_exporter_late_replies_total", nil)
	unmatched, _ := m.get("traceroute_exporter_unmatched_replies_total", nil)
	t.Logf("late %v unmatched %v", late, unmatched)
	e.stop()
	t.Logf("with the hop budget: %v; %v probes held back", with, skipped)
	if skipped == 0 {
		t.Error("traceroute_exporter_hop_probes_skipped_total is 0: the budget held nothing back")
	}
	for _, v6 := range []bool{false, true} {
		for h := 1; h <= 4; h++ {
			// Each interval has at most 5 probes at a hop: one lost in
			// 100 intervals is 0.002.
			if loss, n := with.mean(v6, h); loss > 0.01 || (h <= 2 && n == 0) {
				t.Errorf("with the hop budget, %s hop %d: mean loss %.3f over %d intervals with probes, want about 0", ipv(v6), h, loss, n)
			}
		}
	}

	// The samples are spread over the targets (12 to 19 a family in
	// 15 s, drawn from 16 or 8 targets: about 14 distinct expected).
	if len(with.first) < len(targets)/3 {
		t.Errorf("only %d of %d targets had probes at hop 1 in 15 s", len(with.first), len(targets))
	}

	// The control: no hop budget.
	e = startExporter(t, tp.name("src"), 10189, truthConfig(targets), "--probe.hop-rate-limit=0")
	waitHops(t, e, targets, 5)
	without := newHopLoss()
	observe(t, e, 6*time.Second, targets, func(m metrics, tg target, _ time.Duration) []finding {
		without.add(m, tg)
		return nil
	})
	m = e.scrape()
	skipped, _ = m.get("traceroute_exporter_hop_probes_skipped_total", nil)
	e.stop()
	t.Logf("without the hop budget: %v; %v probes held back", without, skipped)
	if skipped != 0 {
		t.Errorf("%v probes held back with the budget off", skipped)
	}
	// 80 probes a second at r1 against one answer a second (IPv6: 40
	// against four) is nearly all lost.
	for _, v6 := range []bool{false, true} {
		if loss, _ := without.mean(v6, 1); loss < 0.5 {
			t.Errorf("control without the budget, %s: hop 1 loss %.3f, want the router's shedding (above 0.5)", ipv(v6), loss)
		}
	}
}
