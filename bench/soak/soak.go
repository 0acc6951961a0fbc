package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
)

// Listen addresses in the source namespace: the exporter's, and the pprof
// listener of a -pprof build.
const (
	listen     = "127.0.0.1:10188"
	pprofAddr  = "127.0.0.1:6060"
	readyAfter = time.Minute
)

// errInterrupted ends a run stopped by a signal: its report is printed,
// not written as JSON.
var errInterrupted = errors.New("interrupted")

// report is a soak run.
type report struct {
	Machine   lab.Machine `json:"machine"`
	Started   string      `json:"started"`
	Ended     string      `json:"ended"`
	LoadStart string      `json:"load_start"`
	LoadEnd   string      `json:"load_end"`
	Options   options     `json:"options"`
	Faults    []record    `json:"faults"`
	Samples   []point     `json:"samples"`
	// SampleErrors counts samples that failed (a scrape that timed out).
	SampleErrors int        `json:"sample_errors"`
	Checks       []check    `json:"checks"`
	Alive        bool       `json:"alive_at_end"`
	PeakRSS      int64      `json:"peak_rss_bytes"`     // VmHWM at the end: the high-water mark of the whole run
	Exit         string     `json:"exit_after_sigterm"` // how the exporter ended when stopped: "ok" or the error
	Log          logSummary `json:"log"`
	Flat         bool       `json:"flat"`
}

// soak runs the exporter in the namespace network for o.Duration with the
// faults of sched, sampling it every o.Sample, and judges the samples.
// Whatever it started is stopped and deleted before it returns. The
// report is nil only when the run did not get as far as the exporter's
// start.
func soak(ctx context.Context, o options, sched []slot) (*report, error) {
	rep := &report{Machine: lab.DescribeMachine(o.repo), Started: time.Now().UTC().Format(time.RFC3339),
		LoadStart: lab.LoadAverage(), Options: o}
	logf("machine: %d CPUs, %s, kernel %s, load %s", rep.Machine.CPUs, rep.Machine.Model, rep.Machine.Kernel, rep.LoadStart)
	dir, err := os.MkdirTemp("", "trx-soak-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "traceroute_exporter")
	logf("building the exporter")
	var env []string
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return nil, err
		}
		err = lab.BuildWithPprof(ctx, o.repo, bin, dir)
		env = []string{lab.PprofEnv + "=" + pprofAddr}
	} else {
		err = lab.GoBuild(ctx, o.repo, bin, ".")
	}
	if err != nil {
		return nil, err
	}
	lab.SweepStale()
	logf("building the namespace network")
	net, err := lab.BuildNetwork(ctx)
	if err != nil {
		return nil, err
	}
	defer net.Destroy()
	src := net.NS("src")
	etc := netnsEtc(src)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(etc)
	in := &injector{net: net, n: o.Targets, cfg: filepath.Join(dir, "targets.yml"), hosts: filepath.Join(etc, "hosts"),
		asn: filepath.Join(dir, "asn.tsv"), log: logf, scr: lab.NewScraper(src, listen), bursts: lab.NewScraper(src, listen)}
	store := filepath.Join(dir, "history", "traceroute_exporter.db")
	for _, err := range []error{writeHosts(in.hosts, o.Targets, false), writeConfig(in.cfg, o.Targets, configPlain),
		writeASN(in.asn, false), os.MkdirAll(filepath.Dir(store), 0o755)} {
		if err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(dir, "exporter.log")
	logf("%d targets: starting the exporter for %s, faults every %s for %s, a sample every %s",
		o.Targets, o.Duration, o.FaultEvery, o.FaultLength, o.Sample)
	in.ex, err = lab.StartIn(src, env, nil, logPath, append([]string{bin}, exporterFlags(in.cfg, listen, store, in.asn)...)...)
	if err != nil {
		return nil, err
	}
	defer in.ex.Stop()
	if err := waitReady(ctx, in); err != nil {
		return nil, err
	}
	var prof *profiler
	if o.pprofDir != "" {
		prof = &profiler{dir: o.pprofDir, scr: lab.NewScraper(src, pprofAddr)}
	}
	err = rep.observe(ctx, o, sched, in, store, prof)
	rep.Alive = !in.ex.Exited()
	if mem, err := lab.ReadMemory(in.ex.PID()); err == nil && rep.Alive {
		rep.PeakRSS = mem.Peak
	}
	if rep.Alive && prof != nil {
		prof.save(ctx, "heap-end.pb.gz", "/debug/pprof/heap?gc=1")
		prof.save(ctx, "goroutines-end.txt", "/debug/pprof/goroutine?debug=1")
	}
	in.ex.Stop()
	rep.Exit = "ok"
	if in.ex.Err != nil {
		rep.Exit = in.ex.Err.Error()
	}
	rep.Ended, rep.LoadEnd = time.Now().UTC().Format(time.RFC3339), lab.LoadAverage()
	if rep.Log, err = readLog(logPath); err != nil {
		return rep, err
	}
	if keep := os.Getenv("TRX_SOAK_KEEP_LOG"); keep != "" {
		if b, err := os.ReadFile(logPath); err == nil {
			os.WriteFile(keep, b, 0o644)
		}
	}
	rep.judge()
	return rep, err
}

// waitReady waits until /-/ready answers.
func waitReady(ctx context.Context, in *injector) error {
	deadline := time.Now().Add(readyAfter)
	for {
		if _, err := in.scr.Get(ctx, "/-/ready", false); err == nil {
			return nil
		}
		if in.ex.Exited() {
			return fmt.Errorf("exporter exited at start: %v\n%s", in.ex.Err, in.ex.LogTail())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("exporter not ready after %s (%v)\n%s", readyAfter, ctx.Err(), in.ex.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// observe runs the fault schedule in the background and samples the
// exporter every o.Sample until o.Duration has passed, the exporter has
// ended or ctx is done. The faults are undone before it returns.
func (rep *report) observe(ctx context.Context, o options, sched []slot, in *injector, store string, prof *profiler) error {
	t0 := time.Now()
	fctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, s := range sched {
			sleep(fctx, time.Until(t0.Add(s.At)))
			if fctx.Err() != nil {
				return
			}
			r := in.inject(fctx, s)
			mu.Lock()
			rep.Faults = append(rep.Faults, r)
			mu.Unlock()
		}
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	profiled := false
	for k := 1; time.Duration(k)*o.Sample <= o.Duration; k++ {
		sleep(ctx, time.Until(t0.Add(time.Duration(k)*o.Sample)))
		if ctx.Err() != nil {
			return errInterrupted
		}
		if in.ex.Exited() {
			return fmt.Errorf("exporter exited after %s: %v\n%s", time.Since(t0).Round(time.Second), in.ex.Err, in.ex.LogTail())
		}
		p, err := take(ctx, in.ex, in.scr, store, time.Since(t0))
		if err != nil {
			rep.SampleErrors++
			logf("sample at %s: %v", time.Since(t0).Round(time.Second), err)
			continue
		}
		rep.Samples = append(rep.Samples, p)
		if k%6 == 0 {
			logf("%s: RSS %.1f MB, %d goroutines, %d fds, store %.0f KB, scrape %.3f s, %d series, %.0f path changes",
				p.At.Round(time.Second), mb(p.RSS), p.Goroutines, p.FDs, float64(p.Store)/1024, p.ScrapeSec, p.Series, p.Changes)
		}
		if prof != nil && !profiled && p.At > o.Duration/3 {
			prof.save(ctx, "heap-warm.pb.gz", "/debug/pprof/heap?gc=1")
			profiled = true
		}
	}
	return nil
}

// judge fills the checks and the verdict.
func (rep *report) judge() {
	cs, err := judge(rep.Samples, rep.Options.Duration, defaultRule)
	if err != nil {
		cs = append(cs, check{Name: "samples", Rule: err.Error()})
	}
	b := func(ok bool) float64 {
		if ok {
			return 1
		}
		return 0
	}
	cs = append(cs,
		check{Name: "alive", Last: b(rep.Alive), Limit: 1, OK: rep.Alive, Rule: "the exporter still runs at the end", single: true},
		check{Name: "panics", Last: float64(len(rep.Log.Panics)), OK: len(rep.Log.Panics) == 0, Rule: "no panic or fatal error in its log", single: true},
		check{Name: "sample_errors", Last: float64(rep.SampleErrors), OK: rep.SampleErrors == 0, Rule: "every sample's scrape answered", single: true})
	rep.Checks = cs
	rep.Flat = true
	for _, c := range cs {
		rep.Flat = rep.Flat && c.OK
	}
}

// profiler saves pprof endpoints of a -pprof build into dir.
type profiler struct {
	dir string
	scr *lab.Scraper
}

// save fetches path into dir/name; failures are logged.
func (p *profiler) save(ctx context.Context, name, path string) {
	f, err := p.scr.Get(ctx, path, false)
	if err == nil {
		err = os.WriteFile(filepath.Join(p.dir, name), f.Body, 0o644)
	}
	p.scr.CloseIdle()
	if err != nil {
		logf("pprof %s: %v", name, err)
		return
	}
	logf("pprof: %s", filepath.Join(p.dir, name))
}

// mb is bytes in MB (10^6).
func mb(b int64) float64 { return float64(b) / 1e6 }
