package e2e

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// Checks the truth tests apply to every scrape of a window: each returns
// findings (what was wrong, for which target), collected and reported
// together so a failure shows how often and how badly a rule was broken.

// waitHops waits until every target reports hops hops.
func waitHops(t *testing.T, e *exporter, targets []target, hops float64) metrics {
	t.Helper()
	return e.waitFor(15*time.Second, fmt.Sprintf("every target at %v hops", hops), func(m metrics) bool {
		for _, tg := range targets {
			if v, ok := m.get("traceroute_hops", tg.labels()); !ok || v != hops {
				return false
			}
		}
		return true
	})
}

// steady is the path a target must keep through a window: no change, its
// hop count and its path hash.
type steady struct {
	hops float64
	hash map[string]float64
	// answered holds, per target, the hops seen answering in the scrapes
	// checked so far, to tell in a failure whether the path hash moved
	// while hops were still being heard from for the first time (ICMP rate
	// limits at the routers make that slow with many targets).
	answered map[string]map[int]bool
}

func newSteady(hops float64) steady {
	return steady{hops: hops, hash: map[string]float64{}, answered: map[string]map[int]bool{}}
}

// steadyFrom records every target's path hash in m and expects hops.
func steadyFrom(t *testing.T, m metrics, targets []target, hops float64) steady {
	s := newSteady(hops)
	for _, tg := range targets {
		s.hash[tg.name] = m.value(t, "traceroute_path_hash", tg.labels())
		s.heard(m, tg)
	}
	return s
}

// heard adds the hops answering in m to tg's and returns them all.
func (s steady) heard(m metrics, tg target) []int {
	if s.answered[tg.name] == nil {
		s.answered[tg.name] = map[int]bool{}
	}
	for h := range m.hopIPs(tg.name) {
		s.answered[tg.name][h] = true
	}
	var hops []int
	for h := range s.answered[tg.name] {
		hops = append(hops, h)
	}
	sort.Ints(hops)
	return hops
}

// check returns what is wrong with tg's path in m.
func (s steady) check(m metrics, tg target) []finding {
	heard := s.heard(m, tg)
	hash := expect(m, "traceroute_path_hash", tg.labels(), s.hash[tg.name])
	for i := range hash {
		hash[i].detail += fmt.Sprintf(" (hop_info %v; hops heard from so far %v)", m.hopIPs(tg.name), heard)
	}
	return concat(
		expect(m, "traceroute_path_changes_total", tg.labels(), 0),
		expect(m, "traceroute_hops", tg.labels(), s.hops),
		hash,
		hopInfo(m, tg, s.hops, true),
	)
}

// hopInfo checks that traceroute_hop_info lists no hop beyond hops and,
// when paris, at most one responder per hop: a steady path is one flow
// through the load balancer (an interval that spans a route switch may
// list both routes' responders).
func hopInfo(m metrics, tg target, hops float64, paris bool) []finding {
	for h, ips := range m.hopIPs(tg.name) {
		if (paris && len(ips) > 1) || h < 1 || float64(h) > hops {
			return []finding{{"traceroute_hop_info", fmt.Sprintf("hop %d answered from %v with %v hops", h, ips, hops)}}
		}
	}
	return nil
}

// addressInfo checks that traceroute_target_info names exactly address for tg.
func addressInfo(m metrics, tg target, address string) []finding {
	var got []string
	for _, s := range m["traceroute_target_info"].GetMetric() {
		if l := labels(s); l["target"] == tg.name {
			got = append(got, fmt.Sprintf("%s=%v", l["address"], s.GetGauge().GetValue()))
		}
	}
	if want := address + "=1"; len(got) != 1 || got[0] != want {
		return []finding{{"traceroute_target_info", fmt.Sprintf("%v, want [%s]", got, want)}}
	}
	return nil
}

// finding is one way a target's series were wrong in one scrape.
type finding struct{ kind, detail string }

// expect returns a finding unless the series name{labels} is want.
func expect(m metrics, name string, labels map[string]string, want float64) []finding {
	v, ok := m.get(name, labels)
	switch {
	case !ok:
		return []finding{{name, "missing"}}
	case v != want:
		return []finding{{name, fmt.Sprintf("%v, want %v", v, want)}}
	}
	return nil
}

func concat(fs ...[]finding) []finding {
	var out []finding
	for _, f := range fs {
		out = append(out, f...)
	}
	return out
}

// observe scrapes every scrapeEvery for d and checks every target in every
// scrape (at is the time since the window began). It goes through the whole
// window and then fails the test once per target and kind of finding,
// saying in how many scrapes it was wrong, the first and the last value.
func observe(t *testing.T, e *exporter, d time.Duration, targets []target, check func(m metrics, tg target, at time.Duration) []finding) {
	t.Helper()
	type tally struct {
		n           int
		first, last string
	}
	found := map[string]*tally{}
	scrapes := 0
	start := time.Now()
	for at := time.Duration(0); at <= d; at = time.Since(start) {
		m := e.scrape()
		scrapes++
		for _, tg := range targets {
			for _, f := range check(m, tg, at) {
				key := tg.name + ": " + f.kind
				if found[key] == nil {
					found[key] = &tally{first: fmt.Sprintf("at %.1fs: %s", at.Seconds(), f.detail)}
				}
				found[key].n++
				found[key].last = fmt.Sprintf("at %.1fs: %s", at.Seconds(), f.detail)
			}
		}
		time.Sleep(scrapeEvery)
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := found[k]
		t.Errorf("%s wrong in %d of %d scrapes; first %s; last %s", k, f.n, scrapes, f.first, f.last)
	}
}
