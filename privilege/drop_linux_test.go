package privilege

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// childEnv makes the test binary act as the child of TestDropEveryThread:
// it starts threads, calls Drop (unless "none"), starts more threads and
// prints the union of every thread's capability sets.
const childEnv = "PRIVILEGE_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		child(mode)
		return
	}
	os.Exit(m.Run())
}

// lockedThreads starts n goroutines each locked to its own OS thread and
// returns a function that lets them end.
func lockedThreads(n int) func() {
	var ready sync.WaitGroup
	quit := make(chan struct{})
	for i := 0; i < n; i++ {
		ready.Add(1)
		go func() {
			runtime.LockOSThread()
			ready.Done()
			<-quit
		}()
	}
	ready.Wait()
	return func() { close(quit) }
}

func child(mode string) {
	release := lockedThreads(4)
	defer release()
	if mode != "none" {
		var keep []Value
		if mode == "keep" {
			keep = append(keep, NetBindService)
		}
		if _, err := Drop(keep...); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	// Threads started after the drop are cloned from dropped ones.
	release2 := lockedThreads(4)
	defer release2()
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	caps := map[string]uint64{}
	for _, st := range tasks {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.HasPrefix(k, "Cap") {
				n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				caps[k] |= n
			}
		}
	}
	fmt.Printf("threads %d eff %x prm %x inh %x amb %x bnd %x\n", len(tasks), caps["CapEff"], caps["CapPrm"], caps["CapInh"], caps["CapAmb"], caps["CapBnd"])
}

func runChild(t *testing.T, mode string) (threads int, eff, prm, inh, amb, bnd uint64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", mode, err, out)
	}
	if _, err := fmt.Sscanf(string(out), "threads %d eff %x prm %x inh %x amb %x bnd %x", &threads, &eff, &prm, &inh, &amb, &bnd); err != nil {
		t.Fatalf("child %s printed %q: %v", mode, out, err)
	}
	return
}

// TestDropEveryThread checks, as root, that Drop leaves no capability on
// any thread of the process, those started before it and those started
// after, and that a kept capability stays on all of them. The control
// without Drop must see capabilities, or the check could not fail.
func TestDropEveryThread(t *testing.T) {
	testenv.Root(t)
	const netRaw, netBind = 1 << 13, 1 << 10
	threads, eff, prm, inh, amb, bnd := runChild(t, "none")
	if eff&netRaw == 0 || bnd&netRaw == 0 {
		t.Fatalf("control without Drop: %d threads, CapEff %x CapBnd %x, want CAP_NET_RAW: the test cannot see capabilities", threads, eff, bnd)
	}
	threads, eff, prm, inh, amb, bnd = runChild(t, "all")
	if threads < 9 || eff|prm|inh|amb|bnd != 0 {
		t.Errorf("after Drop(): %d threads, CapEff %x CapPrm %x CapInh %x CapAmb %x CapBnd %x; want at least 9 threads and nothing held", threads, eff, prm, inh, amb, bnd)
	}
	threads, eff, prm, _, amb, bnd = runChild(t, "keep")
	if eff != netBind || prm != netBind || bnd != netBind || amb != 0 {
		t.Errorf("after Drop(NetBindService): %d threads, CapEff %x CapPrm %x CapBnd %x CapAmb %x; want only CAP_NET_BIND_SERVICE (%x)", threads, eff, prm, bnd, amb, netBind)
	}
}
