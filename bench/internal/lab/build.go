package lab

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// pprofOverlay is a file the pprof build adds to the exporter's main
// package, without touching the repository: it serves net/http/pprof on
// the address in PprofEnv.
//
//go:embed pprof_overlay.txt
var pprofOverlay []byte

// PprofEnv is the environment variable that gives an exporter built by
// BuildWithPprof the address of its pprof listener.
const PprofEnv = "TRX_BENCH_PPROF"

// GoBuild runs go build -o out pkg in repo.
func GoBuild(ctx context.Context, repo, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = repo
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// BuildWithPprof builds the exporter from repo into out with the pprof
// overlay; scratch is where the overlay's files go.
func BuildWithPprof(ctx context.Context, repo, out, scratch string) error {
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
