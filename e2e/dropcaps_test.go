package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// threadCaps reads the capability sets of every thread of process pid
// (/proc/PID/task/*/status) and returns, per set (CapEff, CapPrm, CapInh,
// CapAmb, CapBnd), the union over the threads, and how many threads there
// were. Linux keeps capabilities per thread, so one thread left holding
// one is a process holding it.
func threadCaps(t *testing.T, pid int) (map[string]uint64, int) {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads of process %d: %v", pid, err)
	}
	caps := map[string]uint64{}
	for _, st := range tasks {
		b, err := os.ReadFile(st)
		if err != nil {
			continue // the thread ended
		}
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok || !strings.HasPrefix(k, "Cap") {
				continue
			}
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", st, l, err)
			}
			caps[k] |= n
		}
	}
	return caps, len(tasks)
}

// TestDropCapabilities runs the binary as root, tracing icmp, udp and tcp,
// and checks that once running no thread holds any capability (effective,
// permitted, inheritable, ambient or bounding), that every protocol is
// still traced on the sockets opened before the drop, and that a reload
// adding targets still works. The negative control runs it with
// --no-runtime.drop-capabilities and must see capabilities on its threads,
// so the reading can fail.
func TestDropCapabilities(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped with -short")
	}
	testenv.Root(t)
	testenv.Tool(t, "ip")
	l := newLab(t, false)
	l.addNode("dc")
	const cfg = "targets:\n" +
		"  - {name: icmp, host: 127.0.0.1, interval: 1s, probes: 2, timeout: 500ms}\n" +
		"  - {name: udp, host: 127.0.0.1, protocol: udp, interval: 1s, probes: 2, timeout: 500ms}\n" +
		"  - {name: tcp, host: 127.0.0.1, protocol: tcp, port: 9, interval: 1s, probes: 2, timeout: 500ms}\n"
	reached := func(names ...string) func(m metrics) bool {
		return func(m metrics) bool {
			for _, n := range names {
				if v, _ := m.get("traceroute_destination_reached", map[string]string{"target": n}); v != 1 {
					return false
				}
			}
			return true
		}
	}

	t.Run("dropped", func(t *testing.T) {
		e := startExporter(t, l.name("dc"), 10188, cfg, "--storage.path=")
		e.waitFor(10*time.Second, "every protocol reaching 127.0.0.1", reached("icmp", "udp", "tcp"))
		caps, threads := threadCaps(t, e.cmd.Process.Pid)
		for _, set := range []string{"CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"} {
			if caps[set] != 0 {
				t.Errorf("%s = %016x over the %d threads, want none: capabilities must be dropped on every thread once the sockets are open", set, caps[set], threads)
			}
		}
		if !strings.Contains(e.log.String(), `msg="Dropped capabilities now that the sockets are open"`) {
			t.Errorf("no log line saying the capabilities were dropped:\n%s", e.log.String())
		}
		// Targets added by a reload are traced on the sockets opened at
		// start: nothing after the drop needs a capability.
		more := cfg + "  - {name: icmp2, host: 127.0.0.2, interval: 1s, probes: 2, timeout: 500ms}\n" +
			"  - {name: udp2, host: 127.0.0.2, protocol: udp, interval: 1s, probes: 2, timeout: 500ms}\n"
		if err := os.WriteFile(e.config, []byte(more), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, body := e.post("/-/reload"); code != 200 {
			t.Fatalf("reload after dropping capabilities: %d %q", code, body)
		}
		e.waitFor(10*time.Second, "targets added by a reload reached", reached("icmp2", "udp2", "tcp"))
		if caps, _ := threadCaps(t, e.cmd.Process.Pid); caps["CapEff"]|caps["CapPrm"] != 0 {
			t.Errorf("capabilities back after a reload: %v", caps)
		}
	})

	t.Run("kept (negative control)", func(t *testing.T) {
		e := startExporter(t, l.name("dc"), 10188, cfg, "--storage.path=", "--no-runtime.drop-capabilities")
		e.waitFor(10*time.Second, "every protocol reaching 127.0.0.1", reached("icmp", "udp", "tcp"))
		caps, threads := threadCaps(t, e.cmd.Process.Pid)
		const netRaw = 1 << 13
		if caps["CapEff"]&netRaw == 0 || caps["CapBnd"]&netRaw == 0 {
			t.Errorf("with --no-runtime.drop-capabilities CapEff = %016x, CapBnd = %016x over %d threads, want CAP_NET_RAW in both: reading the capabilities does not work", caps["CapEff"], caps["CapBnd"], threads)
		}
	})
}
