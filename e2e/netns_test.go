package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// lab owns the namespaces of one test network and deletes them at cleanup,
// also when the test fails.
type lab struct {
	t      testing.TB
	prefix string
	ns     []string
	// rateLimited keeps the kernel's default ICMP error rate limits on the
	// routers, as on real routers; otherwise they answer every probe.
	rateLimited bool
}

var labs atomic.Int32

func newLab(t testing.TB, rateLimited bool) *lab {
	l := &lab{t: t, prefix: fmt.Sprintf("trx%d-%d-", os.Getpid()%100000, labs.Add(1)), rateLimited: rateLimited}
	t.Cleanup(l.destroy)
	return l
}

// name returns the full namespace name of a node.
func (l *lab) name(node string) string { return l.prefix + node }

// addNode creates a namespace with loopback up and the sysctls of a router:
// forwarding on, ECMP hashing on the 5-tuple like a real router, and ICMP
// error rate limits off unless the lab is rateLimited.
func (l *lab) addNode(node string) {
	ns := l.name(node)
	l.must("ip", "netns", "add", ns)
	l.ns = append(l.ns, ns)
	l.in(node, "ip", "link", "set", "lo", "up")
	sysctls := []string{
		"net.ipv4.ip_forward=1",
		"net.ipv6.conf.all.forwarding=1",
		"net.ipv4.conf.all.rp_filter=0",
		"net.ipv4.conf.default.rp_filter=0",
		"net.ipv4.fib_multipath_hash_policy=3",
		"net.ipv4.fib_multipath_hash_fields=0x0037",
		"net.ipv6.fib_multipath_hash_policy=3",
		"net.ipv6.fib_multipath_hash_fields=0x0037",
	}
	if !l.rateLimited {
		sysctls = append(sysctls, "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0", "net.ipv4.icmp_msgs_per_sec=100000")
	}
	for _, kv := range sysctls {
		l.in(node, "sysctl", "-qw", kv)
	}
}

// link connects a and b with a veth pair on link number n: a gets
// 198.18.n.1/24 and 2001:db8:n::1/64, b gets .2 and ::2.
func (l *lab) link(n int, a, b string) {
	ia, ib := "to-"+b, "to-"+a
	l.must("ip", "link", "add", ia, "netns", l.name(a), "type", "veth", "peer", "name", ib, "netns", l.name(b))
	for side, node := range map[int]string{1: a, 2: b} {
		dev := ia
		if node == b {
			dev = ib
		}
		l.in(node, "ip", "addr", "add", fmt.Sprintf("198.18.%d.%d/24", n, side), "dev", dev)
		l.in(node, "ip", "-6", "addr", "add", fmt.Sprintf("2001:db8:%d::%d/64", n, side), "dev", dev, "nodad")
		l.in(node, "ip", "link", "set", dev, "up")
	}
}

// in runs a command inside a node's namespace and fails the test on error.
func (l *lab) in(node string, args ...string) string {
	return l.must(append([]string{"ip", "netns", "exec", l.name(node)}, args...)...)
}

func (l *lab) must(args ...string) string {
	l.t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (l *lab) destroy() {
	for i := len(l.ns) - 1; i >= 0; i-- {
		exec.Command("ip", "netns", "del", l.ns[i]).Run()
	}
}

// inNetns runs fn on an OS thread switched into namespace ns: sockets fn
// creates belong to ns and keep working from any thread afterwards.
func inNetns(ns string, fn func() error) error {
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

// dialer returns a DialContext that connects from inside namespace ns.
func dialer(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := inNetns(ns, func() (err error) {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// listen opens a TCP listener inside namespace ns.
func listen(ns, addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// runIn runs a command inside namespace ns and returns its error.
func runIn(ns string, args ...string) error {
	return exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).Run()
}
