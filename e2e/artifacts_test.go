package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// artifacts are files a test keeps under e2e/artifacts/<test>/ when it
// fails (or always, with TRX_E2E_KEEP_ARTIFACTS=1, e.g. to refresh the
// README's screenshots); otherwise they go with the test's temporary
// directory.
type artifacts struct {
	t   *testing.T
	dir string
}

func newArtifacts(t *testing.T) *artifacts {
	a := &artifacts{t: t, dir: t.TempDir()}
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("TRX_E2E_KEEP_ARTIFACTS") == "" {
			return
		}
		keep := filepath.Join("artifacts", regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
		os.RemoveAll(keep)
		if err := os.MkdirAll(keep, 0o755); err != nil {
			t.Logf("artifacts: %v", err)
			return
		}
		files, _ := os.ReadDir(a.dir)
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(a.dir, f.Name()))
			if err == nil {
				err = os.WriteFile(filepath.Join(keep, f.Name()), b, 0o644)
			}
			if err != nil {
				t.Logf("artifacts: %v", err)
			}
		}
		abs, _ := filepath.Abs(keep)
		t.Logf("artifacts kept in %s", abs)
	})
	return a
}

func (a *artifacts) save(name string, b []byte) {
	if err := os.WriteFile(filepath.Join(a.dir, name), b, 0o644); err != nil {
		a.t.Logf("artifacts: %v", err)
	}
}
