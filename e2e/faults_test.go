package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
// database is replaced by a truncated file and reloaded. Each fault must
// show in a metric and in the log, probing must go on, nothing stored
// before must be lost (checked after a restart on the repaired disk), and
// the exporter must end with the goroutines and file descriptors it
// started with and about its memory.

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

func TestFaults(t *testing.T) {
	ipTargets := append(dstTargets(), anyIPTargets(0, 4, 4)...)
	moving := []target{{"moving4", "moving4.test", false}, {"moving6", "moving6.test", true}}
	vanishing := []target{{"vanish4", "vanish4.test", false}, {"vanish6", "vanish6.test", true}}
	added := anyIPTargets(4, 1, 1)
	late := anyIPTargets(5, 1, 0)[0] // added after the history file is cut
	all := append(append(append([]target(nil), ipTargets...), moving...), vanishing...)
	oldAddr := func(tg target) string { return anyIP(tg.v6, 201) }
	newAddr := func(tg target) string { return anyIP(tg.v6, 202) }
	goneAddr := func(tg target) string { return anyIP(tg.v6, 203) }
	extra := []string{}
	for _, tg := range append(append([]target(nil), moving...), vanishing[0]) {
		extra = append(extra, oldAddr(tg), newAddr(tg), goneAddr(tg))
	}
	for _, tg := range append(added, late) {
		extra = append(extra, tg.host)
	}
	// Rate limits off: a hop's loss is 0 while its router answers and 1
	// when it does not.
	tp := newTargetsTopo(t, false, ipTargets, extra...)

	// Names resolve from src's hosts file; anything else asks a resolver
	// on src's loopback, where nothing listens: a name gone from the hosts
	// file fails at once, and no query leaves the test network.
	hosts := newHostsFile(t, tp.name("src"), hostLines(moving, oldAddr, vanishing, goneAddr)...)
	if err := os.WriteFile(filepath.Join(filepath.Dir(hosts.path), "resolv.conf"), []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	disk := newSmallDisk(t, 16<<20)
	asnDB := writeASNDatabase(t, t.TempDir())
	e := startExporter(t, tp.name("src"), 10188, truthConfig(all),
		"--storage.path="+filepath.Join(disk.dir, "history.db"), "--asn.database="+asnDB, "--dns.refresh-interval=1s")
	pid := e.cmd.Process.Pid
	alive := func(t *testing.T) {
		t.Helper()
		select {
		case <-e.done:
			t.Fatalf("the exporter exited:\n%s", e.log.String())
		default:
		}
	}
	waitComplete(t, e, all, 5)
	time.Sleep(2 * interval)
	base := resourcesOf(t, e.scrape())
	t.Logf("before the faults: %s", base)

	t.Run("router stops answering", func(t *testing.T) {
		e := e.in(t)
		// The names change now, to be checked in the next subtest: Go
		// reads the hosts file again within 5s.
		hosts.write(hostLines(moving, newAddr, nil, nil)...)
		// The moving targets change address meanwhile: not checked here.
		steadyTargets := append(append([]target(nil), ipTargets...), vanishing...)
		tp.silenceBeforeDst()
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
		tp.speakAgain()
		e.waitFor(5*time.Second, "hop 4 answering again for every target", func(m metrics) bool {
			for _, tg := range steadyTargets {
				if v, _ := m.get("traceroute_hop_loss_ratio", hop(tg.name, "4")); v != 0 {
					return false
				}
			}
			return true
		})
		alive(t)
	})

	t.Run("name vanishes or changes address", func(t *testing.T) {
		e := e.in(t)
		e.waitFor(12*time.Second, "a resolve error for each vanished name and the new address for each moved one", func(m metrics) bool {
			for _, tg := range vanishing {
				if v, _ := m.get("traceroute_resolve_errors_total", tg.labels()); v == 0 {
					return false
				}
			}
			for _, tg := range moving {
				if v, _ := m.get("traceroute_target_address_changes_total", tg.labels()); v != 1 || addressInfo(m, tg, newAddr(tg)) != nil {
					return false
				}
			}
			return true
		})
		// Probing goes on: the vanished names at their last good address,
		// the moved ones at their new one.
		first := e.scrape()
		names := append(append([]target(nil), moving...), vanishing...)
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
		for _, tg := range vanishing {
			if fs := concat(addressInfo(m, tg, goneAddr(tg)), expect(m, "traceroute_destination_reached", tg.labels(), 1),
				expect(m, "traceroute_target_address_changes_total", tg.labels(), 0)); fs != nil {
				t.Errorf("%s: %v", tg.name, fs)
			}
		}
		for _, tg := range moving {
			if fs := expect(m, "traceroute_destination_reached", tg.labels(), 1); fs != nil {
				t.Errorf("%s: %v", tg.name, fs)
			}
		}
		alive(t)
	})

	// The flaps move some targets; their stored changes are kept and
	// compared after the other faults.
	stored := map[string]storedHistory{}
	t.Run("link flaps with a scrape every 100ms", func(t *testing.T) {
		e := e.in(t)
		before := e.scrape()
		onB, hash := map[string]bool{}, map[string]float64{}
		var names []string
		for _, tg := range all {
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
		for _, tg := range all {
			changes0[tg.name] = before.value(t, "traceroute_path_changes_total", tg.labels())
		}
		const flaps = 3
		stop := e.scrapeEvery(100 * time.Millisecond)
		for i := 0; i < flaps; i++ {
			tp.flapBranchB(2 * time.Second)
			time.Sleep(2 * time.Second)
		}
		scrapes := stop()
		checkScrapes(t, scrapes, all, func(m metrics, tg target) []finding {
			c, _ := m.get("traceroute_path_changes_total", tg.labels())
			if d := c - changes0[tg.name]; (!onB[tg.name] && d != 0) || d > 2*flaps {
				return []finding{{"path changes", fmt.Sprintf("%v during %d flaps of a link it %s", d, flaps,
					map[bool]string{true: "took", false: "did not take"}[onB[tg.name]])}}
			}
			return nil
		})
		// Back where it was: every target on its path of before the flaps.
		m := e.waitFor(10*time.Second, "every target back on its path", func(m metrics) bool {
			for _, tg := range all {
				if v, _ := m.get("traceroute_path_hash", tg.labels()); v != hash[tg.name] {
					return false
				}
			}
			return true
		})
		// Each target over the link moved to r3a and back at least once:
		// the flaps did happen.
		for _, tg := range all {
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
		for _, tg := range all {
			stored[tg.name] = e.history(t, tg.name)
			if n := m.value(t, "traceroute_path_changes_total", tg.labels()); float64(len(stored[tg.name].changes)) != n {
				t.Errorf("%s: %d changes stored, %v counted", tg.name, len(stored[tg.name].changes), n)
			}
			if len(stored[tg.name].paths) == 0 {
				t.Errorf("%s: no path stored", tg.name)
			}
		}
		if v := m.value(t, "traceroute_exporter_history_errors_total", nil); v != 0 {
			t.Errorf("traceroute_exporter_history_errors_total %v before the disk is full", v)
		}
		alive(t)
	})

	// On a full disk bbolt still writes into the free pages of its file;
	// a write that needs the file to grow fails. Either way it is never
	// silent: the added target's path is stored or an error is counted.
	grown := append(append([]target(nil), all...), added[0])
	t.Run("disk full", func(t *testing.T) {
		e := e.in(t)
		disk.fill(t)
		errs0 := e.scrape().value(t, "traceroute_exporter_history_errors_total", nil)
		replaceFile(t, e.config, truthConfig(grown))
		if code, body := e.post("/-/reload"); code != 200 {
			t.Fatalf("/-/reload: %d %s", code, body)
		}
		waitHops(t, e, grown, 5)
		time.Sleep(2 * interval)
		errs := e.scrape().value(t, "traceroute_exporter_history_errors_total", nil) - errs0
		paths := len(e.history(t, added[0].name).paths)
		t.Logf("on the full disk: %s's first path stored %v, %v history errors", added[0].name, paths == 1, errs)
		if paths == 0 && errs == 0 {
			t.Errorf("%s: no path stored and no history error counted: want its path stored or an error", added[0].name)
		}
		alive(t)
	})

	t.Run("read-only store and SIGHUP storm", func(t *testing.T) {
		e := e.in(t)
		disk.fail(t)
		m := e.scrape()
		errs0 := m.value(t, "traceroute_exporter_history_errors_total", nil)
		reloadedBefore := m.value(t, "traceroute_exporter_config_last_reload_success_timestamp_seconds", nil)
		grown = append(grown, added[1])
		stormed := time.Now()
		hupStorm(t, pid, 50, 2*time.Second, func() { replaceFile(t, e.config, truthConfig(grown)) })
		t.Logf("50 SIGHUPs sent in %s", time.Since(stormed).Round(time.Millisecond))
		alive(t)
		m = e.waitFor(10*time.Second, "the grown configuration loaded and every target traced once", func(m metrics) bool {
			hops := m.seriesPerTarget("traceroute_hops")
			if v, _ := m.get("traceroute_exporter_targets", nil); v != float64(len(grown)) || len(hops) != len(grown) {
				return false
			}
			for _, tg := range grown {
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
		for _, tg := range all {
			if v := m.value(t, "traceroute_path_changes_total", tg.labels()); float64(len(stored[tg.name].changes)) != v {
				t.Errorf("%s: %v path changes counted after the storm, %d before: the reloads restarted or moved it", tg.name, v, len(stored[tg.name].changes))
			}
		}
		var api apiTargets
		e.apiGet(t, "/api/v1/targets", &api)
		seen := map[string]int{}
		for _, a := range api.Targets {
			seen[a.Name]++
		}
		for _, tg := range grown {
			if seen[tg.name] != 1 {
				t.Errorf("/api/v1/targets lists %s %d times", tg.name, seen[tg.name])
			}
		}
		// The added target's first path cannot be stored.
		m = e.waitFor(10*time.Second, "a history error for the added target's path", func(m metrics) bool {
			v, _ := m.get("traceroute_exporter_history_errors_total", nil)
			return v > errs0
		})
		if h := e.history(t, added[1].name); len(h.paths) != 0 {
			t.Errorf("%s: %d paths stored on a read-only disk: %v", added[1].name, len(h.paths), h.paths)
		}
		t.Logf("after the storm: %s; history errors %v", resourcesOf(t, m), m.value(t, "traceroute_exporter_history_errors_total", nil))
		alive(t)
	})

	t.Run("ASN database replaced by a corrupt file", func(t *testing.T) {
		e := e.in(t)
		good, err := os.ReadFile(asnDB)
		if err != nil {
			t.Fatal(err)
		}
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(good)
		w.Close()
		// A download cut short: the first half of the gzip stream.
		replaceFile(t, asnDB, gz.String()[:gz.Len()/2])
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
		observe(t, e, 3*time.Second, grown, func(m metrics, tg target, _ time.Duration) []finding {
			return concat(hopASNsFrom(m, tg, 0), fresh(m, tg, time.Now()))
		})
		// The control: a good database with other AS numbers is loaded.
		replaceFile(t, asnDB, strings.ReplaceAll(string(good), "\t6450", "\t6550"))
		if code, body := e.post("/-/reload"); code != 200 {
			t.Fatalf("/-/reload: %d %s", code, body)
		}
		m = e.waitFor(5*time.Second, "the AS numbers of the new database", func(m metrics) bool {
			for _, tg := range grown {
				if hopASNsFrom(m, tg, 1000) != nil {
					return false
				}
			}
			return true
		})
		if fs := loaded(m); fs != nil {
			t.Errorf("after reloading a good ASN database: %v", fs)
		}
		alive(t)
	})

	t.Run("no leak", func(t *testing.T) {
		e := e.in(t)
		m := e.waitFor(10*time.Second, "every target traced with 5 hops", func(m metrics) bool {
			for _, tg := range grown {
				if v, _ := m.get("traceroute_hops", tg.labels()); v != 5 {
					return false
				}
			}
			return true
		})
		now := resourcesOf(t, m)
		t.Logf("after the faults: %s (before: %s)", now, base)
		if now.goroutines > base.goroutines+faultGoroutineSlack {
			t.Errorf("%v goroutines after the faults, %v before", now.goroutines, base.goroutines)
		}
		if now.fds > base.fds+faultFDSlack {
			t.Errorf("%v open file descriptors after the faults, %v before", now.fds, base.fds)
		}
		if now.rss > base.rss+faultRSSSlack {
			t.Errorf("resident memory %.1f MiB after the faults, %.1f MiB before", now.rss/(1<<20), base.rss/(1<<20))
		}
	})

	t.Run("log and history after a restart", func(t *testing.T) {
		histErrors := e.in(t).scrape().value(t, "traceroute_exporter_history_errors_total", nil)
		e.stopProcess()
		checkFaultLog(t, e.log.String(), moving, vanishing, histErrors)
		// Repaired: the disk, and the names.
		disk.repair(t)
		hosts.write(hostLines(moving, newAddr, vanishing, goneAddr)...)
		e.start()
		e := e.in(t)
		e.waitHTTP()
		e.waitFor(10*time.Second, "every target traced again", func(m metrics) bool {
			for _, tg := range grown {
				if v, _ := m.get("traceroute_hops", tg.labels()); v != 5 {
					return false
				}
			}
			return true
		})
		// Nothing stored before the faults is lost, and the paths that
		// could not be stored then are stored now.
		for _, tg := range all {
			if lost := e.history(t, tg.name).lost(stored[tg.name]); lost != nil {
				t.Errorf("%s: lost from the history: %v", tg.name, lost)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for _, tg := range added {
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
		if aside, _ := filepath.Glob(filepath.Join(disk.dir, "history.db.corrupt-*")); aside != nil {
			t.Errorf("the history database was moved aside at the restart: %v", aside)
		}
	})

	// bbolt reads its file through a memory mapping: reading it after it
	// was cut short used to end the process with SIGBUS.
	t.Run("history file truncated under the exporter", func(t *testing.T) {
		e := e.in(t)
		if err := os.Truncate(filepath.Join(disk.dir, "history.db"), 0); err != nil {
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
		grown = append(grown, late)
		replaceFile(t, e.config, truthConfig(grown))
		if code, body := e.post("/-/reload"); code != 200 {
			t.Fatalf("/-/reload: %d %s", code, body)
		}
		e.waitFor(10*time.Second, late.name+" traced and its path's write counted as failed", func(m metrics) bool {
			v, _ := m.get("traceroute_hops", late.labels())
			errs, _ := m.get("traceroute_exporter_history_errors_total", nil)
			return v == 5 && errs > 0
		})
		observe(t, e, 2*time.Second, grown, func(m metrics, tg target, _ time.Duration) []finding {
			return concat(expect(m, "traceroute_hops", tg.labels(), 5), fresh(m, tg, time.Now()))
		})
		alive(t)
		// And it still shuts down by itself, closing what it can.
		e.stopProcess()
		if code := e.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit code %d after SIGINT (-1: killed after 5s)", code)
		}
	})
}

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
