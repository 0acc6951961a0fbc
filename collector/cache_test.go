package collector

import (
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
)

// traced returns a target's state after one interval over hops, each
// answered in both rounds.
func traced(end time.Time, hops ...netip.Addr) *pathstate.State {
	s := pathstate.NewState()
	s.SetAddress(hops[len(hops)-1])
	s.Observe(trace(hops[len(hops)-1], end, 2, hops...))
	return s
}

// sourcesOf serves whatever *targets holds at each scrape.
func sourcesOf(targets *[]Target) Sources {
	return Sources{
		Targets: func() []Target { return *targets },
		Stats:   func() ExporterStats { return ExporterStats{} },
		Reload:  func() (bool, time.Time) { return true, t0 },
	}
}

// mustMatch writes c's text and checks it against a fresh collector's
// registry exposition of the same targets.
func mustMatch(t *testing.T, c *Collector, src Sources) string {
	t.Helper()
	got := writeText(t, c)
	if want := registryText(t, New(src)); got != want {
		t.Fatalf("text path differs from the registry's:\n--- text\n%s\n--- registry\n%s", got, want)
	}
	return got
}

func TestCacheReusesEntryUntilSomethingChanges(t *testing.T) {
	dst := ip("198.18.7.2")
	s := traced(t0, ip("198.18.1.2"), dst)
	ev := &enrich.Evidence{Hops: []enrich.HopInfo{{Name: "r1.lab.example"}}}
	targets := []Target{{Name: "x", Labels: map[string]string{"site": "a"}, Snapshot: s.Snapshot(), Evidence: ev}}
	c := New(sourcesOf(&targets))
	entry := func() *entry { writeText(t, c); return c.cache.entries[0] }

	first := entry()
	if entry() != first {
		t.Fatal("entry rebuilt although snapshot, evidence and labels are the same")
	}
	for _, step := range []struct {
		name   string
		change func()
	}{
		{"new snapshot", func() {
			s.Observe(trace(dst, t0.Add(time.Minute), 2, ip("198.18.1.2"), dst))
			targets[0].Snapshot = s.Snapshot()
		}},
		{"new evidence", func() { targets[0].Evidence = &enrich.Evidence{} }},
		{"new label value", func() { targets[0].Labels = map[string]string{"site": "b"} }},
		{"new label name", func() { targets[0].Labels = map[string]string{"site": "b", "zone": "z"} }},
	} {
		before := entry()
		step.change()
		if entry() == before {
			t.Errorf("%s: entry reused", step.name)
		}
	}
	out := mustMatch(t, c, sourcesOf(&targets))
	if strings.Contains(out, `site="a"`) || !strings.Contains(out, `traceroute_hops{site="b",target="x",zone="z"} 2`) ||
		strings.Contains(out, "r1.lab.example") {
		t.Fatalf("stale labels or evidence exported:\n%s", out)
	}
}

func TestNewSnapshotReplacesCachedSeries(t *testing.T) {
	dst := ip("198.18.7.2")
	x := traced(t0, ip("198.18.1.2"), ip("198.18.2.2"), ip("198.18.3.2"), dst)
	y := traced(t0, ip("198.18.1.2"), dst)
	targets := []Target{{Name: "x", Snapshot: x.Snapshot()}, {Name: "y", Snapshot: y.Snapshot()}}
	src := sourcesOf(&targets)
	c := New(src)
	if out := mustMatch(t, c, src); !strings.Contains(out, `traceroute_hop_loss_ratio{hop="4",target="x"} 0`) {
		t.Fatalf("fixture: x not exported with 4 hops:\n%s", out)
	}
	// x's path shortens to 2 hops; y's next interval changes only values.
	x.Observe(trace(dst, t0.Add(time.Minute), 2, ip("198.18.1.2"), dst))
	y.Observe(trace(dst, t0.Add(time.Minute), 2, ip("198.18.1.2"), dst))
	targets = []Target{{Name: "x", Snapshot: x.Snapshot()}, {Name: "y", Snapshot: y.Snapshot()}}
	out := mustMatch(t, c, src)
	for _, gone := range []string{`hop="3"`, `hop="4"`, "198.18.2.2", "198.18.3.2"} {
		if strings.Contains(out, gone) {
			t.Fatalf("%s left the path but is still exported:\n%s", gone, out)
		}
	}
	if !strings.Contains(out, `traceroute_hops{target="x"} 2`) || !strings.Contains(out, `traceroute_probes_sent_total{target="x"} 12`) {
		t.Fatalf("x's new hop count or counters not exported:\n%s", out)
	}
}

func TestRemovedTargetVanishesFromTheCache(t *testing.T) {
	dst := ip("198.18.7.2")
	targets := []Target{
		{Name: "x", Snapshot: traced(t0, ip("198.18.1.2"), dst).Snapshot()},
		{Name: "y", Snapshot: traced(t0, ip("198.18.2.2"), dst).Snapshot()},
	}
	src := sourcesOf(&targets)
	c := New(src)
	mustMatch(t, c, src)
	targets = targets[1:]
	if out := mustMatch(t, c, src); strings.Contains(out, `target="x"`) {
		t.Fatalf("removed target still exported:\n%s", out)
	}
	if n := len(c.cache.entries); n != 1 || c.cache.entries[0].tv[c.cache.lay.target] != "y" {
		t.Fatalf("cache holds %d entries, want only y's", n)
	}
	for g, order := range c.cache.order {
		for _, r := range order {
			if int(r.e) >= len(c.cache.entries) {
				t.Fatalf("group %d still orders a series of a removed entry", g)
			}
		}
	}
	targets = nil
	if out := mustMatch(t, c, src); strings.Contains(out, "target=") || len(c.cache.entries) != 0 {
		t.Fatalf("with no targets: %d entries cached, exposition:\n%s", len(c.cache.entries), out)
	}
}

func TestOrderKeptWhenOnlyValuesChange(t *testing.T) {
	dst := ip("198.18.7.2")
	hops := []netip.Addr{ip("198.18.1.2"), ip("198.18.2.2"), dst}
	s := traced(t0, hops...)
	targets := []Target{{Name: "x", Snapshot: s.Snapshot()}, {Name: "y", Snapshot: traced(t0, hops...).Snapshot()}}
	src := sourcesOf(&targets)
	c := New(src)
	mustMatch(t, c, src)
	before := c.cache.order
	s.Observe(trace(dst, t0.Add(time.Minute), 2, hops...))
	targets[0].Snapshot = s.Snapshot()
	mustMatch(t, c, src)
	for g := range nGroups {
		if len(before[g]) > 0 && &before[g][0] != &c.cache.order[g][0] {
			t.Errorf("group %d sorted again although only values changed", g)
		}
	}
}

// TestIncrementalOrderMatchesRegistry mutates random targets between
// scrapes (new paths, responders, evidence, labels; targets come and go)
// and holds every scrape to the registry's exposition.
func TestIncrementalOrderMatchesRegistry(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	addr := func() netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(rng.Intn(4)), byte(1 + rng.Intn(3))}) }
	states := map[string]*pathstate.State{}
	var targets []Target
	newTarget := func(name string) Target {
		hops := make([]netip.Addr, 1+rng.Intn(5))
		for i := range hops {
			hops[i] = addr()
		}
		hops[len(hops)-1] = netip.AddrFrom4([4]byte{198, 19, byte(rng.Intn(200)), 1})
		states[name] = traced(t0, hops...)
		return Target{Name: name, Labels: map[string]string{"env": []string{"", "a", "b"}[rng.Intn(3)]}, Snapshot: states[name].Snapshot()}
	}
	for i := range 40 {
		targets = append(targets, newTarget(fmt.Sprintf("t%02d", i)))
	}
	src := sourcesOf(&targets)
	c := New(src)
	mustMatch(t, c, src)
	added := 0 // names are unique, as config enforces
	for step := range 60 {
		for range 1 + rng.Intn(4) {
			k := rng.Intn(len(targets))
			tg := &targets[k]
			switch rng.Intn(6) {
			case 0, 1: // another interval, maybe over another path
				hops := make([]netip.Addr, 1+rng.Intn(5))
				for i := range hops {
					hops[i] = addr()
				}
				dst := states[tg.Name].Snapshot().Address
				hops[len(hops)-1] = dst
				states[tg.Name].Observe(trace(dst, t0.Add(time.Duration(step+1)*time.Minute), 2, hops...))
				tg.Snapshot = states[tg.Name].Snapshot()
			case 2:
				info := []enrich.HopInfo{{Name: "n" + fmt.Sprint(rng.Intn(3)), ASN: uint32(rng.Intn(3))}, {ASN: uint32(rng.Intn(2))}}
				tg.Evidence = &enrich.Evidence{Hops: info}
			case 3:
				tg.Labels = map[string]string{"env": []string{"", "a", "b"}[rng.Intn(3)]}
			case 4:
				targets = append(targets[:k], targets[k+1:]...)
			case 5:
				added++
				targets = append(targets, newTarget(fmt.Sprintf("n%02d", added)))
			}
		}
		mustMatch(t, c, src)
	}
}

// TestConcurrentScrapes runs text and registry scrapes while targets get
// new intervals and come and go (run with -race).
func TestConcurrentScrapes(t *testing.T) {
	dst := ip("198.18.7.2")
	var mu sync.Mutex
	var targets []Target
	states := make([]*pathstate.State, 8)
	for i := range states {
		states[i] = traced(t0, ip("198.18.1.2"), dst)
		targets = append(targets, Target{Name: fmt.Sprint("t", i), Snapshot: states[i].Snapshot()})
	}
	src := Sources{
		Targets: func() []Target { mu.Lock(); defer mu.Unlock(); return append([]Target(nil), targets...) },
		Stats:   func() ExporterStats { return ExporterStats{} },
		Reload:  func() (bool, time.Time) { return true, t0 },
	}
	c := New(src)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var b strings.Builder
				if err := c.WriteText(&b); err != nil {
					t.Error(err)
					return
				}
				p := expfmt.NewTextParser(model.UTF8Validation)
				if _, err := p.TextToMetricFamilies(strings.NewReader(b.String())); err != nil {
					t.Errorf("exposition does not parse: %v", err)
					return
				}
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 200 {
		k := i % len(states)
		hops := []netip.Addr{ip("198.18.1.2"), dst}
		if i%3 == 0 {
			hops = []netip.Addr{ip("198.18.1.2"), ip("198.18.2.2"), dst}
		}
		states[k].Observe(trace(dst, t0.Add(time.Duration(i)*time.Minute), 2, hops...))
		mu.Lock()
		targets[k].Snapshot = states[k].Snapshot()
		if i%50 == 0 {
			targets = targets[:len(targets)-1]
			states = states[:len(states)-1]
		}
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
}
