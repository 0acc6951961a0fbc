package e2e

import (
	endian "encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel here has no MPLS forwarding and never adds RFC 4884 extensions
// to its ICMP errors, so the routers that must send them get a responder:
// an nftables rule in the router drops, before routing, every packet to dst
// that arrives with TTL (hop limit) 1 from the source side, so the kernel
// never sees it expire; a packet socket (AF_PACKET) on the same interface,
// which sees packets before netfilter does, hands the same packets to the
// test, which answers each with a Time Exceeded crafted byte by byte and
// sent from the router's address through a raw socket in its namespace.
// A second rule drops any other Time Exceeded the router would send, so
// the crafted ones are the only answers. This needs neither NFQUEUE (no
// nfnetlink_queue in this kernel) nor anything outside the Go module.

// extMark is the socket mark of the crafted replies: the router's output
// rule lets Time Exceeded through only with this mark.
const extMark = 0x7e57

// mplsEntry is one label stack entry (RFC 3032).
type mplsEntry struct {
	label   uint32
	tc      uint8
	s       bool
	ttl     uint8
	display string // how the exporter shows it: label/tc/s/ttl
}

func lse(label uint32, tc uint8, s bool, ttl uint8) mplsEntry {
	b := 0
	if s {
		b = 1
	}
	return mplsEntry{label, tc, s, ttl, fmt.Sprintf("%d/%d/%d/%d", label, tc, b, ttl)}
}

// extSpec is what one router's crafted Time Exceeded carries.
type extSpec struct {
	// compliant sets the RFC 4884 length attribute; otherwise it is zero
	// and the extensions follow a 128-byte original datagram, the
	// non-compliant form of routers that predate RFC 4884.
	compliant bool
	mpls      []mplsEntry
	// ifName, when set, adds an RFC 5837 incoming interface object with
	// the ingress interface's index, the reply's source address and this
	// name.
	ifName string
}

// extResponder answers, in one router, every probe to dst that expires
// there.
type extResponder struct {
	t          testing.TB
	node       string
	spec       extSpec
	src4, src6 netip.Addr
	ifIndex    uint32
	pkt        *os.File // AF_PACKET socket on the ingress interface
	raw4, raw6 int      // IPPROTO_RAW (IPv4) and ICMPv6 raw sockets
	// malformed makes the MPLS object announce a length past the end of
	// the structure (whose checksum is still right).
	malformed atomic.Bool
	answered  [2]atomic.Int64 // per family: IPv4, IPv6
	sendErrs  atomic.Int64
	done      chan struct{}
}

var (
	dstNet4 = netip.MustParsePrefix("198.18.7.0/24")
	dstNet6 = netip.MustParsePrefix("2001:db8:7::/64")
)

// startExtResponder makes node silent for its own Time Exceeded and answers
// the probes that expire there, arriving on ingress (the link numbered
// link, where node has the .2 / ::2 address), with crafted ones.
func startExtResponder(t testing.TB, tp *topo, node, ingress string, link int, spec extSpec) *extResponder {
	t.Helper()
	r := &extResponder{t: t, node: node, spec: spec, done: make(chan struct{}),
		src4: netip.MustParseAddr(addr(false, link)), src6: netip.MustParseAddr(addr(true, link))}
	tp.in(node, "nft", "add", "table", "inet", "trxext")
	tp.in(node, "nft", "add", "chain", "inet", "trxext", "pre", "{ type filter hook prerouting priority raw; policy accept; }")
	tp.in(node, "nft", "add", "rule", "inet", "trxext", "pre", "iifname", ingress, "ip", "daddr", dstNet4.String(), "ip", "ttl", "1", "drop")
	tp.in(node, "nft", "add", "rule", "inet", "trxext", "pre", "iifname", ingress, "ip6", "daddr", dstNet6.String(), "ip6", "hoplimit", "1", "drop")
	tp.in(node, "nft", "add", "chain", "inet", "trxext", "out", "{ type filter hook output priority 0; policy accept; }")
	tp.in(node, "nft", "add", "rule", "inet", "trxext", "out", "meta", "mark", "!=", fmt.Sprint(extMark), "icmp", "type", "time-exceeded", "drop")
	tp.in(node, "nft", "add", "rule", "inet", "trxext", "out", "meta", "mark", "!=", fmt.Sprint(extMark), "icmpv6", "type", "time-exceeded", "drop")

	err := inNetns(tp.name(node), func() error {
		ifc, err := net.InterfaceByName(ingress)
		if err != nil {
			return err
		}
		r.ifIndex = uint32(ifc.Index)
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind packet socket to %s: %w", ingress, err)
		}
		r.pkt = os.NewFile(uintptr(fd), "packet:"+ingress)
		if r.raw4, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
			return fmt.Errorf("raw IPv4 socket: %w", err)
		}
		if r.raw6, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6); err != nil {
			return fmt.Errorf("raw ICMPv6 socket: %w", err)
		}
		// The ICMPv6 socket only sends: block every type it would receive.
		block := unix.ICMPv6Filter{}
		for i := range block.Data {
			block.Data[i] = ^uint32(0)
		}
		if err := unix.SetsockoptICMPv6Filter(r.raw6, unix.SOL_ICMPV6, unix.ICMPV6_FILTER, &block); err != nil {
			return err
		}
		if err := unix.Bind(r.raw6, &unix.SockaddrInet6{Addr: r.src6.As16()}); err != nil {
			return fmt.Errorf("bind %s: %w", r.src6, err)
		}
		for _, s := range []int{r.raw4, r.raw6} {
			if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_MARK, extMark); err != nil {
				return err
			}
		}
		return nil
	})
	t.Cleanup(r.stop)
	if err != nil {
		if r.pkt != nil {
			r.pkt.Close()
			r.pkt = nil // no read loop to wait for
		}
		t.Fatalf("responder in %s: %v", node, err)
	}
	go r.serve()
	return r
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// stop closes the sockets and waits for the read loop.
func (r *extResponder) stop() {
	if r.pkt != nil {
		r.pkt.Close()
		<-r.done
	}
	for _, s := range []int{r.raw4, r.raw6} {
		if s > 0 {
			unix.Close(s)
		}
	}
}

func (r *extResponder) serve() {
	defer close(r.done)
	rc, err := r.pkt.SyscallConn()
	if err != nil {
		r.t.Errorf("responder in %s: %v", r.node, err)
		return
	}
	buf := make([]byte, 65536)
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		if err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		}); err != nil {
			return // closed
		}
		// Only packets addressed to this router's MAC: not the ones it
		// sends on the interface, nor broadcasts and multicasts.
		if ll, ok := from.(*unix.SockaddrLinklayer); rerr != nil || !ok || ll.Pkttype != unix.PACKET_HOST {
			continue
		}
		r.answer(buf[:n])
	}
}

// answer sends the Time Exceeded for pkt (an IP packet as it arrived) if
// it is a packet to dst that expires here.
func (r *extResponder) answer(pkt []byte) {
	if len(pkt) < 1 {
		return
	}
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 || pkt[8] != 1 {
			return
		}
		if d, _ := netip.AddrFromSlice(pkt[16:20]); !dstNet4.Contains(d) {
			return
		}
		if l := int(endian.BigEndian.Uint16(pkt[2:])); l < len(pkt) {
			pkt = pkt[:l]
		}
		to := [4]byte(pkt[12:16])
		msg := r.message(false, pkt)
		ip := make([]byte, 20, 20+len(msg))
		ip[0] = 0x45
		endian.BigEndian.PutUint16(ip[2:], uint16(20+len(msg)))
		ip[8], ip[9] = 64, unix.IPPROTO_ICMP
		s4 := r.src4.As4()
		copy(ip[12:], s4[:])
		copy(ip[16:], to[:])
		endian.BigEndian.PutUint16(ip[10:], inetChecksum(ip))
		if err := unix.Sendto(r.raw4, append(ip, msg...), 0, &unix.SockaddrInet4{Addr: to}); err != nil {
			r.sendErrs.Add(1)
			return
		}
		r.answered[0].Add(1)
	case 6:
		if len(pkt) < 40 || pkt[7] != 1 {
			return
		}
		if d, _ := netip.AddrFromSlice(pkt[24:40]); !dstNet6.Contains(d) {
			return
		}
		if l := 40 + int(endian.BigEndian.Uint16(pkt[4:])); l < len(pkt) {
			pkt = pkt[:l]
		}
		// The kernel computes the ICMPv6 checksum of a raw ICMPv6 socket.
		if err := unix.Sendto(r.raw6, r.message(true, pkt), 0, &unix.SockaddrInet6{Addr: [16]byte(pkt[8:24])}); err != nil {
			r.sendErrs.Add(1)
			return
		}
		r.answered[1].Add(1)
	}
}

// message builds the ICMP Time Exceeded (without IP header) quoting orig,
// zero-padded (or cut) to 128 bytes, followed by an RFC 4884 extension
// structure with the spec's objects.
func (r *extResponder) message(v6 bool, orig []byte) []byte {
	msg := make([]byte, 8, 8+128+64)
	msg[0] = 11
	if v6 {
		msg[0] = 3
	}
	if r.spec.compliant && v6 {
		msg[4] = 128 / 8 // in 64-bit words
	} else if r.spec.compliant {
		msg[5] = 128 / 4 // in 32-bit words
	}
	quote := make([]byte, 128)
	copy(quote, orig)
	msg = append(msg, quote...)

	ext := []byte{2 << 4, 0, 0, 0}
	if len(r.spec.mpls) > 0 {
		obj := []byte{0, byte(4 + 4*len(r.spec.mpls)), 1, 1} // class 1 (MPLS), C-Type 1 (incoming stack)
		for _, l := range r.spec.mpls {
			w := l.label<<12 | uint32(l.tc&7)<<9 | uint32(l.ttl)
			if l.s {
				w |= 1 << 8
			}
			obj = endian.BigEndian.AppendUint32(obj, w)
		}
		if r.malformed.Load() {
			obj[1] = 200 // an object length past the end of the structure
		}
		ext = append(ext, obj...)
	}
	if r.spec.ifName != "" {
		ext = append(ext, r.ifObject(v6)...)
	}
	endian.BigEndian.PutUint16(ext[2:], inetChecksum(ext))
	msg = append(msg, ext...)
	if !v6 {
		endian.BigEndian.PutUint16(msg[2:], inetChecksum(msg))
	}
	return msg
}

// ifObject is the RFC 5837 object of the spec's interface: class 2,
// C-Type role incoming (0) with ifIndex, IP address (the reply's source)
// and name.
func (r *extResponder) ifObject(v6 bool) []byte {
	obj := []byte{0, 0, 2, 0x08 | 0x04 | 0x02}
	obj = endian.BigEndian.AppendUint32(obj, r.ifIndex)
	if v6 {
		a := r.src6.As16()
		obj = append(append(obj, 0, 2, 0, 0), a[:]...)
	} else {
		a := r.src4.As4()
		obj = append(append(obj, 0, 1, 0, 0), a[:]...)
	}
	name := make([]byte, (1+len(r.spec.ifName)+3)&^3)
	name[0] = byte(len(name))
	copy(name[1:], r.spec.ifName)
	obj = append(obj, name...)
	endian.BigEndian.PutUint16(obj, uint16(len(obj)))
	return obj
}

// traceroute -e shows an object it does not decode as class/C-Type, then
// its body in 32-bit words of hex.
func tracerouteObject(obj []byte) string {
	var words []string
	for i := 4; i+4 <= len(obj); i += 4 {
		words = append(words, fmt.Sprintf("%08x", obj[i:i+4]))
	}
	return fmt.Sprintf("%d/%d:%s", obj[2], obj[3], strings.Join(words, ","))
}

// kernelTraceExt runs the kernel's ICMP traceroute with -e (show ICMP
// extensions) from src and returns each hop's line by hop number.
func kernelTraceExt(t *testing.T, tp *topo, v6 bool, dst string) map[int]string {
	args := []string{"traceroute", "-n", "-e", "-I", "-q", "1", "-w", "1", "-m", "6", dst}
	if v6 {
		args = append([]string{"traceroute", "-6"}, args[1:]...)
	}
	out := tp.in("src", args...)
	t.Logf("%s", out)
	lines := map[int]string{}
	for _, line := range strings.Split(out, "\n")[1:] {
		var h int
		if _, err := fmt.Sscan(line, &h); err == nil {
			lines[h] = line
		}
	}
	return lines
}

// inetChecksum is the Internet checksum (RFC 1071) of b.
func inetChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// hopInfo returns the label sets of the traceroute_hop_info series of
// target at hop.
func (m metrics) hopInfo(target string, hop int) []map[string]string {
	var out []map[string]string
	for _, s := range m["traceroute_hop_info"].GetMetric() {
		if l := labels(s); l["target"] == target && l["hop"] == fmt.Sprint(hop) {
			out = append(out, l)
		}
	}
	return out
}

// mplsTargets are the targets of the extension test: ICMP and UDP over
// both families, all through the responders at hops 3 and 4.
var mplsTargets = []struct {
	name string
	v6   bool
}{{"dst4", false}, {"dst6", true}, {"udp4", false}, {"udp6", true}}

const mplsConfig = `
defaults:
  interval: 1s
  probes: 5
  timeout: 500ms
  max_hops: 10
targets:
  - {name: dst4, host: 198.18.7.2}
  - {name: dst6, host: "2001:db8:7::2"}
  - {name: udp4, host: 198.18.7.2, protocol: udp}
  - {name: udp6, host: "2001:db8:7::2", protocol: udp}
`

// TestMPLSAndInterfaceLabels: r3a answers expiring probes with a compliant
// RFC 4884 Time Exceeded carrying a two-entry RFC 4950 label stack and an
// RFC 5837 interface object named ge-0/0/1; r4 with the non-compliant
// 128-byte form carrying one label and no interface. The exporter shows
// them in traceroute_hop_info's mpls and interface labels at hops 3 and 4
// (and nowhere else) for ICMP and UDP over both families, without path
// changes or malformed extensions; the kernel's traceroute -e decodes the
// same stacks. Then r3a's MPLS object gets a bad length: hop 3 keeps its
// address and the path, loses its labels, and the malformed extensions are
// counted.
func TestMPLSAndInterfaceLabels(t *testing.T) {
	requireLab(t)
	tp := newTopo(t, false)
	// One path (via r3a): r2's equal-cost split is not what is tested.
	tp.in("r2", "ip", "-4", "route", "replace", dstNet4.String(), "via", addr(false, 3))
	tp.in("r2", "ip", "-6", "route", "replace", dstNet6.String(), "via", addr(true, 3))
	r3 := startExtResponder(t, tp, "r3a", "to-r2", 3, extSpec{
		compliant: true,
		mpls:      []mplsEntry{lse(24001, 0, false, 1), lse(16005, 0, true, 1)},
		ifName:    "ge-0/0/1",
	})
	r4 := startExtResponder(t, tp, "r4", "to-r3a", 4, extSpec{mpls: []mplsEntry{lse(16005, 0, true, 1)}})
	warmUp(t, tp)
	const (
		mpls3  = "24001/0/0/1,16005/0/1/1"
		iface3 = "ge-0/0/1"
		mpls4  = "16005/0/1/1"
	)
	// want is the extension labels each hop must show.
	want := map[int][2]string{3: {mpls3, iface3}, 4: {mpls4, ""}}

	t.Run("kernel traceroute -e decodes the responders' extensions", func(t *testing.T) {
		for _, f := range families {
			lines := kernelTraceExt(t, tp, f.v6, f.dst)
			for h, ext := range map[int]string{
				3: "<MPLS:L=24001,E=0,S=0,T=1/L=16005,E=0,S=1,T=1;" + tracerouteObject(r3.ifObject(f.v6)) + ">",
				4: "<MPLS:L=16005,E=0,S=1,T=1>",
			} {
				if l := lines[h]; !strings.Contains(l, " "+addr(f.v6, h)+" "+ext+" ") {
					t.Errorf("%s hop %d: %q, want %s %s", f.dst, h, l, addr(f.v6, h), ext)
				}
			}
			for _, h := range []int{1, 2, 5} {
				if l := lines[h]; l == "" || strings.Contains(l, "<") {
					t.Errorf("%s hop %d: %q, want an answer without extensions", f.dst, h, l)
				}
			}
		}
	})

	e := startExporter(t, tp.name("src"), 10188, mplsConfig)
	labelled := func(m metrics) error {
		for _, tg := range mplsTargets {
			if v, _ := m.get("traceroute_hops", map[string]string{"target": tg.name}); v != 5 {
				return fmt.Errorf("%s: %v hops, want 5", tg.name, v)
			}
			for h := 1; h <= 5; h++ {
				info := m.hopInfo(tg.name, h)
				w := want[h]
				if len(info) != 1 {
					return fmt.Errorf("%s hop %d: hop_info %v, want one series", tg.name, h, info)
				}
				link := []int{1, 2, 3, 4, 7}[h-1]
				if got := info[0]; got["ip"] != addr(tg.v6, link) || got["mpls"] != w[0] || got["interface"] != w[1] {
					return fmt.Errorf("%s hop %d: ip=%q mpls=%q interface=%q, want ip=%q mpls=%q interface=%q",
						tg.name, h, got["ip"], got["mpls"], got["interface"], addr(tg.v6, link), w[0], w[1])
				}
			}
		}
		return nil
	}
	var last error
	ctx := time.Now().Add(15 * time.Second)
	for {
		if last = labelled(e.scrape()); last == nil {
			break
		}
		if time.Now().After(ctx) {
			t.Fatalf("labels never appeared in 15s: %v (responders answered r3a %d/%d, r4 %d/%d IPv4/IPv6)", last,
				r3.answered[0].Load(), r3.answered[1].Load(), r4.answered[0].Load(), r4.answered[1].Load())
		}
		time.Sleep(250 * time.Millisecond)
	}

	steady := func(t *testing.T, m metrics) {
		t.Helper()
		for _, tg := range mplsTargets {
			if v := m.value(t, "traceroute_path_changes_total", map[string]string{"target": tg.name}); v != 0 {
				t.Errorf("%s: %v path changes, want 0", tg.name, v)
			}
			if v := m.value(t, "traceroute_destination_reached", map[string]string{"target": tg.name}); v != 1 {
				t.Errorf("%s: destination_reached %v, want 1", tg.name, v)
			}
		}
		for _, c := range []string{"malformed_packets", "unmatched_replies"} {
			if v := m.value(t, "traceroute_exporter_"+c+"_total", nil); v != 0 {
				t.Errorf("%s_total %v, want 0: every crafted reply must match its probe", c, v)
			}
		}
	}

	t.Run("labels at hops 3 and 4, steady, nothing malformed", func(t *testing.T) {
		for i := 0; i < 4; i++ {
			time.Sleep(interval)
			m := e.scrape()
			if err := labelled(m); err != nil {
				t.Fatal(err)
			}
			steady(t, m)
			if v := m.value(t, "traceroute_exporter_malformed_extensions_total", nil); v != 0 {
				t.Fatalf("malformed_extensions_total %v with well-formed extensions, want 0", v)
			}
		}
		if r3.sendErrs.Load()+r4.sendErrs.Load() != 0 {
			t.Errorf("responders failed to send %d replies", r3.sendErrs.Load()+r4.sendErrs.Load())
		}
		t.Logf("answered: r3a %d IPv4 / %d IPv6, r4 %d / %d",
			r3.answered[0].Load(), r3.answered[1].Load(), r4.answered[0].Load(), r4.answered[1].Load())
	})

	t.Run("a malformed extension keeps the hop and loses its labels", func(t *testing.T) {
		r3.malformed.Store(true)
		want[3] = [2]string{"", ""}
		deadline := time.Now().Add(10 * time.Second)
		for {
			m := e.scrape()
			last = labelled(m)
			bad, _ := m.get("traceroute_exporter_malformed_extensions_total", nil)
			if last == nil && bad > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 10s of malformed extensions: %v, malformed_extensions_total %v", last, bad)
			}
			time.Sleep(250 * time.Millisecond)
		}
		before := e.scrape().value(t, "traceroute_exporter_malformed_extensions_total", nil)
		for i := 0; i < 3; i++ {
			time.Sleep(interval)
			m := e.scrape()
			if err := labelled(m); err != nil {
				t.Fatal(err)
			}
			steady(t, m)
		}
		after := e.scrape().value(t, "traceroute_exporter_malformed_extensions_total", nil)
		if after <= before {
			t.Errorf("malformed_extensions_total stayed at %v while r3a kept sending bad objects", after)
		}
		t.Logf("malformed_extensions_total %v -> %v in 3 intervals", before, after)
		// The kernel's traceroute, which checks object lengths too, shows
		// the hop without the stack.
		for _, f := range families {
			if l := kernelTraceExt(t, tp, f.v6, f.dst)[3]; !strings.Contains(l, " "+addr(f.v6, 3)+" ") || strings.Contains(l, "MPLS") {
				t.Errorf("%s hop 3 with a bad object length: %q, want %s without MPLS", f.dst, l, addr(f.v6, 3))
			}
		}
	})
}
