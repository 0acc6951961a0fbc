package e2e

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Helpers of the fault tests (faults_test.go): a link that flaps, a router
// that answers again, signal storms, scrapes from another goroutine,
// samples of the exporter's resources and of its stored history (the disk
// is in faults_disk_test.go).

// speakAgain undoes silenceBeforeDst: r4 sends Time Exceeded again.
func (tp *topo) speakAgain() {
	tp.in("r4", "nft", "delete", "table", "inet", "trxsilent")
}

// branchB is r2's interface on link 5, to r3b: the balancer's second
// branch, on no return route (r4 returns via r3a).
const branchB = "to-r3b"

// flapBranchB takes r2's link to r3b down for down, then up again, and
// restores what the kernel removed with it, as a router's routing daemon
// would once it hears its neighbour again: its addresses on the link, r3b
// as a reachable neighbour (pinged, or IPv6 would avoid a next hop whose
// neighbour entry failed while the link was down), and the routes over
// it (those of the balancer's second table and the multipath next hop).
// While the link is down, the flows of that branch go over r3a (the main
// table's remaining next hop); flows over r3a and the return paths are
// not touched.
func (tp *topo) flapBranchB(down time.Duration) {
	tp.in("r2", "ip", "link", "set", branchB, "down")
	time.Sleep(down)
	tp.in("r2", "ip", "link", "set", branchB, "up")
	tp.in("r2", "ip", "addr", "replace", "198.18.5.1/24", "dev", branchB)
	tp.in("r2", "ip", "-6", "addr", "replace", "2001:db8:5::1/64", "dev", branchB, "nodad")
	for _, v6 := range []bool{false, true} {
		ok := false
		for try := 0; try < 5 && !ok; try++ {
			ok = runIn(tp.name("r2"), "ping", "-c", "1", "-W", "1", addr(v6, 5)) == nil
		}
		if !ok {
			tp.t.Fatalf("r2 cannot reach r3b at %s after the link came up", addr(v6, 5))
		}
	}
	tp.switchPath(false)
}

// onBranchB reports whether tg's path in m goes over r3b (its third hop
// answers from link 5).
func onBranchB(m metrics, tg target) bool {
	ips := m.hopIPs(tg.name)[3]
	return len(ips) == 1 && ips[0] == addr(tg.v6, 5)
}

// hupStorm sends n SIGHUPs to pid, evenly over d, and calls midway (if
// not nil) after half of them.
func hupStorm(t *testing.T, pid, n int, d time.Duration, midway func()) {
	t.Helper()
	for i := 0; i < n; i++ {
		if i == n/2 && midway != nil {
			midway()
		}
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			t.Fatalf("SIGHUP %d of %d: %v", i+1, n, err)
		}
		time.Sleep(d / time.Duration(n))
	}
}

// replaceFile writes content to a new file next to path and renames it
// over path, so a reader never sees it half written.
func replaceFile(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// in returns e for subtest t: its helpers fail t, not the parent test.
func (e *exporter) in(t testing.TB) *exporter {
	c := *e
	c.t = t
	return &c
}

// resources are what the exporter reports of its own process.
type resources struct{ goroutines, fds, rss float64 }

func resourcesOf(t testing.TB, m metrics) resources {
	t.Helper()
	return resources{
		goroutines: m.value(t, "go_goroutines", nil),
		fds:        m.value(t, "process_open_fds", nil),
		rss:        m.value(t, "process_resident_memory_bytes", nil),
	}
}

func (r resources) String() string {
	return fmt.Sprintf("%v goroutines, %v open fds, RSS %.1f MiB", r.goroutines, r.fds, r.rss/(1<<20))
}

// timedScrape is one scrape of /metrics: how long it took, and what it
// returned or why it failed.
type timedScrape struct {
	at, took time.Duration
	when     time.Time // when it answered
	m        metrics
	err      error
}

// scrapeEvery scrapes /metrics every period from its own goroutine until
// the returned stop is called, which returns every scrape. A failed or
// unparsable scrape is kept with its error, not reported on the spot.
func (e *exporter) scrapeEvery(period time.Duration) (stop func() []timedScrape) {
	quit, out := make(chan struct{}), make(chan []timedScrape, 1)
	go func() {
		var got []timedScrape
		start := time.Now()
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			s := timedScrape{at: time.Since(start)}
			t0 := time.Now()
			s.m, s.err = e.tryScrape()
			s.took, s.when = time.Since(t0), time.Now()
			got = append(got, s)
			select {
			case <-quit:
				out <- got
				return
			case <-tick.C:
			}
		}
	}()
	return func() []timedScrape { close(quit); return <-out }
}

// tryScrape is scrape without a testing.TB, for other goroutines.
func (e *exporter) tryScrape() (metrics, error) {
	resp, err := e.client.Get("http://" + e.addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bufio.NewReader(resp.Body))
	if err != nil {
		return nil, err
	}
	return metrics(mfs), nil
}

// seriesPerTarget counts the series of name per target label.
func (m metrics) seriesPerTarget(name string) map[string]int {
	n := map[string]int{}
	for _, s := range m[name].GetMetric() {
		n[labels(s)["target"]]++
	}
	return n
}

// storedHistory is what the JSON API returns of a target's stored
// history: its paths (id, first seen, hops) and its changes' ids.
type storedHistory struct {
	paths   map[string]string
	changes []uint64
}

// history reads tg's stored paths and changes through the JSON API.
func (e *exporter) history(t *testing.T, name string) storedHistory {
	t.Helper()
	var ps struct {
		Paths []struct {
			ID        string    `json:"id"`
			FirstSeen time.Time `json:"first_seen"`
			Path      []apiHop  `json:"path"`
		} `json:"paths"`
	}
	e.apiGet(t, "/api/v1/targets/"+name+"/paths", &ps)
	var cs apiChanges
	e.apiGet(t, "/api/v1/targets/"+name+"/changes?limit=1000", &cs)
	h := storedHistory{paths: map[string]string{}}
	for _, p := range ps.Paths {
		var hops []string
		for _, hp := range p.Path {
			hops = append(hops, hp.Address)
		}
		h.paths[p.ID] = fmt.Sprintf("first seen %s: %s", p.FirstSeen.Format(time.RFC3339Nano), strings.Join(hops, " "))
	}
	for _, c := range cs.Changes {
		h.changes = append(h.changes, c.ID)
	}
	sort.Slice(h.changes, func(i, j int) bool { return h.changes[i] < h.changes[j] })
	return h
}

// lost returns what of before is missing or different in h.
func (h storedHistory) lost(before storedHistory) []string {
	var out []string
	for id, p := range before.paths {
		if h.paths[id] != p {
			out = append(out, fmt.Sprintf("path %s (%s) now %q", id, p, h.paths[id]))
		}
	}
	have := map[uint64]bool{}
	for _, id := range h.changes {
		have[id] = true
	}
	for _, id := range before.changes {
		if !have[id] {
			out = append(out, fmt.Sprintf("change %d", id))
		}
	}
	return out
}
