package e2e

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Checks of the fault tests (faults_test.go).

// hostLines are the hosts file lines giving each of a the address at(a),
// then each of b at bt(b).
func hostLines(a []target, at func(target) string, b []target, bt func(target) string) []string {
	var lines []string
	for _, tg := range a {
		lines = append(lines, at(tg)+" "+tg.host)
	}
	for _, tg := range b {
		lines = append(lines, bt(tg)+" "+tg.host)
	}
	return lines
}

// hopASNsFrom checks the AS numbers of tg's routers (hops 1 to 4; the
// destination's address is in no database) against linkASN plus shift.
func hopASNsFrom(m metrics, tg target, shift uint32) []finding {
	var fs []finding
	ips := m.hopIPs(tg.name)
	for h := 1; h <= 4; h++ {
		if len(ips[h]) != 1 {
			fs = append(fs, finding{"hop_info", fmt.Sprintf("hop %d answered from %v", h, ips[h])})
			continue
		}
		want := asnOf(ips[h][0]) + shift
		if v, ok := m.get("traceroute_hop_asn", hop(tg.name, strconv.Itoa(h))); !ok || v != float64(want) || want == shift {
			fs = append(fs, finding{"traceroute_hop_asn", fmt.Sprintf("hop %d (%s): %v (present %v), want %d", h, ips[h][0], v, ok, want)})
		}
	}
	return fs
}

// fresh checks that tg's last interval ended at most 2.5s before m was
// scraped at when: an interval ends every second and its results are in a
// timeout later.
func fresh(m metrics, tg target, when time.Time) []finding {
	v, _ := m.get("traceroute_last_run_timestamp_seconds", tg.labels())
	if age := float64(when.UnixNano())/1e9 - v; age > 2.5 {
		return []finding{{"traceroute_last_run_timestamp_seconds", fmt.Sprintf("%.1fs old", age)}}
	}
	return nil
}

// checkScrapes checks every scrape of a window: it answered within a
// second, every target is in it once and fresh, and check holds. It fails
// the test once per kind of finding, saying how often and when.
func checkScrapes(t *testing.T, scrapes []timedScrape, targets []target, check func(m metrics, tg target) []finding) {
	t.Helper()
	found, order := map[string][]string{}, []string{}
	note := func(key, at, detail string) {
		if found[key] == nil {
			order = append(order, key)
		}
		found[key] = append(found[key], at+": "+detail)
	}
	var took []time.Duration
	for _, s := range scrapes {
		at := fmt.Sprintf("at %.2fs", s.at.Seconds())
		took = append(took, s.took)
		if s.err != nil {
			note("scrape", at, s.err.Error())
			continue
		}
		if s.took > time.Second {
			note("scrape time", at, s.took.String())
		}
		hops := s.m.seriesPerTarget("traceroute_hops")
		for _, tg := range targets {
			fs := fresh(s.m, tg, s.when)
			if hops[tg.name] != 1 {
				fs = append(fs, finding{"traceroute_hops", fmt.Sprintf("%d series", hops[tg.name])})
			}
			for _, f := range concat(fs, check(s.m, tg)) {
				note(tg.name+": "+f.kind, at, f.detail)
			}
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("%d scrapes: median %s, 99th percentile %s, max %s", len(took), took[len(took)/2].Round(time.Microsecond),
		took[len(took)*99/100].Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond))
	sort.Strings(order)
	for _, k := range order {
		f := found[k]
		t.Errorf("%s wrong in %d of %d scrapes; first %s; last %s", k, len(f), len(scrapes), f[0], f[len(f)-1])
	}
}

// checkFaultLog checks that the log of the exporter's run tells every
// fault: the vanished names, the moved ones, one line per history error,
// the failed ASN reload, and no panic.
func checkFaultLog(t *testing.T, log string, moving, vanishing []target, historyErrors float64) {
	t.Helper()
	for _, tg := range vanishing {
		if n := countLogLines(log, `msg="Cannot resolve target host; tracing the last good address"`, "target="+tg.name); n == 0 {
			t.Errorf("%s: no log line for its failed lookups", tg.name)
		}
	}
	for _, tg := range moving {
		if n := countLogLines(log, `msg="Target address changed"`, "target="+tg.name); n != 1 {
			t.Errorf("%s: %d log lines for its address change, want 1", tg.name, n)
		}
	}
	n := countLogLines(log, `msg="Cannot record a path"`) + countLogLines(log, `msg="Cannot record a path change"`)
	if float64(n) != historyErrors || n == 0 {
		t.Errorf("%d log lines for failed history writes, %v counted in traceroute_exporter_history_errors_total", n, historyErrors)
	}
	if n := countLogLines(log, `msg="ASN database reload failed; keeping the loaded one"`); n == 0 {
		t.Errorf("no log line for the failed ASN database reload")
	}
	reloads := countLogLines(log, `msg="Configuration reloaded"`)
	t.Logf("%d history errors logged, %d configuration reloads logged", n, reloads)
	for _, bad := range []string{"panic", "fatal error", "goroutine "} {
		if strings.Contains(log, bad) {
			t.Errorf("the log has %q", bad)
		}
	}
}
