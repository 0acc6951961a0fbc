package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// pprofOverlay is a file the -pprof build adds to the exporter's main
// package, without touching the repository: it serves net/http/pprof on
// the address in TRX_BENCH_PPROF.
//
//go:embed pprof_overlay.txt
var pprofOverlay []byte

// profiler takes the exporter's heap and CPU profiles after each scale's
// measurement (never during its window) into dir.
type profiler struct {
	dir  string
	addr string // pprof listener in the source namespace
	scr  *scraper
	log  func(format string, args ...any)
}

// env is what the exporter's environment needs for its pprof listener.
func (p *profiler) env() []string { return []string{"TRX_BENCH_PPROF=" + p.addr} }

// buildWithPprof builds the exporter from repo into out with the pprof
// overlay; scratch is where the overlay's files go.
func buildWithPprof(ctx context.Context, repo, out, scratch string) error {
	abs, err := filepath.Abs(repo)
	if err != nil {
		return err
	}
	src := filepath.Join(scratch, "zz_bench_pprof.go")
	if err := os.WriteFile(src, pprofOverlay, 0o644); err != nil {
		return err
	}
	ov, err := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(abs, "zz_bench_pprof.go"): src}})
	if err != nil {
		return err
	}
	ovPath := filepath.Join(scratch, "overlay.json")
	if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-overlay", ovPath, "-o", out, ".")
	cmd.Dir = repo
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -overlay: %w\n%s", err, b)
	}
	return nil
}

// collect saves, for n targets: the live heap (after a GC), 10 s of CPU
// while the exporter only probes, and CPU while it serves scrapes back to
// back through metrics (scrape is one scrape's duration), each with its
// `go tool pprof -top` text. Failures are logged, never fatal.
func (p *profiler) collect(ctx context.Context, n int, scrape time.Duration, metrics *scraper) {
	save := func(name, path string) {
		f, err := p.scr.get(ctx, path, false)
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
		if _, err := metrics.get(ctx, "/metrics", false); err != nil {
			p.log("pprof scrape: %v", err)
			<-done
			return
		}
	}
}
