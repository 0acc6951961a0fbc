package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The fault test (issue "Hardening"): one exporter traces 14 targets (IP
// addresses and DNS names, IPv4 and IPv6) through the test network, with
// the routers' ICMP rate limits off, its path history on a 16 MiB ext4
// disk of its own and an ASN database, while the test breaks one thing
// after another: a router stops answering; a name vanishes from DNS and
// another changes address; r2's link to r3b (one branch of the load
// balancer) goes down for 2s and up again 3 times while /metrics is
// scraped every 100ms; the history's disk fills up; the kernel makes it
// read-only (an ext4 error with errors=remount-ro, as a failing disk does)
// and 50 SIGHUPs in 2s load a configuration with one more target; the ASN
// database is replaced by a truncated file and reloaded; after a restart
// on the repaired disk, the history file is cut short under the exporter.
// Each fault must show in a metric and in the log, probing must go on,
// nothing stored before must be lost, and the exporter must end with the
// goroutines and file descriptors it started with and about its memory.
// The network faults are in this file, those of the store, the
// configuration and the ASN database in faults_store_test.go.

// Bounds of the exporter's own resources after every fault, against
// before: no goroutine or file descriptor may be left behind beyond the
// HTTP connections of a few scrapes, and the resident memory may grow by
// what two more targets, the heap's growth between collections and 52
// reloaded ASN databases take (measured: 17 goroutines, 22 fds before and
// after; 20.7 MiB before, 23.8 MiB after), not more.
const (
	faultGoroutineSlack = 4
	faultFDSlack        = 4
	faultRSSSlack       = 16 << 20
)

// faultLab is the test network, the exporter and what the fault tests
// share: the targets, the exporter's resources before the faults, the
// history kept before the store's faults.
type faultLab struct {
	tp    *topo
	hosts *hostsFile
	disk  *smallDisk
	e     *exporter
	pid   int
	asnDB string
	// ipTargets are addresses; moving and vanishing names whose address
	// changes or which vanish from DNS; added the targets reloads add,
	// late the one added after the history file is cut. all are those
	// configured at start, grown those configured now.
	ipTargets, moving, vanishing, added []target
	late                                target
	all, grown                          []target
	base                                resources
	stored                              map[string]storedHistory
}

// The addresses of the named targets: the moving ones move from movedFrom
// to movedTo, the vanishing ones vanish from goneFrom.
func movedFrom(tg target) string { return anyIP(tg.v6, 201) }
func movedTo(tg target) string   { return anyIP(tg.v6, 202) }
func goneFrom(tg target) string  { return anyIP(tg.v6, 203) }

func TestFaults(t *testing.T) {
	f := &faultLab{
		ipTargets: append(dstTargets(), anyIPTargets(0, 4, 4)...),
		moving:    []target{{"moving4", "moving4.test", false}, {"moving6", "moving6.test", true}},
		vanishing: []target{{"vanish4", "vanish4.test", false}, {"vanish6", "vanish6.test", true}},
		added:     anyIPTargets(4, 1, 1),
		late:      anyIPTargets(5, 1, 0)[0],
		stored:    map[string]storedHistory{},
	}
	f.all = append(append(append([]target(nil), f.ipTargets...), f.moving...), f.vanishing...)
	var extra []string
	for _, tg := range append(append([]target(nil), f.moving...), f.vanishing[0]) {
		extra = append(extra, movedFrom(tg), movedTo(tg), goneFrom(tg))
	}
	for _, tg := range append(append([]target(nil), f.added...), f.late) {
		extra = append(extra, tg.host)
	}
	// Rate limits off: a hop's loss is 0 while its router answers and 1
	// when it does not.
	f.tp = newTargetsTopo(t, false, f.ipTargets, extra...)

	// Names resolve from src's hosts file; anything else asks a resolver
	// on src's loopback, where nothing listens: a name gone from the hosts
	// file fails at once, and no query leaves the test network.
	f.hosts = newHostsFile(t, f.tp.name("src"), hostLines(f.moving, movedFrom, f.vanishing, goneFrom)...)
	if err := os.WriteFile(filepath.Join(filepath.Dir(f.hosts.path), "resolv.conf"), []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.disk = newSmallDisk(t, 16<<20)
	f.asnDB = writeASNDatabase(t, t.TempDir())
	f.e = startExporter(t, f.tp.name("src"), 10188, truthConfig(f.all),
		"--storage.path="+filepath.Join(f.disk.dir, "history.db"), "--asn.database="+f.asnDB, "--dns.refresh-interval=1s")
	f.pid = f.e.cmd.Process.Pid
	waitComplete(t, f.e, f.all, 5)
	time.Sleep(2 * interval)
	f.base = resourcesOf(t, f.e.scrape())
	t.Logf("before the faults: %s", f.base)
	f.grown = append(append([]target(nil), f.all...), f.added[0])

	t.Run("router stops answering", f.routerStops)
	t.Run("name vanishes or changes address", f.namesChange)
	t.Run("link flaps with a scrape every 100ms", f.linkFlaps)
	t.Run("disk full", f.diskFull)
	t.Run("read-only store and SIGHUP storm", f.readOnlyStorm)
	t.Run("ASN database replaced by a corrupt file", f.corruptASN)
	t.Run("no leak", f.noLeak)
	t.Run("log and history after a restart", f.restart)
	t.Run("history file truncated under the exporter", f.truncated)
}

// alive fails t if the exporter has exited.
func (f *faultLab) alive(t *testing.T) {
	t.Helper()
	select {
	case <-f.e.done:
		t.Fatalf("the exporter exited:\n%s", f.e.log.String())
	default:
	}
}

// routerStops makes r4, the router before the destination, stop sending
// Time Exceeded: hop 4's loss goes to 1 for every target and back to 0
// when it answers again, and nothing else moves. It also changes the
// names in the hosts file, for namesChange (Go reads the file again
// within 5s).
func (f *faultLab) routerStops(t *testing.T) {
	e := f.e.in(t)
	// The names change now, to be checked in the next subtest: Go
	// reads the hosts file again within 5s.
	f.hosts.write(hostLines(f.moving, movedTo, nil, nil)...)
	// The moving targets change address meanwhile: not checked here.
	steadyTargets := append(append([]target(nil), f.ipTargets...), f.vanishing...)
	f.tp.silenceBeforeDst()
	silent := map[string]bool{}
	observe(t, e, 5*time.Second, steadyTargets, func(m metrics, tg target, at time.Duration) []finding {
		fs := concat(expect(m, "traceroute_path_changes_total", tg.labels(), 0),
			expect(m, "traceroute_hops", tg.labels(), 5),
			expect(m, "traceroute_destination_reached", tg.labels(), 1))
		loss, _ := m.get("traceroute_hop_loss_ratio", hop(tg.name, "4"))
		switch {
		case loss == 1:
			silent[tg.name] = true
		case silent[tg.name]:
			fs = append(fs, finding{"hop 4 loss", fmt.Sprintf("%v after it was 1 with r4 silent", loss)})
		case at > 3*time.Second:
			fs = append(fs, finding{"hop 4 loss", fmt.Sprintf("%v, 3s after r4 went silent", loss)})
		}
		return fs
	})
	f.tp.speakAgain()
	e.waitFor(5*time.Second, "hop 4 answering again for every target", func(m metrics) bool {
		for _, tg := range steadyTargets {
			if v, _ := m.get("traceroute_hop_loss_ratio", hop(tg.name, "4")); v != 0 {
				return false
			}
		}
		return true
	})
	f.alive(t)
}

// namesChange checks the names changed in routerStops: a resolve error
// for each vanished name, which keeps being traced at its last good
// address, and one address change for each moved name, traced at the new
// one.
func (f *faultLab) namesChange(t *testing.T) {
	e := f.e.in(t)
	e.waitFor(12*time.Second, "a resolve error for each vanished name and the new address for each moved one", func(m metrics) bool {
		for _, tg := range f.vanishing {
			if v, _ := m.get("traceroute_resolve_errors_total", tg.labels()); v == 0 {
				return false
			}
		}
		for _, tg := range f.moving {
			if v, _ := m.get("traceroute_target_address_changes_total", tg.labels()); v != 1 || addressInfo(m, tg, movedTo(tg)) != nil {
				return false
			}
		}
		return true
	})
	// Probing goes on: the vanished names at their last good address,
	// the moved ones at their new one.
	first := e.scrape()
	names := append(append([]target(nil), f.moving...), f.vanishing...)
	m := e.waitFor(8*time.Second, "every named target traced after the change", func(m metrics) bool {
		for _, tg := range names {
			if v, _ := m.get("traceroute_hops", tg.labels()); v != 5 {
				return false
			}
			if m.value(t, "traceroute_last_run_timestamp_seconds", tg.labels()) <= first.value(t, "traceroute_last_run_timestamp_seconds", tg.labels()) {
				return false
			}
		}
		return true
	})
	for _, tg := range f.vanishing {
		if fs := concat(addressInfo(m, tg, goneFrom(tg)), expect(m, "traceroute_destination_reached", tg.labels(), 1),
			expect(m, "traceroute_target_address_changes_total", tg.labels(), 0)); fs != nil {
			t.Errorf("%s: %v", tg.name, fs)
		}
	}
	for _, tg := range f.moving {
		if fs := expect(m, "traceroute_destination_reached", tg.labels(), 1); fs != nil {
			t.Errorf("%s: %v", tg.name, fs)
		}
	}
	f.alive(t)
}

// linkFlaps takes r2's link to r3b down for 2s and up again 3 times while
// /metrics is scraped every 100ms: every scrape answers within a second
// with every target fresh; only the targets over r3b change path, there
// and back, at most twice a flap, and all end on their old path. Then it
// keeps what the history holds, to be compared after the store's faults.
func (f *faultLab) linkFlaps(t *testing.T) {
	e := f.e.in(t)
	before := e.scrape()
	onB, hash := map[string]bool{}, map[string]float64{}
	var names []string
	for _, tg := range f.all {
		hash[tg.name] = before.value(t, "traceroute_path_hash", tg.labels())
		if onBranchB(before, tg) {
			onB[tg.name] = true
			names = append(names, tg.name)
		}
	}
	t.Logf("targets over the flapping link: %v", names)
	// The balancer hashes each target's constant flow (its identifier
	// is random): all 14 miss r3b once in 16,000 runs.
	if len(names) == 0 {
		t.Fatalf("no target over r3b: the flaps would show nothing")
	}
	changes0 := map[string]float64{}
	for _, tg := range f.all {
		changes0[tg.name] = before.value(t, "traceroute_path_changes_total", tg.labels())
	}
	const flaps = 3
	stop := e.scrapeEvery(100 * time.Millisecond)
	for i := 0; i < flaps; i++ {
		f.tp.flapBranchB(2 * time.Second)
		time.Sleep(2 * time.Second)
	}
	scrapes := stop()
	checkScrapes(t, scrapes, f.all, func(m metrics, tg target) []finding {
		c, _ := m.get("traceroute_path_changes_total", tg.labels())
		if d := c - changes0[tg.name]; (!onB[tg.name] && d != 0) || d > 2*flaps {
			return []finding{{"path changes", fmt.Sprintf("%v during %d flaps of a link it %s", d, flaps,
				map[bool]string{true: "took", false: "did not take"}[onB[tg.name]])}}
		}
		return nil
	})
	// Back where it was: every target on its path of before the flaps.
	m := e.waitFor(10*time.Second, "every target back on its path", func(m metrics) bool {
		for _, tg := range f.all {
			if v, _ := m.get("traceroute_path_hash", tg.labels()); v != hash[tg.name] {
				return false
			}
		}
		return true
	})
	// Each target over the link moved to r3a and back at least once:
	// the flaps did happen.
	for _, tg := range f.all {
		d := m.value(t, "traceroute_path_changes_total", tg.labels()) - changes0[tg.name]
		if onB[tg.name] {
			t.Logf("%s: %v path changes in %d flaps", tg.name, d, flaps)
			if d < 2 {
				t.Errorf("%s: %v path changes in %d flaps of the link it takes: the flaps were not seen", tg.name, d, flaps)
			}
		}
	}
	// Every change is judged (and stored) within two intervals.
	time.Sleep(2*interval + timeout)
	m = e.scrape()
	for _, tg := range f.all {
		f.stored[tg.name] = e.history(t, tg.name)
		if n := m.value(t, "traceroute_path_changes_total", tg.labels()); float64(len(f.stored[tg.name].changes)) != n {
			t.Errorf("%s: %d changes stored, %v counted", tg.name, len(f.stored[tg.name].changes), n)
		}
		if len(f.stored[tg.name].paths) == 0 {
			t.Errorf("%s: no path stored", tg.name)
		}
	}
	if v := m.value(t, "traceroute_exporter_history_errors_total", nil); v != 0 {
		t.Errorf("traceroute_exporter_history_errors_total %v before the disk is full", v)
	}
	f.alive(t)
}
