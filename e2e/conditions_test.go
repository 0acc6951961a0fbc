package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The AnyIP prefixes dst answers for (every address in them), so one node
// stands for many targets.
const (
	anyIP4Prefix = "198.19.0.0/24"
	anyIP6Prefix = "2001:db8:77::/64"
)

// anyIP returns the i-th AnyIP address of dst (i from 1 to 250).
func anyIP(v6 bool, i int) string {
	if v6 {
		return fmt.Sprintf("2001:db8:77::%d", i)
	}
	return fmt.Sprintf("198.19.0.%d", i)
}

// addAnyIP makes dst answer for both AnyIP prefixes and routes them like
// dst's own link along both routes (r2's routes come from balance or
// switchPath).
func (tp *topo) addAnyIP() {
	for _, v6 := range []bool{false, true} {
		fam, prefix, via := "-4", anyIP4Prefix, func(n int) string { return fmt.Sprintf("198.18.%d.2", n) }
		if v6 {
			fam, prefix, via = "-6", anyIP6Prefix, func(n int) string { return fmt.Sprintf("2001:db8:%d::2", n) }
		}
		tp.in("dst", "ip", fam, "route", "add", "local", prefix, "dev", "lo")
		for node, link := range map[string]int{"r1": 2, "r3a": 4, "r3b": 6, "r4": 7, "r5": 9, "r6": 10} {
			tp.in(node, "ip", fam, "route", "add", prefix, "via", via(link))
		}
	}
}

// busyCPU keeps two cores busy with shell loops, as on a shared host, until
// the test ends; the loops are killed by their process ids.
func busyCPU(t testing.TB) {
	for i := 0; i < 2; i++ {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
}

// lossBeforeDst makes r4, the router before dst, drop pct percent of the
// packets it forwards, in both directions (not the ICMP errors r4 itself
// sends).
func (tp *topo) lossBeforeDst(pct int) {
	tp.in("r4", "nft", "add", "table", "inet", "trxloss")
	tp.in("r4", "nft", "add", "chain", "inet", "trxloss", "fw", "{ type filter hook forward priority 0; policy accept; }")
	tp.in("r4", "nft", "add", "rule", "inet", "trxloss", "fw", "numgen", "random", "mod", "100", "<", fmt.Sprint(pct), "drop")
}

// silenceBeforeDst makes r4, the router before dst, never send Time
// Exceeded (IPv4 and IPv6), like a router that does not answer traceroute.
func (tp *topo) silenceBeforeDst() {
	tp.in("r4", "nft", "add", "table", "inet", "trxsilent")
	tp.in("r4", "nft", "add", "chain", "inet", "trxsilent", "out", "{ type filter hook output priority 0; policy accept; }")
	tp.in("r4", "nft", "add", "rule", "inet", "trxsilent", "out", "icmp", "type", "time-exceeded", "drop")
	tp.in("r4", "nft", "add", "rule", "inet", "trxsilent", "out", "icmpv6", "type", "time-exceeded", "drop")
}

// hostsFile is /etc/netns/NS/hosts, which `ip netns exec NS` bind-mounts
// over /etc/hosts for the processes it starts.
type hostsFile struct {
	t    testing.TB
	path string
}

// newHostsFile creates the hosts file of namespace ns with the given
// lines; the directory /etc/netns/NS is removed at cleanup, and /etc/netns
// too if it did not exist and is empty. It must exist before a process is
// started in ns to be seen by it.
func newHostsFile(t testing.TB, ns string, lines ...string) *hostsFile {
	dir := filepath.Join("/etc/netns", ns)
	if _, err := os.Stat(filepath.Dir(dir)); os.IsNotExist(err) {
		t.Cleanup(func() { os.Remove(filepath.Dir(dir)) })
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &hostsFile{t: t, path: filepath.Join(dir, "hosts")}
	h.write(lines...)
	return h
}

// write replaces the file's content in place (same inode, as a rename
// would not be seen through the bind mount).
func (h *hostsFile) write(lines ...string) {
	h.t.Helper()
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		h.t.Fatal(err)
	}
	content := "127.0.0.1 localhost\n::1 localhost\n"
	for _, l := range lines {
		content += l + "\n"
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		h.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		h.t.Fatal(err)
	}
}

// capture is tcpdump running in a namespace, keeping every line it prints.
type capture struct {
	t     testing.TB
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
	stop  sync.Once
}

// startCapture runs `tcpdump -n -l -i any [FLAGS] FILTER` in namespace ns
// with epoch timestamps and returns once it is capturing. It is stopped at
// cleanup at the latest.
func startCapture(t testing.TB, ns, filter string, flags ...string) *capture {
	t.Helper()
	c := &capture{t: t, done: make(chan struct{})}
	args := append([]string{"netns", "exec", ns, "tcpdump", "-n", "-l", "-tt", "--immediate-mode", "-i", "any"}, flags...)
	c.cmd = exec.Command("ip", append(args, filter)...)
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errs, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
		}
	}()
	ready := make(chan string, 1)
	go func() {
		seen := "tcpdump exited before capturing:"
		sc := bufio.NewScanner(errs)
		for sc.Scan() {
			if strings.HasPrefix(strings.TrimPrefix(sc.Text(), "tcpdump: "), "listening on") {
				ready <- ""
				for sc.Scan() {
				}
				return
			}
			seen += "\n" + sc.Text()
		}
		ready <- seen
	}()
	select {
	case msg := <-ready:
		if msg != "" {
			t.Fatalf("in %s: %s", ns, msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("tcpdump in %s not capturing after 10s", ns)
	}
	return c
}

// close stops tcpdump (by its process id) and waits for its output.
func (c *capture) close() {
	c.stop.Do(func() {
		c.cmd.Process.Signal(os.Interrupt)
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
		}
		c.cmd.Wait()
	})
}

// window waits until from+d has passed, stops the capture and returns the
// lines of the packets captured from from to from+d.
func (c *capture) window(from time.Time, d time.Duration) []string {
	// Leave tcpdump time to print the last packets of the window.
	time.Sleep(time.Until(from.Add(d + 200*time.Millisecond)))
	c.close()
	c.mu.Lock()
	defer c.mu.Unlock()
	var in []string
	for _, l := range c.lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		ts, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			c.t.Fatalf("tcpdump line without timestamp: %q", l)
		}
		at := time.Unix(0, int64(ts*1e9))
		if !at.Before(from) && !at.After(from.Add(d)) {
			in = append(in, l)
		}
	}
	return in
}
