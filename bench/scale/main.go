// Command scale is the exporter's scale benchmark (make bench-scale, as
// root). It builds a chain of network namespaces src - r1 - r2 - r3 - r4 -
// dst whose last one answers for every address of 198.19.0.0/16 (AnyIP),
// runs the exporter in src with 100, 1,000 and 10,000 ICMP targets there,
// and measures, per scale: probes per second configured and achieved, CPU
// time per probe next to a bare raw-socket loop (bench/rawloop) at the
// same rate, peak and current RSS, RSS per target, /metrics time and size,
// the share of complete intervals and the destination loss. It prints a
// Markdown table and the host's description and writes the run as JSON.
//
// Traffic stays in the namespaces it creates (198.18.0.0/15 only); they,
// the exporter and the loop are removed when it ends, also on error or
// interrupt.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/anyip"
	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
)

func main() { os.Exit(run()) }

func run() int {
	var (
		scales   = flag.String("targets", "100,1000,10000", "comma-separated numbers of targets, one exporter run each")
		window   = flag.Duration("window", 60*time.Second, "measurement window per scale, for the exporter and for the bare loop")
		warmup   = flag.Duration("warmup", 0, "wait before the window (0: two intervals + 5s, so every target is past its second interval's start)")
		interval = flag.Duration("interval", 30*time.Second, "targets' interval")
		probes   = flag.Int("probes", 10, "targets' probes per TTL per interval")
		timeout  = flag.Duration("timeout", 2*time.Second, "targets' probe timeout")
		maxHops  = flag.Int("max-hops", 8, "targets' max_hops")
		jsonPath = flag.String("json", "", "write the results as JSON to this file")
		repo     = flag.String("repo", ".", "repository root to build the exporter and the loop from")
		pprofDir = flag.String("pprof", "", "build the exporter with a pprof listener (go build -overlay; the repository is not changed) and save heap and CPU profiles per scale into this directory")
	)
	flag.Parse()
	ns, err := parseScales(*scales)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "scale: needs root (network namespaces and raw sockets)")
		return 2
	}
	set := settings{Interval: *interval, Probes: *probes, Timeout: *timeout, MaxHops: *maxHops, Window: *window, Warmup: *warmup, Hops: lab.Hops}
	if set.Warmup == 0 {
		// Targets start within one interval; a target's second interval
		// starts before its first result (and so its hop count) is in,
		// and probes max_hops in its first round. From the third on, every
		// interval starts from the hop count: the steady state.
		set.Warmup = 2*set.Interval + 5*time.Second
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	rep, err := runBench(ctx, ns, set, *repo, *pprofDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		return 1
	}
	if *jsonPath != "" {
		if err := writeJSON(*jsonPath, rep); err != nil {
			fmt.Fprintln(os.Stderr, "scale:", err)
			return 1
		}
		fmt.Println("\nJSON:", *jsonPath)
	}
	for _, r := range rep.Results {
		if r.Error != "" {
			return 1
		}
	}
	return 0
}

// runBench builds the binaries and the network, measures every scale and
// prints the report. Whatever it started is stopped and deleted before it
// returns.
func runBench(ctx context.Context, scales []int, set settings, repo, pprofDir string) (report, error) {
	m := lab.DescribeMachine(repo)
	rep := report{Machine: m, Started: time.Now().UTC().Format(time.RFC3339), LoadStart: lab.LoadAverage(), Notes: notes(set),
		Settings: map[string]any{"interval": set.Interval.String(), "probes": set.Probes, "timeout": set.Timeout.String(),
			"max_hops": set.MaxHops, "window": set.Window.String(), "warmup": set.Warmup.String(), "hops": set.Hops}}
	logf("machine: %d CPUs, %s, kernel %s, load %s", m.CPUs, m.Model, m.Kernel, rep.LoadStart)
	dir, err := os.MkdirTemp("", "trx-scale-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	b := &bench{dir: dir, listen: "127.0.0.1:10188", set: set, clk: lab.ClockTicks(), log: logf,
		exporter: filepath.Join(dir, "traceroute_exporter"), rawloop: filepath.Join(dir, "rawloop")}
	if err := b.build(ctx, repo, pprofDir); err != nil {
		return rep, err
	}
	lab.SweepStale()
	logf("building the namespace network")
	b.net, err = lab.BuildNetwork(ctx)
	if err != nil {
		return rep, err
	}
	defer b.net.Destroy()
	b.scr = lab.NewScraper(b.net.NS("src"), b.listen)
	if pprofDir != "" {
		b.pprof = &profiler{dir: pprofDir, addr: "127.0.0.1:6060", scr: lab.NewScraper(b.net.NS("src"), "127.0.0.1:6060"), log: logf}
	}
	for _, n := range scales {
		r, err := b.measure(ctx, n)
		if err != nil {
			if ctx.Err() != nil {
				return rep, fmt.Errorf("interrupted at %d targets", n)
			}
			logf("%d targets: %v", n, err)
			r.Error = err.Error()
		}
		rep.Results = append(rep.Results, r)
	}
	rep.LoadEnd = lab.LoadAverage()
	rep.Goals = goals(rep.Results)
	fmt.Printf("\nMachine: %d CPUs (%s), kernel %s, %s memory, %s, exporter at %s\n", m.CPUs, m.Model, m.Kernel, m.MemTotal, m.Go, m.Revision)
	fmt.Printf("Load average (1, 5, 15 min): %s at start, %s at end\n", rep.LoadStart, rep.LoadEnd)
	fmt.Printf("Targets: ICMP, interval %s, probes %d, timeout %s, max_hops %d, destination %d hops away; warm-up %s, window %s\n\n",
		set.Interval, set.Probes, set.Timeout, set.MaxHops, set.Hops, set.Warmup, set.Window)
	printTable(os.Stdout, rep.Results)
	fmt.Println()
	printCounters(os.Stdout, rep.Results)
	for _, n := range rep.Notes {
		fmt.Println("- " + n)
	}
	if len(rep.Goals) > 0 {
		fmt.Println("\nGoals of the Scale issue:")
		printGoals(os.Stdout, rep.Goals)
	}
	return rep, nil
}

// build compiles the exporter (with the pprof overlay when pprofDir is
// set) and the bare loop into the scratch directory.
func (b *bench) build(ctx context.Context, repo, pprofDir string) error {
	if _, err := os.Stat(filepath.Join(repo, "go.mod")); err != nil {
		return fmt.Errorf("-repo %s is not the repository root: %w", repo, err)
	}
	logf("building the exporter and the bare loop")
	if pprofDir != "" {
		if err := os.MkdirAll(pprofDir, 0o755); err != nil {
			return err
		}
		if err := lab.BuildWithPprof(ctx, repo, b.exporter, b.dir); err != nil {
			return err
		}
	} else if err := lab.GoBuild(ctx, repo, b.exporter, "."); err != nil {
		return err
	}
	return lab.GoBuild(ctx, repo, b.rawloop, "./bench/rawloop")
}

// parseScales parses "100,1000,10000" into ascending, distinct scales.
func parseScales(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > anyip.Max {
			return nil, fmt.Errorf("-targets: %q is not a number of targets in 1..%d", f, anyip.Max)
		}
		ns = append(ns, n)
	}
	if len(ns) == 0 {
		return nil, errors.New("-targets: no scale")
	}
	slices.Sort(ns)
	return slices.Compact(ns), nil
}
