// Command soak is the exporter's soak test (make soak, as root; not part
// of make test). It builds the benchmarks' chain of network namespaces
// src - r1 - r2 - r3 - r4 - dst (dst answers for every address of
// 198.19.0.0/16), runs the real exporter in src with N targets for a
// long time (1,000 for 30 minutes by default) with a realistic
// configuration (ICMP, UDP and TCP, 10-30 s intervals, names from the
// namespace's hosts file, Paris flows, a path history store, an ASN
// database), and injects faults on a schedule: a silent router, loss, a
// flapping link, a route change, DNS answers that move or vanish, SIGHUP
// storms with bad files, a corrupt ASN database, scrape bursts. Every
// -sample it reads the exporter's RSS, goroutines, open file descriptors,
// store size and scrape time. At the end it judges whether they stayed
// flat (flat.go states the rule), that the exporter still runs and logged
// no panic, prints a table, writes JSON and exits 1 if not.
//
// Traffic stays in the namespaces it creates (198.18.0.0/15 only); they,
// the exporter and the hosts file are removed when it ends, also on error
// or interrupt.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/anyip"
)

func main() { os.Exit(run()) }

// options are the soak's flags.
type options struct {
	Targets     int
	Duration    time.Duration
	Sample      time.Duration
	FaultEvery  time.Duration
	FaultLength time.Duration
	repo        string
	jsonPath    string
	pprofDir    string
}

// MarshalJSON writes the durations as Go durations ("30m0s").
func (o options) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"targets": o.Targets, "duration": o.Duration.String(), "sample": o.Sample.String(),
		"fault_every": o.FaultEvery.String(), "fault_length": o.FaultLength.String()})
}

func run() int {
	var o options
	flag.IntVar(&o.Targets, "targets", 1000, "number of targets")
	flag.DurationVar(&o.Duration, "duration", 30*time.Minute, "how long the exporter runs")
	flag.DurationVar(&o.Sample, "sample", 10*time.Second, "time between samples")
	flag.DurationVar(&o.FaultEvery, "fault-every", 0, "time between faults (0: duration/27, at least 20s: every fault in each third)")
	flag.DurationVar(&o.FaultLength, "fault-length", 0, "how long each fault lasts (0: half of -fault-every)")
	flag.StringVar(&o.repo, "repo", ".", "repository root to build the exporter from")
	flag.StringVar(&o.jsonPath, "json", "", "write the run as JSON to this file")
	flag.StringVar(&o.pprofDir, "pprof", "", "build the exporter with a pprof listener (go build -overlay; the repository is not changed) and save heap profiles after the warm-up and at the end, and a goroutine dump at the end, into this directory")
	flag.Parse()
	if o.FaultEvery == 0 {
		o.FaultEvery = defaultPeriod(o.Duration)
	}
	if o.FaultLength == 0 {
		o.FaultLength = o.FaultEvery / 2
	}
	if o.Targets < 1 || 2*o.Targets > anyip.Max {
		fmt.Fprintf(os.Stderr, "soak: -targets %d not in 1..%d\n", o.Targets, anyip.Max/2)
		return 2
	}
	sched, err := schedule(o.Duration, o.FaultEvery, o.FaultLength)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "soak: needs root (network namespaces and raw sockets)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	rep, err := soak(ctx, o, sched)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		if rep == nil {
			return 1
		}
	}
	printReport(os.Stdout, rep)
	if o.jsonPath != "" && !errors.Is(err, errInterrupted) {
		if err := writeJSON(o.jsonPath, rep); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 1
		}
		fmt.Println("\nJSON:", o.jsonPath)
	}
	if err != nil || !rep.Flat {
		return 1
	}
	return 0
}

// logf prints a progress line to stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}
