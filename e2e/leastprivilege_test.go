package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// TestLeastPrivilegeRaw runs the binary with exactly what
// examples/traceroute_exporter.service grants: a user that is not root,
// CAP_NET_RAW as its only capability (ambient and bounding set) and no
// way to gain more (no_new_privs), writing its history into a directory
// of its own (the unit's StateDirectory). It must trace in raw mode,
// every protocol (icmp, udp, tcp to 127.0.0.1 in a namespace of its own),
// open its history there, and log no warning: if the exporter ever needs
// another capability, this fails before the unit does on a real host.
func TestLeastPrivilegeRaw(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped with -short")
	}
	testenv.Root(t)
	testenv.Tool(t, "ip")
	testenv.Tool(t, "setpriv")
	l := newLab(t, false)
	l.addNode("lp")

	dir := unprivilegedDir(t)
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(state, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	setpriv := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all,+net_raw", "--ambient-caps=-all,+net_raw", "--bounding-set=-all,+net_raw", "--no-new-privs"}
	wrapper := filepath.Join(dir, "least-privilege.sh")
	script := "#!/bin/sh\nexec " + strings.Join(setpriv, " ") + " '" + binary + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	defer func(b string) { binary = b }(binary)
	binary = wrapper

	const cfg = "targets:\n" +
		"  - {name: icmp, host: 127.0.0.1, interval: 1s, probes: 2, timeout: 500ms}\n" +
		"  - {name: udp, host: 127.0.0.1, protocol: udp, interval: 1s, probes: 2, timeout: 500ms}\n" +
		"  - {name: tcp, host: 127.0.0.1, protocol: tcp, port: 9, interval: 1s, probes: 2, timeout: 500ms}\n"
	db := filepath.Join(state, "traceroute_exporter.db")
	e := startExporter(t, l.name("lp"), 10188, cfg, "--storage.path="+db)
	m := e.waitFor(10*time.Second, "every protocol reaching 127.0.0.1 with CAP_NET_RAW only", func(m metrics) bool {
		for _, p := range []string{"icmp", "udp", "tcp"} {
			if v, _ := m.get("traceroute_destination_reached", map[string]string{"target": p}); v != 1 {
				return false
			}
		}
		return true
	})
	if v, ok := m.get("traceroute_exporter_info", map[string]string{"mode": "raw"}); !ok || v != 1 {
		t.Errorf("traceroute_exporter_info{mode=\"raw\"} = %v (present %v), want 1: CAP_NET_RAW alone must give raw sockets", v, ok)
	}
	if v, _ := m.get("traceroute_exporter_history_errors_total", nil); v != 0 {
		t.Errorf("%v history errors writing to the state directory", v)
	}
	if st, err := os.Stat(db); err != nil || st.Size() == 0 {
		t.Errorf("no history file in the state directory: %v", err)
	}
	// Once its sockets are open it holds nothing; the bounding set keeps
	// CAP_NET_RAW (emptying it needs CAP_SETPCAP), and no_new_privs keeps
	// it from gaining it back.
	if caps, threads := threadCaps(t, e.cmd.Process.Pid); caps["CapEff"]|caps["CapPrm"]|caps["CapInh"]|caps["CapAmb"] != 0 {
		t.Errorf("capabilities still held after start over %d threads: %v", threads, caps)
	}
	for _, bad := range []string{"level=warn", "level=error"} {
		if strings.Contains(e.log.String(), bad) {
			t.Errorf("the exporter logged a warning or an error with CAP_NET_RAW only:\n%s", e.log.String())
			break
		}
	}
}
