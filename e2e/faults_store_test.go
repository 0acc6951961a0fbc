package e2e

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The fault tests of the history store, the configuration and the ASN
// database (TestFaults, faults_test.go).

// diskFull fills the history's disk and adds a target by a reload. bbolt
// still writes into the free pages of its file, and a write that needs
// the file to grow fails: the target's first path is stored, or an error
// counted, never neither.
func (f *faultLab) diskFull(t *testing.T) {
	e := f.e.in(t)
	f.disk.fill(t)
	errs0 := e.scrape().value(t, "traceroute_exporter_history_errors_total", nil)
	replaceFile(t, e.config, truthConfig(f.grown))
	if code, body := e.post("/-/reload"); code != 200 {
		t.Fatalf("/-/reload: %d %s", code, body)
	}
	waitHops(t, e, f.grown, 5)
	time.Sleep(2 * interval)
	errs := e.scrape().value(t, "traceroute_exporter_history_errors_total", nil) - errs0
	paths := len(e.history(t, f.added[0].name).paths)
	t.Logf("on the full disk: %s's first path stored %v, %v history errors", f.added[0].name, paths == 1, errs)
	if paths == 0 && errs == 0 {
		t.Errorf("%s: no path stored and no history error counted: want its path stored or an error", f.added[0].name)
	}
	f.alive(t)
}

// readOnlyStorm makes the history's disk read-only (the kernel's answer to
// an ext4 error) and sends 50 SIGHUPs in 2s, with a configuration of one
// more target renamed into place halfway: the new configuration runs,
// every target once and with its counters, and the new target's path
// cannot be stored, which is counted.
func (f *faultLab) readOnlyStorm(t *testing.T) {
	e := f.e.in(t)
	f.disk.fail(t)
	m := e.scrape()
	errs0 := m.value(t, "traceroute_exporter_history_errors_total", nil)
	reloadedBefore := m.value(t, "traceroute_exporter_config_last_reload_success_timestamp_seconds", nil)
	f.grown = append(f.grown, f.added[1])
	stormed := time.Now()
	hupStorm(t, f.pid, 50, 2*time.Second, func() { replaceFile(t, e.config, truthConfig(f.grown)) })
	t.Logf("50 SIGHUPs sent in %s", time.Since(stormed).Round(time.Millisecond))
	f.alive(t)
	m = e.waitFor(10*time.Second, "the grown configuration loaded and every target traced once", func(m metrics) bool {
		hops := m.seriesPerTarget("traceroute_hops")
		if v, _ := m.get("traceroute_exporter_targets", nil); v != float64(len(f.grown)) || len(hops) != len(f.grown) {
			return false
		}
		for _, tg := range f.grown {
			if v, _ := m.get("traceroute_hops", tg.labels()); v != 5 || hops[tg.name] != 1 {
				return false
			}
		}
		return true
	})
	if fs := expect(m, "traceroute_exporter_config_last_reload_successful", nil, 1); fs != nil {
		t.Errorf("after the storm: %v", fs)
	}
	if v := m.value(t, "traceroute_exporter_config_last_reload_success_timestamp_seconds", nil); v <= reloadedBefore {
		t.Errorf("last successful reload at %v, not after the storm began (before it: %v)", v, reloadedBefore)
	}
	for _, tg := range f.all {
		if v := m.value(t, "traceroute_path_changes_total", tg.labels()); float64(len(f.stored[tg.name].changes)) != v {
			t.Errorf("%s: %v path changes counted after the storm, %d before: the reloads restarted or moved it", tg.name, v, len(f.stored[tg.name].changes))
		}
	}
	var api apiTargets
	e.apiGet(t, "/api/v1/targets", &api)
	seen := map[string]int{}
	for _, a := range api.Targets {
		seen[a.Name]++
	}
	for _, tg := range f.grown {
		if seen[tg.name] != 1 {
			t.Errorf("/api/v1/targets lists %s %d times", tg.name, seen[tg.name])
		}
	}
	// The added target's first path cannot be stored.
	m = e.waitFor(10*time.Second, "a history error for the added target's path", func(m metrics) bool {
		v, _ := m.get("traceroute_exporter_history_errors_total", nil)
		return v > errs0
	})
	if h := e.history(t, f.added[1].name); len(h.paths) != 0 {
		t.Errorf("%s: %d paths stored on a read-only disk: %v", f.added[1].name, len(h.paths), h.paths)
	}
	t.Logf("after the storm: %s; history errors %v", resourcesOf(t, m), m.value(t, "traceroute_exporter_history_errors_total", nil))
	f.alive(t)
}

// corruptASN replaces the ASN database by a truncated gzip and reloads:
// the AS numbers stay and the failed load shows; then, as a control, a
// good database with other numbers is loaded and shows.
func (f *faultLab) corruptASN(t *testing.T) {
	e := f.e.in(t)
	good, err := os.ReadFile(f.asnDB)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(good)
	w.Close()
	// A download cut short: the first half of the gzip stream.
	replaceFile(t, f.asnDB, gz.String()[:gz.Len()/2])
	loaded := func(m metrics) []finding {
		return expect(m, "traceroute_exporter_asn_database_last_reload_successful", nil, 1)
	}
	if fs := loaded(e.scrape()); fs != nil {
		t.Errorf("before: %v", fs)
	}
	// The configuration reloads; the database does not, and says so.
	if code, body := e.post("/-/reload"); code != 200 {
		t.Errorf("/-/reload with a corrupt ASN database: %d %s", code, body)
	}
	m := e.scrape()
	if fs := concat(expect(m, "traceroute_exporter_asn_database_last_reload_successful", nil, 0),
		expect(m, "traceroute_exporter_config_last_reload_successful", nil, 1)); fs != nil {
		t.Errorf("after reloading a corrupt ASN database: %v", fs)
	}
	observe(t, e, 3*time.Second, f.grown, func(m metrics, tg target, _ time.Duration) []finding {
		return concat(hopASNsFrom(m, tg, 0), fresh(m, tg, time.Now()))
	})
	// The control: a good database with other AS numbers is loaded.
	replaceFile(t, f.asnDB, strings.ReplaceAll(string(good), "\t6450", "\t6550"))
	if code, body := e.post("/-/reload"); code != 200 {
		t.Fatalf("/-/reload: %d %s", code, body)
	}
	m = e.waitFor(5*time.Second, "the AS numbers of the new database", func(m metrics) bool {
		for _, tg := range f.grown {
			if hopASNsFrom(m, tg, 1000) != nil {
				return false
			}
		}
		return true
	})
	if fs := loaded(m); fs != nil {
		t.Errorf("after reloading a good ASN database: %v", fs)
	}
	f.alive(t)
}

// noLeak compares the exporter's goroutines, open files and memory with
// those before the faults.
func (f *faultLab) noLeak(t *testing.T) {
	e := f.e.in(t)
	m := e.waitFor(10*time.Second, "every target traced with 5 hops", func(m metrics) bool {
		for _, tg := range f.grown {
			if v, _ := m.get("traceroute_hops", tg.labels()); v != 5 {
				return false
			}
		}
		return true
	})
	now := resourcesOf(t, m)
	t.Logf("after the faults: %s (before: %s)", now, f.base)
	if now.goroutines > f.base.goroutines+faultGoroutineSlack {
		t.Errorf("%v goroutines after the faults, %v before", now.goroutines, f.base.goroutines)
	}
	if now.fds > f.base.fds+faultFDSlack {
		t.Errorf("%v open file descriptors after the faults, %v before", now.fds, f.base.fds)
	}
	if now.rss > f.base.rss+faultRSSSlack {
		t.Errorf("resident memory %.1f MiB after the faults, %.1f MiB before", now.rss/(1<<20), f.base.rss/(1<<20))
	}
}

// restart stops the exporter and checks its log for every fault, repairs
// the disk and the names, and starts it again: nothing stored before the
// faults is lost, and the paths that could not be stored then are now.
func (f *faultLab) restart(t *testing.T) {
	histErrors := f.e.in(t).scrape().value(t, "traceroute_exporter_history_errors_total", nil)
	f.e.stopProcess()
	checkFaultLog(t, f.e.log.String(), f.moving, f.vanishing, histErrors)
	// Repaired: the disk, and the names.
	f.disk.repair(t)
	f.hosts.write(hostLines(f.moving, movedTo, f.vanishing, goneFrom)...)
	f.e.start()
	e := f.e.in(t)
	e.waitHTTP()
	e.waitFor(10*time.Second, "every target traced again", func(m metrics) bool {
		for _, tg := range f.grown {
			if v, _ := m.get("traceroute_hops", tg.labels()); v != 5 {
				return false
			}
		}
		return true
	})
	// Nothing stored before the faults is lost, and the paths that
	// could not be stored then are stored now.
	for _, tg := range f.all {
		if lost := e.history(t, tg.name).lost(f.stored[tg.name]); lost != nil {
			t.Errorf("%s: lost from the history: %v", tg.name, lost)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, tg := range f.added {
		for len(e.history(t, tg.name).paths) == 0 && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
		}
		if len(e.history(t, tg.name).paths) == 0 {
			t.Errorf("%s: no path stored after the disk was repaired", tg.name)
		}
	}
	if v := e.scrape().value(t, "traceroute_exporter_history_errors_total", nil); v != 0 {
		t.Errorf("traceroute_exporter_history_errors_total %v after the restart", v)
	}
	if aside, _ := filepath.Glob(filepath.Join(f.disk.dir, "history.db.corrupt-*")); aside != nil {
		t.Errorf("the history database was moved aside at the restart: %v", aside)
	}
}

// truncated cuts the history file to nothing under the running exporter
// (reading it through bbolt's memory mapping used to end the process with
// SIGBUS): the API answers 500, a target added by a reload is traced and
// its failed write counted, every target stays fresh, and the exporter
// still shuts down by itself.
func (f *faultLab) truncated(t *testing.T) {
	e := f.e.in(t)
	if err := os.Truncate(filepath.Join(f.disk.dir, "history.db"), 0); err != nil {
		t.Fatal(err)
	}
	resp, err := e.client.Get("http://" + e.addr + "/api/v1/targets/dst4/paths")
	if err != nil {
		t.Fatalf("GET paths after the truncation: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("GET paths after the truncation: %s, want 500", resp.Status)
	}
	f.grown = append(f.grown, f.late)
	replaceFile(t, e.config, truthConfig(f.grown))
	if code, body := e.post("/-/reload"); code != 200 {
		t.Fatalf("/-/reload: %d %s", code, body)
	}
	e.waitFor(10*time.Second, f.late.name+" traced and its path's write counted as failed", func(m metrics) bool {
		v, _ := m.get("traceroute_hops", f.late.labels())
		errs, _ := m.get("traceroute_exporter_history_errors_total", nil)
		return v == 5 && errs > 0
	})
	observe(t, e, 2*time.Second, f.grown, func(m metrics, tg target, _ time.Duration) []finding {
		return concat(expect(m, "traceroute_hops", tg.labels(), 5), fresh(m, tg, time.Now()))
	})
	f.alive(t)
	// And it still shuts down by itself, closing what it can.
	e.stopProcess()
	if code := e.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGINT (-1: killed after 5s)", code)
	}
}
