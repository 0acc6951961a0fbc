package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
)

// profiler takes the exporter's heap and CPU profiles after each scale's
// measurement (never during its window) into dir.
type profiler struct {
	dir  string
	addr string // pprof listener in the source namespace
	scr  *lab.Scraper
	log  func(format string, args ...any)
}

// env is what the exporter's environment needs for its pprof listener.
func (p *profiler) env() []string { return []string{lab.PprofEnv + "=" + p.addr} }

// collect saves, for n targets: the live heap (after a GC), 10 s of CPU
// while the exporter only probes, and CPU while it serves scrapes back to
// back through metrics (scrape is one scrape's duration), each with its
// `go tool pprof -top` text. Failures are logged, never fatal.
func (p *profiler) collect(ctx context.Context, n int, scrape time.Duration, metrics *lab.Scraper) {
	save := func(name, path string) {
		f, err := p.scr.Get(ctx, path, false)
		if err != nil {
			p.log("pprof %s: %v", name, err)
			return
		}
		file := filepath.Join(p.dir, fmt.Sprintf("%s-%d.pb.gz", name, n))
		if err := os.WriteFile(file, f.Body, 0o644); err != nil {
			p.log("pprof %s: %v", name, err)
			return
		}
		top, _ := exec.Command("go", "tool", "pprof", "-top", "-nodecount=25", file).CombinedOutput()
		os.WriteFile(file+".top.txt", top, 0o644)
		p.log("pprof: %s and %s.top.txt", file, file)
	}
	save("heap", "/debug/pprof/heap?gc=1")
	save("cpu-probing", "/debug/pprof/profile?seconds=10")
	secs := int(math.Ceil(3*scrape.Seconds())) + 1
	done := make(chan struct{})
	go func() {
		defer close(done)
		save("cpu-scraping", fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs))
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		if _, err := metrics.Get(ctx, "/metrics", false); err != nil {
			p.log("pprof scrape: %v", err)
			<-done
			return
		}
	}
}
