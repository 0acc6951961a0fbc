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
	if code != 0 || !strings.Contains(out, "OK, 4 targets") {
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
	testenv.Tool(t, "setpriv")
	// Neither CAP_NET_RAW nor a ping_group_range that admits the user:
	// the exporter stops with one line naming both ways out.
	l := newLab(t, false)
	l.addNode("np")
	l.in("np", "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
	dir := unprivilegedDir(t)
	cfg := filepath.Join(dir, "c.yml")
	os.WriteFile(cfg, []byte("targets:\n  - host: 127.0.0.1\n"), 0o644)
	code, out := runUnprivileged(t, l.name("np"), "--config.file", cfg, "--web.listen-address", "127.0.0.1:0", "--storage.path=")
	var errLines []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.Contains(line, "level=info") {
			errLines = append(errLines, line)
		}
	}
	if code != 1 || len(errLines) != 1 || !strings.Contains(errLines[0], "setcap cap_net_raw+ep") || !strings.Contains(errLines[0], "ping_group_range") {
		t.Fatalf("without CAP_NET_RAW or ping_group_range: exit %d, output %q; want exit 1 and one line naming setcap and ping_group_range", code, out)
	}
}

func TestVersion(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	code, out := run(t, nil, "--version")
	if code != 0 || !strings.Contains(out, "traceroute_exporter, version "+strings.TrimSpace(string(want))+" ") {
		t.Fatalf("--version: exit %d, %q; want the VERSION file's %s even for a plain go build", code, out, strings.TrimSpace(string(want)))
	}
}
