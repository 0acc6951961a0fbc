package tracer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
	"golang.org/x/sys/unix"
)

// dgramLab is a chain of network namespaces, nodes[0] — nodes[1] — ...,
// where link n joins nodes[n-1] (198.18.n.1/24, 2001:db8:n::1/64) and
// nodes[n] (.2, ::2), with routes so every node reaches every link. The
// first node admits every group to ping sockets. Cleanup deletes the
// namespaces, also when the test fails.
type dgramLab struct {
	t      *testing.T
	prefix string
	nodes  []string
}

func newDgramLab(t *testing.T, nodes ...string) *dgramLab {
	t.Helper()
	if testing.Short() {
		t.Skip("needs root and network namespaces")
	}
	testenv.Root(t)
	testenv.Tool(t, "ip")
	l := &dgramLab{t: t, prefix: fmt.Sprintf("trxdg%d-", os.Getpid()%100000)}
	t.Cleanup(func() {
		for _, n := range l.nodes {
			exec.Command("ip", "netns", "del", l.ns(n)).Run()
		}
	})
	for _, n := range nodes {
		l.must("ip", "netns", "add", l.ns(n))
		l.nodes = append(l.nodes, n)
		l.in(n, "ip", "link", "set", "lo", "up")
		for _, kv := range []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
			"net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0", "net.ipv4.icmp_msgs_per_sec=100000"} {
			l.in(n, "sysctl", "-qw", kv)
		}
	}
	for i := 1; i < len(nodes); i++ {
		a, b := nodes[i-1], nodes[i]
		l.must("ip", "link", "add", "to-"+b, "netns", l.ns(a), "type", "veth", "peer", "name", "to-"+a, "netns", l.ns(b))
		for side, node := range []string{a, b} {
			dev := "to-" + []string{b, a}[side]
			l.in(node, "ip", "addr", "add", fmt.Sprintf("198.18.%d.%d/24", i, side+1), "dev", dev)
			l.in(node, "ip", "-6", "addr", "add", fmt.Sprintf("2001:db8:%d::%d/64", i, side+1), "dev", dev, "nodad")
			l.in(node, "ip", "link", "set", dev, "up")
		}
	}
	for i, node := range nodes {
		for n := 1; n < len(nodes); n++ {
			if n == i || n == i+1 {
				continue // on link n
			}
			link, side := i, 1 // via the left neighbour, or the right one
			if n > i {
				link, side = i+1, 2
			}
			l.in(node, "ip", "route", "add", fmt.Sprintf("198.18.%d.0/24", n), "via", fmt.Sprintf("198.18.%d.%d", link, side))
			l.in(node, "ip", "-6", "route", "add", fmt.Sprintf("2001:db8:%d::/64", n), "via", fmt.Sprintf("2001:db8:%d::%d", link, side))
		}
	}
	l.in(nodes[0], "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
	return l
}

func (l *dgramLab) ns(node string) string { return l.prefix + node }

func (l *dgramLab) in(node string, args ...string) {
	l.t.Helper()
	l.must(append([]string{"ip", "netns", "exec", l.ns(node)}, args...)...)
}

func (l *dgramLab) must(args ...string) {
	l.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// dgramInNetns runs fn on an OS thread switched into namespace ns (as
// e2e's inNetns): sockets fn opens belong to ns and work from any thread.
func dgramInNetns(ns string, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	defer unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET)
	return fn()
}

// listenDgramIn opens the datagram socket of one family inside ns.
func listenDgramIn(t *testing.T, ns string, v6 bool) (PacketConn, uint16) {
	t.Helper()
	var c PacketConn
	var id uint16
	err := dgramInNetns(ns, func() (err error) {
		c, id, err = ListenICMPUnprivileged(v6)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, id
}

// readN reads n packets (watermarks included), failing after 5 seconds.
func readN(t *testing.T, c PacketConn, n int) []Packet {
	t.Helper()
	got := make(chan Packet, n)
	errc := make(chan error, 1)
	go func() {
		for range n {
			buf := make([]byte, 1500)
			p, err := c.ReadPacket(buf)
			if err != nil {
				errc <- err
				return
			}
			got <- p
		}
	}()
	var ps []Packet
	for len(ps) < n {
		select {
		case p := <-got:
			ps = append(ps, p)
		case err := <-errc:
			t.Fatalf("after %d of %d packets: %v", len(ps), n, err)
		case <-time.After(5 * time.Second):
			c.Close() // unblocks the reader
			t.Fatalf("only %d of %d packets within 5s: %+v", len(ps), n, ps)
		}
	}
	return ps
}

// labAddr is the address of side (1 or 2) of link n in one family.
func labAddr(v6 bool, n, side int) netip.Addr {
	if v6 {
		return netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::%d", n, side))
	}
	return netip.MustParseAddr(fmt.Sprintf("198.18.%d.%d", n, side))
}

// TestDgramNetns traces src — r1 — r2 — dst through ping sockets opened in
// src, over both families.
func TestDgramNetns(t *testing.T) {
	l := newDgramLab(t, "src", "r1", "r2", "dst")
	l.in("src", "ip", "addr", "add", "198.18.1.3/24", "dev", "to-r1") // secondary: never picked by default
	for _, v6 := range []bool{false, true} {
		name := map[bool]string{false: "v4", true: "v6"}[v6]
		t.Run("trace/"+name, func(t *testing.T) { testDgramTrace(t, l, v6) })
		t.Run("drain/"+name, func(t *testing.T) { testDgramDrain(t, l, v6) })
		t.Run("paris/"+name, func(t *testing.T) { testDgramParis(t, l, v6) })
		t.Run("source/"+name, func(t *testing.T) { testDgramSource(t, l, v6) })
	}
}

// testDgramSource sends from 198.18.1.3, a secondary address of src that
// the kernel would not pick: the probe must leave from it, as it does
// through a raw socket. An IPv6 socket refuses, having no way to do it.
func testDgramSource(t *testing.T, l *dgramLab, v6 bool) {
	c, id := listenDgramIn(t, l.ns("src"), v6)
	var b [EchoLen]byte
	probe, dst := MarshalEcho(v6, id, 9, b[:]), labAddr(v6, 3, 2)
	if v6 {
		if err := c.WriteTo(probe, dst, labAddr(v6, 1, 1), 64); !errors.Is(err, ErrDgramSource) {
			t.Fatalf("IPv6 with a source: %v, want ErrDgramSource", err)
		}
		return
	}
	capFd := captureIn(t, l.ns("dst"), v6)
	src := netip.MustParseAddr("198.18.1.3")
	if err := c.WriteTo(probe, dst, src, 64); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := unix.Recvfrom(capFd, buf, 0)
		if err != nil {
			t.Fatalf("capture: %v", err)
		}
		if n >= ipv4Min+EchoLen && buf[ipv4Min] == icmp4EchoRequest && binary.BigEndian.Uint16(buf[ipv4Min+4:]) == id {
			if got := sockaddrAddr(from); got != src {
				t.Fatalf("probe from %v, want %v", got, src)
			}
			return
		}
	}
}

// TestRootlessPingGroup opens ping sockets in a namespace whose
// ping_group_range admits every group and in one that admits none ("1 0"),
// as root and as an unprivileged user: the test binary itself, run through
// setpriv as uid and gid 65534 without capabilities (TestRootlessChild).
func TestRootlessPingGroup(t *testing.T) {
	l := newDgramLab(t, "open", "closed")
	l.in("closed", "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
	for _, v6 := range []bool{false, true} {
		err := dgramInNetns(l.ns("closed"), func() error {
			_, _, err := ListenICMPUnprivileged(v6)
			return err
		})
		if !errors.Is(err, ErrPingGroup) {
			t.Fatalf("root, range \"1 0\", v6=%v: %v, want ErrPingGroup", v6, err)
		}
	}
	setpriv := testenv.Tool(t, "setpriv")
	dir, err := os.MkdirTemp("", "trxdg")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "tracer.test") // where uid 65534 may execute it
	self, err := os.ReadFile(os.Args[0])
	if err == nil {
		err = os.WriteFile(bin, self, 0o755)
	}
	if err != nil || os.Chmod(dir, 0o755) != nil {
		t.Fatalf("copy the test binary: %v", err)
	}
	for ns, want := range map[string]string{"open": "ok", "closed": "denied"} {
		cmd := exec.Command("ip", "netns", "exec", l.ns(ns), setpriv, "--reuid=65534", "--regid=65534",
			"--clear-groups", "--inh-caps=-all", bin, "-test.run=^TestRootlessChild$", "-test.v", "-test.count=1")
		cmd.Env, cmd.Dir = append(os.Environ(), "TRX_ROOTLESS_CHILD="+want), "/"
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestRootlessChild") {
			t.Errorf("unprivileged child in %q (want %s): %v\n%s", ns, want, err, out)
		}
	}
}

// TestRootlessChild runs only as TestRootlessPingGroup's child. It checks
// that it lacks CAP_NET_RAW, then that ping sockets open ("ok") and trace
// an Echo over loopback, or are refused with ErrPingGroup ("denied").
func TestRootlessChild(t *testing.T) {
	want := os.Getenv("TRX_ROOTLESS_CHILD")
	if want == "" {
		t.Skip("run by TestRootlessPingGroup as an unprivileged user")
	}
	if _, err := ListenICMP(false); !errors.Is(err, ErrPermission) {
		t.Fatalf("raw socket: %v, want ErrPermission (the child must lack CAP_NET_RAW)", err)
	}
	for _, v6 := range []bool{false, true} {
		c, id, err := ListenICMPUnprivileged(v6)
		if want == "denied" {
			if !errors.Is(err, ErrPingGroup) {
				t.Fatalf("v6=%v: %v, want ErrPingGroup", v6, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("v6=%v: %v", v6, err)
		}
		defer c.Close()
		lo := map[bool]netip.Addr{false: netip.MustParseAddr("127.0.0.1"), true: netip.IPv6Loopback()}[v6]
		var b [EchoLen]byte
		if err := c.WriteTo(MarshalEcho(v6, id, 7, b[:]), lo, netip.Addr{}, 64); err != nil {
			t.Fatal(err)
		}
		p := readN(t, c, 1)[0]
		if r, err := ParseReply(v6, p.Data); err != nil || r.ID != id || r.Seq != 7 || p.From != lo || p.Time.IsZero() {
			t.Fatalf("v6=%v: %+v %v from %v at %v, want our Echo Reply from %v", v6, r, err, p.From, p.Time, lo)
		}
	}
}
