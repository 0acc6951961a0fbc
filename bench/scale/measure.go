package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
)

// bench is what every scale shares: the network, the binaries, the
// settings and a scraper of the exporter.
type bench struct {
	net      *lab.Network
	exporter string // exporter binary
	rawloop  string // rawloop binary
	dir      string // scratch directory: configurations, logs
	listen   string // exporter's listen address in the source namespace
	set      settings
	clk      int64 // clock ticks per second
	scr      *lab.Scraper
	pprof    *profiler // nil: no profiles
	log      func(format string, args ...any)
}

// sample is a process's CPU time and its namespace's probes at one time.
type sample struct {
	at    time.Time
	ticks int64
	tx    int64
}

// take samples process pid.
func take(pid int) (sample, error) {
	t, err := lab.CPUTicks(pid)
	if err != nil {
		return sample{}, err
	}
	tx, err := lab.TxPackets(pid, lab.SrcDev)
	return sample{at: time.Now(), ticks: t, tx: tx}, err
}

// usage returns the probes per second, CPU cores and CPU µs per probe
// between two samples.
func (b *bench) usage(s0, s1 sample) (rate, cores, usPerProbe float64, err error) {
	probes := s1.tx - s0.tx
	if probes <= 0 {
		return 0, 0, 0, fmt.Errorf("no probe left the source in %s", s1.at.Sub(s0.at))
	}
	cpu := float64(s1.ticks-s0.ticks) / float64(b.clk) // seconds
	secs := s1.at.Sub(s0.at).Seconds()
	return float64(probes) / secs, cpu / secs, cpu * 1e6 / float64(probes), nil
}

// measure runs the exporter with n targets: warm-up, a window in which
// nothing but probing happens (CPU and probes counted on the source's
// interface), then memory, timed scrapes and the targets' health; then
// the bare loop at the rate the exporter achieved.
func (b *bench) measure(ctx context.Context, n int) (r result, err error) {
	r = result{Targets: n, ConfiguredRate: b.set.configuredRate(n)}
	var env []string
	if b.pprof != nil {
		env = b.pprof.env()
	}
	b.log("%d targets: starting the exporter", n)
	ex, err := startExporter(ctx, b.exporter, b.dir, b.net.NS("src"), b.listen, n, b.set, b.scr, env)
	if err != nil {
		return r, err
	}
	defer ex.Stop()
	b.log("%d targets: warming up for %s", n, b.set.Warmup)
	if err := sleep(ctx, b.set.Warmup); err != nil {
		return r, err
	}
	mem, err := lab.ReadMemory(ex.PID())
	if err != nil {
		return r, err
	}
	r.PeakProbing = mem.Peak
	first, err := b.scr.Get(ctx, "/metrics", false)
	if err != nil {
		return r, err
	}
	e0, err := parseExposition(bytes.NewReader(first.Body))
	if err != nil {
		return r, err
	}
	r.ScrapeFirst = first.Duration.Seconds()
	if err := sleep(ctx, 3*time.Second); err != nil { // the scrape's garbage collected
		return r, err
	}
	b.log("%d targets: measuring for %s", n, b.set.Window)
	s0, err := take(ex.PID())
	if err != nil {
		return r, err
	}
	if err := sleep(ctx, b.set.Window); err != nil {
		return r, err
	}
	s1, err := take(ex.PID())
	if err != nil {
		return r, err
	}
	if ex.Exited() {
		return r, fmt.Errorf("exporter exited: %v\n%s", ex.Err, ex.LogTail())
	}
	if r.AchievedRate, r.CPUCores, r.CPUPerProbeUS, err = b.usage(s0, s1); err != nil {
		return r, err
	}
	if mem, err = lab.ReadMemory(ex.PID()); err != nil {
		return r, err
	}
	r.RSS = mem.RSS
	if err := b.scrapes(ctx, &r, e0, first.Start); err != nil {
		return r, err
	}
	if mem, err = lab.ReadMemory(ex.PID()); err != nil {
		return r, err
	}
	r.PeakRSS = mem.Peak
	if b.pprof != nil {
		b.pprof.collect(ctx, n, time.Duration(r.ScrapeSec*float64(time.Second)), b.scr)
	}
	ex.Stop()
	b.log("%d targets: bare loop at %.0f probes/s for %s", n, r.AchievedRate, b.set.Window)
	l, err := b.rawLoop(ctx, n, r.AchievedRate)
	if err != nil {
		return r, fmt.Errorf("bare loop: %w", err)
	}
	r.Raw = l
	if l.CPUPerProbeUS > 0 {
		r.RawRatio = r.CPUPerProbeUS / l.CPUPerProbeUS
		r.OverRawUS = r.CPUPerProbeUS - l.CPUPerProbeUS
	}
	return r, nil
}

// scrapes times five identity and five gzip scrapes of /metrics and reads
// the targets' health and the exporter's counters from the first; e0 is
// the exposition of a scrape sent at at0, before the window. Counter rates
// run from request to request: a scrape reads the counters as it starts.
func (b *bench) scrapes(ctx context.Context, r *result, e0 *exposition, at0 time.Time) error {
	f, err := b.scr.Get(ctx, "/metrics", false)
	if err != nil {
		return err
	}
	e, err := parseExposition(bytes.NewReader(f.Body))
	if err != nil {
		return err
	}
	sent := e.Sums["traceroute_probes_sent_total"] - e0.Sums["traceroute_probes_sent_total"]
	r.CounterRate = sent / f.Start.Sub(at0).Seconds()
	if sent > 0 {
		r.ReplyShare = (e.Sums["traceroute_probe_replies_total"] - e0.Sums["traceroute_probe_replies_total"]) / sent
		r.RoundsCompleteMin = max(0, 1-float64(b.set.ttlsPerRound())*(1-r.ReplyShare))
		r.RoundsCompleteMax = r.ReplyShare
	}
	r.health = e.health()
	r.Samples = e.Samples
	r.Counters = readCounters(e)
	r.CountersWindow = r.Counters.minus(readCounters(e0))
	r.HeapInuse = int64(e.Sums["go_memstats_heap_inuse_bytes"])
	r.GoSys = int64(e.Sums["go_memstats_sys_bytes"])
	r.Goroutines = int(e.Sums["go_goroutines"])

	d, last, err := b.scr.Timed(ctx, "/metrics", false, 5)
	if err != nil {
		return err
	}
	r.ScrapeSec, r.ScrapeBytes = d.Seconds(), len(last.Body)
	d, last, err = b.scr.Timed(ctx, "/metrics", true, 5)
	if err != nil {
		return err
	}
	r.ScrapeGzSec, r.ScrapeGzBytes = d.Seconds(), len(last.Body)
	return nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logf prints a progress line to stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}
