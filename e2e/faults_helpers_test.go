package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// Helpers of the fault tests (faults_test.go): a small disk that can be
// filled, a link that flaps, a router that stops answering and answers
// again, signal storms, and samples of the exporter's resources.

// smallDisk is an ext4 filesystem of a few MiB in a file, mounted through
// a loop device for one test, with errors=remount-ro: a real disk that
// fills up, and that the kernel makes read-only after an error, as it
// does with a failing disk.
type smallDisk struct {
	img, dir, filler string
	mounted          bool
}

// newSmallDisk creates and mounts the filesystem in the test's temporary
// directory and unmounts it at cleanup. Call it before starting a process
// that writes there, so that the process has exited when it is unmounted.
func newSmallDisk(t testing.TB, size int64) *smallDisk {
	t.Helper()
	for _, tool := range []string{"mkfs.ext4", "e2fsck", "findmnt"} {
		testenv.Tool(t, tool)
	}
	tmp := t.TempDir()
	d := &smallDisk{img: filepath.Join(tmp, "disk.img"), dir: filepath.Join(tmp, "disk")}
	d.filler = filepath.Join(d.dir, "filler")
	if err := os.Mkdir(d.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(d.img)
	if err == nil {
		err = f.Truncate(size)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	d.run(t, "mkfs.ext4", "-q", "-F", "-m", "0", d.img)
	t.Cleanup(func() {
		if d.mounted {
			if out, err := exec.Command("umount", d.dir).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", d.dir, err, out)
			}
		}
	})
	d.mount(t)
	return d
}

func (d *smallDisk) run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (d *smallDisk) mount(t testing.TB) {
	t.Helper()
	d.run(t, "mount", "-o", "loop,errors=remount-ro", d.img, d.dir)
	d.mounted = true
}

// free returns the bytes the filesystem has left for files (ext4 keeps
// some for its own metadata).
func (d *smallDisk) free(t testing.TB) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}

// fill writes a file until the filesystem has no space left, and checks
// that it has none.
func (d *smallDisk) fill(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(d.filler, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{64 << 10, 4 << 10, 512, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling %s: %v", d.dir, err)
				}
				break
			}
		}
	}
	if err := f.Close(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	if n := d.free(t); n != 0 {
		t.Fatalf("%s still has %d bytes free after filling it", d.dir, n)
	}
}

// fail makes the kernel see an error on the filesystem (ext4's
// trigger_fs_error, for tests): with errors=remount-ro it aborts the
// journal and makes the filesystem read-only under every process that
// has a file open on it.
func (d *smallDisk) fail(t testing.TB) {
	t.Helper()
	dev := filepath.Base(d.run(t, "findmnt", "-n", "-o", "SOURCE", d.dir))
	if err := os.WriteFile("/sys/fs/ext4/"+dev+"/trigger_fs_error", []byte("traceroute_exporter fault test\n"), 0o200); err != nil {
		t.Fatal(err)
	}
	// Kernels since 6.12 show it as emergency_ro, before as ro.
	if opts := d.run(t, "findmnt", "-n", "-o", "OPTIONS", d.dir); !strings.HasPrefix(opts, "ro,") && !strings.Contains(opts, "emergency_ro") {
		t.Fatalf("%s not read-only after an error: %s", d.dir, opts)
	}
}

// repair does what an operator does once nothing uses the filesystem:
// unmount, check and mount again, and delete the filler. It checks and
// mounts a copy of the image: the failed filesystem lives on (read-only)
// as long as any mount namespace holds a copy of its mount, and one that
// another program on the host created meanwhile (a sandbox) may hold it
// for long; the next mount of the same image would get it back.
func (d *smallDisk) repair(t testing.TB) {
	t.Helper()
	d.run(t, "umount", d.dir)
	d.mounted = false
	img := d.img + ".repaired"
	d.run(t, "cp", "--sparse=always", d.img, img)
	d.img = img
	// 1: errors were corrected (the one the test triggered).
	if out, err := exec.Command("e2fsck", "-f", "-y", d.img).CombinedOutput(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("e2fsck: %v: %s", err, out)
		}
	}
	d.mount(t)
	if err := os.Remove(d.filler); err != nil {
		t.Fatal(err)
	}
}

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
