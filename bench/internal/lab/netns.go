// Package lab is what the namespace benchmarks (bench/scale, bench/soak)
// share: the chain of network namespaces src - r1 - r2 - r3 - r4 - dst
// whose last one answers for every address of anyip.Prefix, processes
// started inside a namespace, a scraper that connects from inside one,
// readings of /proc, the host's description, and builds of the exporter
// (optionally with a pprof listener added through go build -overlay).
//
// Traffic stays in the namespaces it creates (198.18.0.0/15 only).
package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/anyip"
)

// NSTag starts the name of every namespace the bench creates; the pid of
// the bench follows, so a run can delete what a killed run left behind.
const NSTag = "trxb"

// Nodes of the chain, source first. The destination is len(Nodes)-1 = 5
// hops from the source.
var Nodes = []string{"src", "r1", "r2", "r3", "r4", "dst"}

// Hops is the destination's distance in hops: TTL 5 reaches it.
const Hops = 5

// SrcDev is the source's interface towards r1; every probe leaves by it.
const SrcDev = "to-r1"

// Network is the bench's chain of namespaces src - r1 - r2 - r3 - r4 - dst.
// Link k (1..5) is 198.18.k.0/24, .1 on the source side and .2 on the
// destination side. dst answers for every address of anyip.Prefix.
type Network struct {
	prefix string
	made   []string // namespaces created, deleted by destroy
}

// NS returns the namespace name of a node.
func (n *Network) NS(node string) string { return n.prefix + node }

// BuildNetwork creates the chain: forwarding on in the routers, the ICMP
// rate limits of the routers and the destination off (the bench measures
// the exporter, not rate limits), routes both ways, AnyIP at dst, and one
// ping from src to warm the path up. On error it deletes what it created.
func BuildNetwork(ctx context.Context) (_ *Network, err error) {
	n := &Network{prefix: fmt.Sprintf("%s%d-", NSTag, os.Getpid())}
	defer func() {
		if err != nil {
			n.Destroy()
		}
	}()
	for i, node := range Nodes {
		if err := Command(ctx, "ip", "netns", "add", n.NS(node)); err != nil {
			return nil, err
		}
		n.made = append(n.made, n.NS(node))
		if err := n.In(ctx, node, "ip", "link", "set", "lo", "up"); err != nil {
			return nil, err
		}
		sysctls := []string{"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"}
		if i > 0 {
			sysctls = append(sysctls, "net.ipv4.icmp_ratelimit=0",
				"net.ipv4.icmp_msgs_per_sec=10000000", "net.ipv4.icmp_msgs_burst=10000000")
		}
		if i > 0 && i < len(Nodes)-1 {
			sysctls = append(sysctls, "net.ipv4.ip_forward=1")
		}
		for _, kv := range sysctls {
			if err := n.In(ctx, node, "sysctl", "-qw", kv); err != nil {
				return nil, err
			}
		}
	}
	for k := 1; k < len(Nodes); k++ {
		if err := n.link(ctx, k); err != nil {
			return nil, err
		}
	}
	if err := n.Routes(ctx); err != nil {
		return nil, err
	}
	if err := n.In(ctx, "src", "ping", "-c1", "-W2", anyip.Addr(0).String()); err != nil {
		return nil, fmt.Errorf("warming the path up: %w", err)
	}
	return n, nil
}

// link connects Nodes[k-1] and Nodes[k] by a veth pair on 198.18.k.0/24.
func (n *Network) link(ctx context.Context, k int) error {
	a, b := Nodes[k-1], Nodes[k]
	ia, ib := "to-"+b, "to-"+a
	if err := Command(ctx, "ip", "link", "add", ia, "netns", n.NS(a), "type", "veth", "peer", "name", ib, "netns", n.NS(b)); err != nil {
		return err
	}
	for side, end := range [][2]string{{a, ia}, {b, ib}} {
		if err := n.In(ctx, end[0], "ip", "addr", "add", fmt.Sprintf("198.18.%d.%d/24", k, side+1), "dev", end[1]); err != nil {
			return err
		}
		if err := n.In(ctx, end[0], "ip", "link", "set", end[1], "up"); err != nil {
			return err
		}
	}
	return nil
}

// Routes sets the chain's routes (ip route replace, so it also restores
// those the kernel removed when a link went down): towards the
// destination every node routes anyip.Prefix to the next one; back, every
// router beyond r1 routes 198.18.0.0/16 to the previous one (the connected
// /24s are more specific).
func (n *Network) Routes(ctx context.Context) error {
	last := len(Nodes) - 1
	cmds := [][]string{
		{"src", "ip", "route", "replace", "default", "via", "198.18.1.2"},
		{"dst", "ip", "route", "replace", "default", "via", fmt.Sprintf("198.18.%d.1", last)},
		{"dst", "ip", "route", "replace", "local", anyip.Prefix, "dev", "lo"},
	}
	for i := 1; i < last; i++ {
		cmds = append(cmds, []string{Nodes[i], "ip", "route", "replace", anyip.Prefix, "via", fmt.Sprintf("198.18.%d.2", i+1)})
		if i > 1 {
			cmds = append(cmds, []string{Nodes[i], "ip", "route", "replace", "198.18.0.0/16", "via", fmt.Sprintf("198.18.%d.1", i)})
		}
	}
	for _, c := range cmds {
		if err := n.In(ctx, c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// In runs a command inside a node's namespace.
func (n *Network) In(ctx context.Context, node string, args ...string) error {
	return Command(ctx, append([]string{"ip", "netns", "exec", n.NS(node)}, args...)...)
}

// Destroy deletes the namespaces, last first. It never uses the context:
// it also runs after an interrupt.
func (n *Network) Destroy() {
	for i := len(n.made) - 1; i >= 0; i-- {
		if out, err := exec.Command("ip", "netns", "del", n.made[i]).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: deleting namespace %s: %v %s\n", n.made[i], err, out)
		}
	}
	n.made = nil
}

// SweepStale deletes the namespaces of earlier bench runs whose process is
// gone (killed before it could clean up). Namespaces of a live run, and
// every namespace not named by the bench, are left alone.
func SweepStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], NSTag) {
			continue
		}
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(f[0], NSTag), "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			fmt.Fprintf(os.Stderr, "bench: deleting namespace %s left by an earlier run\n", f[0])
			exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
}

// Command runs a command and returns its error with its output.
func Command(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
