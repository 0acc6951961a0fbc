package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// setprivArgs drop to nobody with no capabilities.
var setprivArgs = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"}

// unprivilegedDir returns a temporary directory the unprivileged user can
// read, and makes the binary reachable for it.
func unprivilegedDir(t *testing.T) string {
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir), filepath.Dir(binary)} {
		os.Chmod(d, 0o755)
	}
	return dir
}

// runUnprivileged runs the binary as nobody without capabilities inside
// namespace ns and returns its exit code and output.
func runUnprivileged(t *testing.T, ns string, args ...string) (int, string) {
	t.Helper()
	argv := append(append([]string{"netns", "exec", ns}, setprivArgs...), append([]string{binary}, args...)...)
	out, err := exec.Command("ip", argv...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestRootlessICMP: as nobody without capabilities, in a namespace whose
// ping_group_range admits it, the exporter traces ICMP through datagram
// sockets, exactly as in raw mode, and says which mode it runs in; a udp
// target, which needs raw sockets, is not traced.
func TestRootlessICMP(t *testing.T) {
	requireLab(t)
	testenv.Tool(t, "setpriv")
	tp := newTopo(t, false)
	warmUp(t, tp)
	tp.in("src", "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
	dir := unprivilegedDir(t)
	wrapper := filepath.Join(dir, "unprivileged.sh")
	script := "#!/bin/sh\nexec " + strings.Join(setprivArgs, " ") + " '" + binary + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := labConfig("1s", 3, "500ms") + "  - {name: udp4, host: 198.18.7.2, protocol: udp}\n"
	defer func(b string) { binary = b }(binary)
	binary = wrapper
	e := startExporter(t, tp.name("src"), 10188, cfg, "--storage.path=")
	m := e.waitFor(15*time.Second, "both ICMP targets traced with 5 hops without privileges", func(m metrics) bool {
		for _, f := range families {
			if v, _ := m.get("traceroute_hops", lab1(f.target)); v != 5 {
				return false
			}
		}
		return true
	})
	if v, ok := m.get("traceroute_exporter_info", map[string]string{"mode": "unprivileged"}); !ok || v != 1 {
		t.Fatalf("traceroute_exporter_info{mode=\"unprivileged\"} = %v (present %v), want 1", v, ok)
	}
	for _, f := range families {
		ips := m.hopIPs(f.target)
		branch := 3
		if len(ips[3]) == 1 && ips[3][0] == addr(f.v6, 5) {
			branch = 5
		}
		for i, link := range primaryLinks(f.v6, branch) {
			if got := ips[i+1]; len(got) != 1 || got[0] != addr(f.v6, link) {
				t.Errorf("%s hop %d: %v, want %s", f.target, i+1, got, addr(f.v6, link))
			}
		}
		if v := m.value(t, "traceroute_destination_reached", lab1(f.target)); v != 1 {
			t.Errorf("%s: destination_reached %v, want 1", f.target, v)
		}
	}
	time.Sleep(3 * time.Second)
	m = e.scrape()
	if v, _ := m.get("traceroute_probes_sent_total", map[string]string{"target": "udp4"}); v != 0 {
		t.Errorf("udp4: %v probes sent without raw sockets, want 0", v)
	}
	for _, f := range families {
		if v := m.value(t, "traceroute_path_changes_total", lab1(f.target)); v != 0 {
			t.Errorf("%s: %v path changes", f.target, v)
		}
	}
	if !strings.Contains(e.log.String(), "udp and tcp targets will not be traced") {
		t.Errorf("the log does not say that udp targets need raw sockets:\n%s", e.log.String())
	}
}
