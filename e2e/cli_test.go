package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// run runs the built binary with args and returns its exit code and output.
func run(t *testing.T, cred *syscall.Credential, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func TestConfigCheck(t *testing.T) {
	code, out := run(t, nil, "--config.check", "--config.file", filepath.Join("..", "config.example.yml"))
	if code != 0 || !strings.Contains(out, "OK, 3 targets") {
		t.Fatalf("--config.check on config.example.yml: exit %d, %q", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(bad, []byte("targets:\n  - host: 198.18.7.2\n    max_hops: 300\n"), 0o644)
	code, out = run(t, nil, "--config.check", "--config.file", bad)
	want := "targets[0] (198.18.7.2): max_hops: 300 is out of range 1..255"
	if code != 1 || !strings.Contains(out, want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("--config.check on a bad file: exit %d, %q; want exit 1 and one line naming %q", code, out, want)
	}
}

func TestBadConfigAtStart(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(bad, []byte("targets:\n  - host: 198.18.7.2\n    colour: blue\n"), 0o644)
	code, out := run(t, nil, "--config.file", bad, "--web.listen-address", "127.0.0.1:0")
	if code != 1 || !strings.Contains(out, "field colour not found") {
		t.Fatalf("start with an unknown key: exit %d, %q; want exit 1 naming the key", code, out)
	}
}

func TestMissingPrivilege(t *testing.T) {
	testenv.Root(t)
	// The binary's directory must be reachable by the unprivileged user.
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(filepath.Dir(binary), 0o755)
	cfg := filepath.Join(dir, "c.yml")
	os.WriteFile(cfg, []byte("targets:\n  - host: 127.0.0.1\n"), 0o644)
	code, out := run(t, &syscall.Credential{Uid: 65534, Gid: 65534}, "--config.file", cfg, "--web.listen-address", "127.0.0.1:0")
	var errLines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.Contains(l, "level=info") {
			errLines = append(errLines, l)
		}
	}
	if code != 1 || len(errLines) != 1 || !strings.Contains(errLines[0], "CAP_NET_RAW") || !strings.Contains(errLines[0], "setcap cap_net_raw+ep") {
		t.Fatalf("without CAP_NET_RAW: exit %d, output %q; want exit 1 and one line saying to setcap or run as root", code, out)
	}
}
