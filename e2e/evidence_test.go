package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// The evidence tests check issue 8 end to end: the exporter traces dst4 and
// dst6 (interval 1s, 5 probes, timeout 500ms) through the test network with
// the kernel's default ICMP rate limits on at every router and a generated
// ASN database (asndb_test.go) that gives every router its own AS. Every
// scrape of a window is checked, not only the last one.

// newEvidenceLab builds the rate-limited test network and the ASN database.
func newEvidenceLab(t *testing.T) (*topo, string) {
	requireLab(t)
	tp := newTopo(t, true)
	warmUp(t, tp)
	return tp, writeASNDatabase(t, t.TempDir())
}

func startEvidenceExporter(t *testing.T, tp *topo, db string) *exporter {
	return startExporter(t, tp.name("src"), 10188, labConfig("1s", 5, "500ms"), "--asn.database="+db)
}

// waitComplete waits until every target has hops hops, each of them known
// in traceroute_hop_info, and an AS path.
func waitComplete(t *testing.T, e *exporter, targets []target, hops float64) metrics {
	t.Helper()
	return e.waitFor(15*time.Second, fmt.Sprintf("every target at %v hops, all known, with an AS path", hops), func(m metrics) bool {
		for _, tg := range targets {
			v, _ := m.get("traceroute_hops", tg.labels())
			_, as := m.get("traceroute_as_path_length", tg.labels())
			if v != hops || !as || len(m.hopIPs(tg.name)) != int(hops) {
				return false
			}
		}
		return true
	})
}

// routers are the test network's routers.
var routers = []string{"r1", "r2", "r3a", "r3b", "r4", "r5", "r6"}

// ipv6Sheds tells whether the routers' ICMPv6 rate limit is below the 5
// Time Exceeded per second each gets per target here. Measured on this
// kernel: one per net.ipv6.icmp.ratelimit ms after a burst (with 1000ms, 4
// of 5 replies are shed), and the default is 100ms, so with the defaults
// IPv6 routers shed nothing at this probe rate.
func ipv6Sheds(t *testing.T, tp *topo) (bool, string) {
	ms, err := strconv.Atoi(strings.TrimSpace(tp.in("r1", "sysctl", "-n", "net.ipv6.icmp.ratelimit")))
	if err != nil {
		t.Fatal(err)
	}
	return ms > 0 && 1000/ms < 5, fmt.Sprintf("net.ipv6.icmp.ratelimit=%d", ms)
}

// honestLoss checks every scrape for d: the steady primary path with its
// AS path (hash asHash), no destination loss and no forward loss at any
// hop. It returns the highest response loss seen at each intermediate hop
// (1-4), per target.
func honestLoss(t *testing.T, e *exporter, targets []target, d time.Duration, asHash map[string]float64) map[string]map[int]float64 {
	t.Helper()
	resp := map[string]map[int]float64{}
	observe(t, e, d, targets, func(m metrics, tg target, _ time.Duration) []finding {
		fs := concat(
			expect(m, "traceroute_hops", tg.labels(), 5),
			expect(m, "traceroute_path_changes_total", tg.labels(), 0),
			expect(m, "traceroute_as_path_changes_total", tg.labels(), 0),
			expect(m, "traceroute_as_path_hash", tg.labels(), asHash[tg.name]),
			expect(m, "traceroute_destination_loss_ratio", tg.labels(), 0),
			hopASNs(m, tg, primaryASPath, true),
		)
		if resp[tg.name] == nil {
			resp[tg.name] = map[int]float64{}
		}
		for h := 1; h <= 5; h++ {
			fs = concat(fs, expect(m, "traceroute_hop_forward_loss_ratio", hop(tg.name, strconv.Itoa(h)), 0))
			if v, _ := m.get("traceroute_hop_loss_ratio", hop(tg.name, strconv.Itoa(h))); h < 5 && v > 0 {
				resp[tg.name][h] = max(resp[tg.name][h], v)
			}
		}
		return fs
	})
	t.Logf("highest response loss per intermediate hop: %v", resp)
	return resp
}

func TestEvidenceASPathAndForwardLoss(t *testing.T) {
	tp, db := newEvidenceLab(t)
	e := startEvidenceExporter(t, tp, db)
	targets := dstTargets()
	m := waitComplete(t, e, targets, 5)
	asHash := map[string]float64{}
	for _, tg := range targets {
		asHash[tg.name] = m.value(t, "traceroute_as_path_hash", tg.labels())
	}
	sheds, limit := ipv6Sheds(t, tp)

	t.Run("AS path right and steady; rate limiting is no forward loss", func(t *testing.T) {
		resp := honestLoss(t, e, targets, 10*interval, asHash)
		// IPv4 routers answer one Time Exceeded per second per destination
		// (after a burst of 6) and get 5 probes per second per target.
		if len(resp["dst4"]) == 0 {
			t.Errorf("dst4: no response loss at any intermediate hop in 10 intervals: is ICMP rate limiting on?")
		}
		if got := len(resp["dst6"]) > 0; got != sheds {
			t.Errorf("dst6: response loss at intermediate hops %v; with %s the routers shed replies: %v", resp["dst6"], limit, sheds)
		}
	})

	if !sheds {
		t.Run("IPv6 routers shedding (ratelimit 1000ms): no forward loss", func(t *testing.T) {
			for _, r := range routers {
				tp.in(r, "sysctl", "-qw", "net.ipv6.icmp.ratelimit=1000")
			}
			defer func() {
				for _, r := range routers {
					tp.in(r, "sysctl", "-qw", limit)
				}
			}()
			resp := honestLoss(t, e, targets, 8*interval, asHash)
			if len(resp["dst6"]) == 0 {
				t.Errorf("dst6: no response loss at any intermediate hop with net.ipv6.icmp.ratelimit=1000")
			}
		})
	}

	t.Run("API shows the AS path and the ASN of every hop", func(t *testing.T) {
		var all apiTargets
		e.apiGet(t, "/api/v1/targets", &all)
		m := e.scrape()
		for _, tg := range targets {
			at, ok := all.find(tg.name)
			if !ok {
				t.Fatalf("/api/v1/targets has no %s: %+v", tg.name, all)
			}
			if !slices.Equal(at.ASPath, primaryASPath) || at.Hops != 5 || at.PathChanges != 0 || at.Degradations != 0 || at.LastChange != nil {
				t.Errorf("/api/v1/targets %s: %+v, want as_path %v, 5 hops, no change", tg.name, at, primaryASPath)
			}
			var one apiTarget
			e.apiGet(t, "/api/v1/targets/"+tg.name, &one)
			ips := m.hopIPs(tg.name)
			if len(one.Path) != 5 {
				t.Errorf("/api/v1/targets/%s: path %+v, want 5 hops", tg.name, one.Path)
			}
			for i, h := range one.Path {
				if h.Hop != i+1 || i >= len(primaryASPath) || h.ASN != primaryASPath[i] || len(ips[i+1]) != 1 || h.Address != ips[i+1][0] {
					t.Errorf("/api/v1/targets/%s hop %d: %+v, want hop %d from %v in AS%d", tg.name, i+1, h, i+1, ips[i+1], primaryASPath[min(i, 4)])
				}
			}
		}
	})

	t.Run("real loss at r2 is forward loss beyond it", func(t *testing.T) {
		tp.dropForwarded(30)
		dropping := true
		defer func() {
			if dropping {
				tp.stopDropping()
			}
		}()
		time.Sleep(2*interval + timeout) // intervals with loss from start to end
		fwd := map[string][]float64{}
		observe(t, e, 8*interval, targets, func(m metrics, tg target, _ time.Duration) []finding {
			fs := concat(expect(m, "traceroute_hops", tg.labels(), 5), expect(m, "traceroute_path_changes_total", tg.labels(), 0))
			if fwd[tg.name] == nil {
				fwd[tg.name] = make([]float64, 5)
			}
			for h := 1; h <= 5; h++ {
				f, okf := m.get("traceroute_hop_forward_loss_ratio", hop(tg.name, strconv.Itoa(h)))
				l, okl := m.get("traceroute_hop_loss_ratio", hop(tg.name, strconv.Itoa(h)))
				// Loss is 1-replies/sent, forward loss lost/sent: allow
				// for the rounding of the first.
				if !okf || !okl || f > l+1e-9 {
					fs = append(fs, finding{"forward loss", fmt.Sprintf("hop %d: forward %v (present %v), response loss %v (present %v): want at most the response loss", h, f, okf, l, okl)})
				}
				// r1 and r2 answer probes that r2 never forwards: when they
				// do not shed replies, none of their probes is lost.
				if h <= 2 && tg.v6 && !sheds && f != 0 {
					fs = append(fs, finding{"forward loss before r2", fmt.Sprintf("hop %d: %v, want 0", h, f)})
				}
				fwd[tg.name][h-1] += f
			}
			return fs
		})
		tp.stopDropping()
		dropping = false
		for _, tg := range targets {
			t.Logf("%s: forward loss summed over the scrapes, hops 1-5: %.2f", tg.name, fwd[tg.name])
			for h := 3; h <= 5; h++ {
				if fwd[tg.name][h-1] == 0 {
					t.Errorf("%s hop %d: no forward loss in 8 intervals behind a router dropping 30%% of what it forwards", tg.name, h)
				}
			}
		}
	})
}

func TestEvidenceRouteSwitch(t *testing.T) {
	tp, db := newEvidenceLab(t)
	prometheusBin := testenv.Tool(t, "prometheus")
	testenv.Tool(t, "promtool")
	src, dir := tp.name("src"), t.TempDir()
	promConfig := writeFile(t, dir, "prometheus.yml", fmt.Sprintf(`
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%s]
scrape_configs:
  - job_name: traceroute
    static_configs: [{targets: ["%s"]}]
`, testRules(t, dir), expAddr))
	startService(t, src, prometheusBin, "--config.file="+promConfig, "--storage.tsdb.path="+dir+"/prom", "--web.listen-address="+promAddr)
	e := startEvidenceExporter(t, tp, db)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer(src)}}
	waitReady(t, client, "prometheus", "http://"+promAddr+"/-/ready")
	prom := &promClient{base: "http://" + promAddr, client: client}
	targets := dstTargets()

	m := waitComplete(t, e, targets, 5)
	branch := map[string]int{}
	for _, tg := range targets {
		branch[tg.name] = 3
		if ips := m.hopIPs(tg.name)[3]; len(ips) == 1 && ips[0] == addr(tg.v6, 5) {
			branch[tg.name] = 5
		}
	}
	waitProm(t, prom, `traceroute_path_degradations_total{job="traceroute"} == 0`, 2, "both targets' degradation counters at 0")

	// alerts polls Prometheus at most once a second for the active
	// TraceroutePathDegraded alerts (pending or firing), by target.
	degraded, polled := map[string]string{}, time.Time{}
	alerts := func() []finding {
		if time.Since(polled) < time.Second {
			return nil
		}
		polled = time.Now()
		active, err := prom.activeAlerts()
		if err != nil {
			return []finding{{"Prometheus", err.Error()}}
		}
		clear(degraded)
		for _, a := range active {
			if name, state, ok := strings.Cut(a, " "); ok && strings.HasPrefix(name, "TraceroutePathDegraded{target=") {
				degraded[strings.TrimSuffix(strings.TrimPrefix(name, "TraceroutePathDegraded{target="), "}")] = state
			}
		}
		return nil
	}

	t.Run("steady path: no change, no degradation, no alert", func(t *testing.T) {
		observe(t, e, 6*interval, targets, func(m metrics, tg target, _ time.Duration) []finding {
			fs := concat(alerts(),
				expect(m, "traceroute_hops", tg.labels(), 5),
				expect(m, "traceroute_path_changes_total", tg.labels(), 0),
				expect(m, "traceroute_path_degradations_total", tg.labels(), 0),
				expect(m, "traceroute_as_path_changes_total", tg.labels(), 0),
				hopASNs(m, tg, primaryASPath, true))
			if s, ok := degraded[tg.name]; ok {
				fs = append(fs, finding{"TraceroutePathDegraded", s + " before any path change"})
			}
			return fs
		})
		for _, tg := range targets {
			var cs apiChanges
			e.apiGet(t, "/api/v1/targets/"+tg.name+"/changes", &cs)
			if len(cs.Changes) != 0 {
				t.Errorf("%s: change events before any change: %+v", tg.name, cs.Changes)
			}
		}
	})

	tp.useAlternate()
	switched := time.Now()
	t.Run("route switch: one change judged worse, one degradation, one AS path change", func(t *testing.T) {
		// Scraped every 50ms, so that a scrape between the path's and its
		// evidence's update would be seen.
		seen, alerted := map[string]time.Duration{}, map[string]time.Duration{}
		deadline := 2*interval + timeout + time.Second
		observeEvery(t, e, 50*time.Millisecond, deadline+4*interval, targets, func(m metrics, tg target, at time.Duration) []finding {
			fs := alerts()
			d, _ := m.get("traceroute_path_degradations_total", tg.labels())
			if _, ok := degraded[tg.name]; ok {
				if _, was := alerted[tg.name]; !was {
					alerted[tg.name] = at
				}
			}
			if c, _ := m.get("traceroute_path_changes_total", tg.labels()); c == 0 {
				if at > deadline {
					return append(fs, finding{"new path", fmt.Sprintf("not seen %s after the switch", at.Round(time.Millisecond))})
				}
				if _, ok := alerted[tg.name]; ok {
					fs = append(fs, finding{"TraceroutePathDegraded", "active before the exporter counted the change"})
				}
				return concat(fs, expect(m, "traceroute_hops", tg.labels(), 5),
					expect(m, "traceroute_path_degradations_total", tg.labels(), 0),
					expect(m, "traceroute_as_path_changes_total", tg.labels(), 0),
					hopASNs(m, tg, primaryASPath, false))
			}
			if _, ok := seen[tg.name]; !ok {
				seen[tg.name] = at
				t.Logf("%s: change seen %s after the switch (degradations %v)", tg.name, at.Round(time.Millisecond), d)
			}
			// The change is judged once the new path's silent hops have
			// answered, at most two intervals after it was counted: until
			// then the judged counters may still read 0, never more than 1.
			judged := 1.0
			if at < seen[tg.name]+2*interval+timeout+200*time.Millisecond {
				if v, _ := m.get("traceroute_path_degradations_total", tg.labels()); v == 0 {
					if a, _ := m.get("traceroute_as_path_changes_total", tg.labels()); a == 0 {
						judged = 0
					}
				}
			}
			return concat(fs,
				expect(m, "traceroute_path_changes_total", tg.labels(), 1),
				expect(m, "traceroute_hops", tg.labels(), 6),
				expect(m, "traceroute_path_degradations_total", tg.labels(), judged),
				expect(m, "traceroute_as_path_changes_total", tg.labels(), judged),
				hopASNs(m, tg, alternateASPath, at-seen[tg.name] > 3*interval))
		})
		waitAlerts(t, prom, targets, switched)
		t.Logf("TraceroutePathDegraded seen active during the window at %v after the switch", alerted)
	})

	// The change events as recorded, to compare after the restart.
	recorded := map[string]apiChanges{}
	t.Run("API: one change event with the paths before and after", func(t *testing.T) {
		var all apiTargets
		e.apiGet(t, "/api/v1/targets", &all)
		for _, tg := range targets {
			var cs apiChanges
			e.apiGet(t, "/api/v1/targets/"+tg.name+"/changes", &cs)
			recorded[tg.name] = cs
			if len(cs.Changes) != 1 {
				t.Errorf("%s: %d change events after one route switch, want 1: %+v", tg.name, len(cs.Changes), cs.Changes)
				continue
			}
			c := cs.Changes[0]
			checkChange(t, tg, c, primaryLinks(tg.v6, branch[tg.name]), alternateLinks(tg.v6), switched)
			at, _ := all.find(tg.name)
			if at.Hops != 6 || at.PathChanges != 1 || at.Degradations != 1 || !slices.Equal(at.ASPath, alternateASPath) ||
				at.LastChange == nil || at.LastChange.Verdict != "worse" || at.LastChange.FromHops != 5 || at.LastChange.ToHops != 6 || !at.LastChange.Time.Equal(c.Time) {
				t.Errorf("/api/v1/targets %s: %+v (last_change %+v), want 6 hops, 1 change and 1 degradation, AS path %v, last change worse 5 -> 6 at %s",
					tg.name, at, at.LastChange, alternateASPath, c.Time)
			}
		}
	})

	t.Run("restart keeps the history; counters start at 0", func(t *testing.T) {
		e.restart()
		waitComplete(t, e, targets, 6)
		observe(t, e, 3*interval, targets, func(m metrics, tg target, _ time.Duration) []finding {
			return concat(
				expect(m, "traceroute_hops", tg.labels(), 6),
				expect(m, "traceroute_path_changes_total", tg.labels(), 0),
				expect(m, "traceroute_path_degradations_total", tg.labels(), 0),
				expect(m, "traceroute_as_path_changes_total", tg.labels(), 0),
				hopASNs(m, tg, alternateASPath, false))
		})
		var all apiTargets
		e.apiGet(t, "/api/v1/targets", &all)
		for _, tg := range targets {
			var cs apiChanges
			e.apiGet(t, "/api/v1/targets/"+tg.name+"/changes", &cs)
			if !reflect.DeepEqual(cs, recorded[tg.name]) {
				t.Errorf("%s: change events after the restart\n%+v\nwant those recorded before it\n%+v", tg.name, cs, recorded[tg.name])
			}
			at, _ := all.find(tg.name)
			lc := at.LastChange
			if lc == nil || lc.Verdict != "worse" || lc.FromHops != 5 || lc.ToHops != 6 || len(cs.Changes) == 0 || !lc.Time.Equal(cs.Changes[0].Time) {
				t.Errorf("/api/v1/targets %s after the restart: last_change %+v, want the recorded change, worse 5 -> 6", tg.name, lc)
			}
			if at.PathChanges != 0 || at.Degradations != 0 || at.Hops != 6 || !slices.Equal(at.ASPath, alternateASPath) {
				t.Errorf("/api/v1/targets %s after the restart: %+v, want 6 hops, AS path %v, counters at 0", tg.name, at, alternateASPath)
			}
		}
		// Prometheus takes the counters' reset in its stride: the alert stays.
		waitProm(t, prom, `resets(traceroute_path_degradations_total{job="traceroute"}[1m]) > 0 and traceroute_path_degradations_total == 0`, 2,
			"Prometheus to scrape the restarted exporter")
		waitAlerts(t, prom, targets, time.Now())
	})

	log := e.stop()
	for _, tg := range targets {
		all := countLogLines(log, `msg="Path changed"`, "target="+tg.name)
		judged := countLogLines(log, `msg="Path change judged"`, "target="+tg.name)
		worse := countLogLines(log, `msg="Path change judged"`, "target="+tg.name, "verdict=worse")
		if all != 1 || judged != 1 || worse != 1 {
			t.Errorf(`%s: %d msg="Path changed" and %d msg="Path change judged" log lines, %d of them verdict=worse, over both runs; want exactly one each, worse`, tg.name, all, judged, worse)
		}
		// Its reasons: both the hop count and the AS path got longer.
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, `msg="Path change judged"`) && strings.Contains(line, "target="+tg.name+" ") &&
				(!strings.Contains(line, "worse: hops 5 -> 6") || !strings.Contains(line, "worse: AS path length 5 -> 6")) {
				t.Errorf("%s: the change's reasons should be more hops and a longer AS path: %s", tg.name, line)
			}
		}
	}
}

// checkChange checks one change event against the route switch from the
// primary to the alternate path: hop counts, every hop's address and AS,
// the AS paths, the TTLs that differ, the verdict and the time.
func checkChange(t *testing.T, tg target, c apiChange, before, after []int, switched time.Time) {
	t.Helper()
	if c.Verdict != "worse" || c.Before.Hops != 5 || c.After.Hops != 6 || !c.Before.Reached || !c.After.Reached {
		t.Errorf("%s change: verdict %q, hops %d -> %d, reached %v -> %v; want worse, 5 -> 6, reached both", tg.name, c.Verdict, c.Before.Hops, c.After.Hops, c.Before.Reached, c.After.Reached)
	}
	if c.Time.Before(switched.Add(-time.Second)) || c.Time.After(time.Now()) {
		t.Errorf("%s change at %s; the route switched at %s", tg.name, c.Time, switched)
	}
	side := func(what string, s apiSnapshot, links []int, asPath []uint32) {
		var wrong, unknown []string
		for i, h := range s.Path {
			switch {
			case i >= len(links) || h.Hop != i+1:
				wrong = append(wrong, fmt.Sprintf("%+v", h))
			case h.Address == "":
				unknown = append(unknown, strconv.Itoa(h.Hop))
			case h.Address != addr(tg.v6, links[i]) || h.ASN != linkASN[links[i]]:
				wrong = append(wrong, fmt.Sprintf("hop %d: %s AS%d, want %s AS%d", h.Hop, h.Address, h.ASN, addr(tg.v6, links[i]), linkASN[links[i]]))
			}
		}
		if len(s.Path) != len(links) || len(wrong) > 0 {
			t.Errorf("%s change %s: path %+v; wrong: %v; want %d hops", tg.name, what, s.Path, wrong, len(links))
		}
		if len(unknown) > 0 {
			t.Errorf("%s change %s: hops %v unknown: %+v", tg.name, what, unknown, s.Path)
		}
		if !slices.Equal(s.ASPath, asPath) {
			t.Errorf("%s change %s: as_path %v, want %v", tg.name, what, s.ASPath, asPath)
		}
	}
	side("before", c.Before, before, primaryASPath)
	side("after", c.After, after, alternateASPath)
	// Both routes leave r2 by different links and end at dst: hops 3 to 5
	// answer from other addresses, and hop 6 is new.
	if want := []int{3, 4, 5, 6}; !slices.Equal(c.DiffHops, want) {
		t.Errorf("%s change: diff_hops %v, want %v", tg.name, c.DiffHops, want)
	}
}

// waitProm waits up to 20s until expr returns n series.
func waitProm(t *testing.T, prom *promClient, expr string, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := prom.query(expr)
		if err == nil && len(r.Result) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s gave %s %v, want %d series", what, expr, r, err, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitAlerts waits until Prometheus has TraceroutePathDegraded pending or
// firing for every target, within 20s of since.
func waitAlerts(t *testing.T, prom *promClient, targets []target, since time.Time) {
	t.Helper()
	for {
		active, err := prom.activeAlerts()
		missing := 0
		for _, tg := range targets {
			if !slices.Contains(active, "TraceroutePathDegraded{target="+tg.name+"} firing") &&
				!slices.Contains(active, "TraceroutePathDegraded{target="+tg.name+"} pending") {
				missing++
			}
		}
		if err == nil && missing == 0 {
			t.Logf("active alerts %s after: %v", time.Since(since).Round(time.Millisecond), active)
			return
		}
		if time.Since(since) > 20*time.Second {
			t.Fatalf("TraceroutePathDegraded not active for every target %s after: %v %v", time.Since(since).Round(time.Millisecond), active, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// observeEvery is observe (checks_test.go) scraping every period.
func observeEvery(t *testing.T, e *exporter, period, d time.Duration, targets []target, check func(m metrics, tg target, at time.Duration) []finding) {
	t.Helper()
	found, order, scrapes := map[string][]string{}, []string{}, 0
	start := time.Now()
	for at := time.Duration(0); at <= d; at = time.Since(start) {
		m := e.scrape()
		scrapes++
		for _, tg := range targets {
			for _, f := range check(m, tg, at) {
				key := tg.name + ": " + f.kind
				if found[key] == nil {
					order = append(order, key)
				}
				found[key] = append(found[key], fmt.Sprintf("at %.2fs: %s", at.Seconds(), f.detail))
			}
		}
		time.Sleep(period)
	}
	sort.Strings(order)
	for _, k := range order {
		f := found[k]
		t.Errorf("%s wrong in %d of %d scrapes; first %s; last %s", k, len(f), scrapes, f[0], f[len(f)-1])
	}
}

// The JSON API's answers, as far as these tests read them.
type (
	apiTargets struct {
		Targets []apiTarget `json:"targets"`
	}
	apiTarget struct {
		Name         string   `json:"name"`
		Address      string   `json:"address"`
		Reached      bool     `json:"reached"`
		Hops         int      `json:"hops"`
		PathChanges  uint64   `json:"path_changes"`
		ASPath       []uint32 `json:"as_path"`
		Degradations uint64   `json:"degradations"`
		LastChange   *struct {
			Time     time.Time `json:"time"`
			Verdict  string    `json:"verdict"`
			FromHops int       `json:"from_hops"`
			ToHops   int       `json:"to_hops"`
		} `json:"last_change"`
		Path []apiHop `json:"path"`
	}
	apiHop struct {
		Hop     int    `json:"hop"`
		Address string `json:"address"`
		Name    string `json:"name"`
		ASN     uint32 `json:"asn"`
	}
	apiChanges struct {
		Target  string      `json:"target"`
		Changes []apiChange `json:"changes"`
	}
	apiChange struct {
		ID       uint64      `json:"id"`
		Time     time.Time   `json:"time"`
		Verdict  string      `json:"verdict"`
		Before   apiSnapshot `json:"before"`
		After    apiSnapshot `json:"after"`
		DiffHops []int       `json:"diff_hops"`
	}
	apiSnapshot struct {
		Hops    int      `json:"hops"`
		Path    []apiHop `json:"path"`
		ASPath  []uint32 `json:"as_path"`
		Reached bool     `json:"reached"`
	}
)

func (a apiTargets) find(name string) (apiTarget, bool) {
	for _, t := range a.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return apiTarget{}, false
}

// apiGet reads a JSON API answer into v; anything but 200 fails the test.
func (e *exporter) apiGet(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := e.client.Get("http://" + e.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}
