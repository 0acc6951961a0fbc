package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/anyip"
	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
)

// settings are the targets' configuration (the same for every target) and
// the bench's timings.
type settings struct {
	Interval time.Duration `json:"interval"`
	Probes   int           `json:"probes"`
	Timeout  time.Duration `json:"timeout"`
	MaxHops  int           `json:"max_hops"`
	Window   time.Duration `json:"window"`
	Warmup   time.Duration `json:"warmup"`
	Hops     int           `json:"hops"` // the destination's distance in the bench network
}

// ttlsPerRound is how many TTLs a round probes once the path is known: up
// to one past the destination's, at most max_hops (README, "How it works").
func (s settings) ttlsPerRound() int { return min(s.MaxHops, s.Hops+1) }

// configuredRate is the probes per second n targets should send in steady
// state: each sends `probes` rounds of ttlsPerRound probes per interval.
func (s settings) configuredRate(n int) float64 {
	return float64(n*s.Probes*s.ttlsPerRound()) / s.Interval.Seconds()
}

// writeConfig writes a configuration of n ICMP targets t00000.. at the
// AnyIP destinations anyip.Addr(0..n-1).
func writeConfig(path string, n int, s settings) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "defaults:\n  protocol: icmp\n  interval: %s\n  probes: %d\n  timeout: %s\n  max_hops: %d\ntargets:\n",
		s.Interval, s.Probes, s.Timeout, s.MaxHops)
	for i := range n {
		fmt.Fprintf(w, "  - name: t%05d\n    host: %s\n", i, anyip.Addr(i))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startExporter writes the configuration of n targets into dir and runs
// the exporter binary in namespace ns, listening on listen, without
// history and without the hop budget (the bench measures the exporter at
// the full configured rate, its routers answer every probe), logging
// warnings and errors to dir/exporter-N.log. env is added
// to its environment. It returns once /-/ready answers.
func startExporter(ctx context.Context, bin, dir, ns, listen string, n int, s settings, sc *lab.Scraper, env []string) (*lab.Child, error) {
	cfg := filepath.Join(dir, fmt.Sprintf("targets-%d.yml", n))
	if err := writeConfig(cfg, n, s); err != nil {
		return nil, err
	}
	c, err := lab.StartIn(ns, env, nil, filepath.Join(dir, fmt.Sprintf("exporter-%d.log", n)), bin,
		"--config.file="+cfg, "--web.listen-address="+listen, "--storage.path=", "--log.level=warn",
		"--probe.hop-rate-limit=0")
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := sc.Get(ctx, "/-/ready", false); err == nil {
			return c, nil
		}
		if c.Exited() {
			return nil, fmt.Errorf("exporter exited at start: %v\n%s", c.Err, c.LogTail())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.Stop()
			return nil, fmt.Errorf("exporter not ready after a minute (%v)\n%s", ctx.Err(), c.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
