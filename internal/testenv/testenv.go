// Package testenv holds test helpers for what tests need from the machine:
// tools on PATH and root. Under CI (CI=true) a missing requirement fails
// the test; elsewhere it skips with the reason, so a developer without the
// tools can still run the unit tests.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI.
func InCI() bool { return os.Getenv("CI") == "true" }

// missing fails the test in CI and skips it elsewhere.
func missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI: %s", why)
	}
	t.Skipf("skipped outside CI: %s", why)
}

// Tool returns the path of a tool on PATH, or fails (CI) / skips.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" is not installed (see README: the test command installs it)")
	}
	return p
}

// Root requires the test to run as root (for raw sockets and namespaces).
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "this test needs root (raw sockets, network namespaces)")
	}
}
