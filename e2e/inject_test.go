package e2e

import (
	endian "encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Packet injection for the hostile-network tests (spoof_test.go,
// flood_test.go): a packet (AF_PACKET) socket on a router's end of a veth
// pair writes whole IP packets, with any source address, as Ethernet
// frames to the other end's MAC address. They pass none of the router's
// own IP stack (no routing, reverse-path filter or ICMP rate limit), so a
// test sends exactly the packets it built, at the rate it chooses, and
// the host at the other end receives them as from its gateway. The same
// socket reads every frame the interface sends and receives, except the
// ones it wrote itself (the kernel never loops a packet socket's own
// frames back to it).

// forgedTTL is the TTL (hop limit) of every packet the tests build: no
// packet the network sends arrives with it, so a capture tells the
// forged packets from the real ones.
const forgedTTL = 201

// wire is a packet socket on one interface of a node.
type wire struct {
	mu  sync.RWMutex // held to write, and to close
	fd  int          // -1 once closed
	rd  *os.File     // the socket in the runtime poller; nil if the wire only writes
	eth [2][14]byte
}

// openWire opens a wire on interface ifName of node, addressed to the MAC
// of interface peerIf of node peer (the other end of the veth pair). With
// read, it captures every frame of the interface (readFrame); without, it
// only writes, in blocking mode. It is closed at cleanup.
func openWire(l *lab, node, ifName, peer, peerIf string, read bool) *wire {
	l.t.Helper()
	var peerMAC net.HardwareAddr
	if err := inNetns(l.name(peer), func() error {
		ifc, err := net.InterfaceByName(peerIf)
		if err == nil {
			peerMAC = ifc.HardwareAddr
		}
		return err
	}); err != nil {
		l.t.Fatalf("%s %s: %v", peer, peerIf, err)
	}
	w := &wire{fd: -1}
	err := inNetns(l.name(node), func() error {
		ifc, err := net.InterfaceByName(ifName)
		if err != nil {
			return err
		}
		for i, typ := range []uint16{unix.ETH_P_IP, unix.ETH_P_IPV6} {
			copy(w.eth[i][0:6], peerMAC)
			copy(w.eth[i][6:12], ifc.HardwareAddr)
			endian.BigEndian.PutUint16(w.eth[i][12:], typ)
		}
		typ, proto := unix.SOCK_RAW|unix.SOCK_CLOEXEC, uint16(0) // protocol 0: receives nothing
		if read {
			typ, proto = typ|unix.SOCK_NONBLOCK, htons(unix.ETH_P_ALL)
		}
		if w.fd, err = unix.Socket(unix.AF_PACKET, typ, int(proto)); err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		if err := unix.Bind(w.fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifc.Index}); err != nil {
			return fmt.Errorf("bind packet socket to %s: %w", ifName, err)
		}
		if read {
			// Room for the frames that queue while the reader is not
			// scheduled on a busy host.
			unix.SetsockoptInt(w.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
			if err := unix.SetsockoptInt(w.fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
				return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		if w.fd >= 0 {
			unix.Close(w.fd)
		}
		l.t.Fatalf("wire on %s %s: %v", node, ifName, err)
	}
	if read {
		w.rd = os.NewFile(uintptr(w.fd), "packet:"+ifName)
	}
	l.t.Cleanup(w.close)
	return w
}

// close releases the socket; a readFrame in progress returns an error, and
// so does every write after it.
func (w *wire) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.fd < 0:
	case w.rd != nil:
		w.rd.Close()
	default:
		unix.Close(w.fd)
	}
	w.fd = -1
}

// frame returns pkt (an IPv4 or IPv6 packet) in an Ethernet frame to the
// peer, appended to buf.
func (w *wire) frame(buf, pkt []byte) []byte {
	eth := w.eth[0]
	if pkt[0]>>4 == 6 {
		eth = w.eth[1]
	}
	return append(append(buf[:0], eth[:]...), pkt...)
}

// send writes one IP packet to the peer.
func (w *wire) send(pkt []byte) error {
	var buf [1600]byte
	f := w.frame(buf[:], pkt)
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.fd < 0 {
		return net.ErrClosed
	}
	if w.rd != nil {
		_, err := w.rd.Write(f) // non-blocking: the poller waits for room
		return err
	}
	for {
		if _, err := unix.Write(w.fd, f); err != unix.EINTR {
			return err
		}
	}
}

// batch is a set of frames written together with sendmmsg(2).
type batch struct {
	frames [][]byte
	iov    []unix.Iovec
	hdrs   []unix.Mmsghdr
}

// newBatch prepares the IP packets pkts as frames to the peer.
func (w *wire) newBatch(pkts [][]byte) *batch {
	b := &batch{frames: make([][]byte, len(pkts)), iov: make([]unix.Iovec, len(pkts)), hdrs: make([]unix.Mmsghdr, len(pkts))}
	for i, p := range pkts {
		b.frames[i] = w.frame(make([]byte, 0, 14+len(p)), p)
		b.iov[i].Base = &b.frames[i][0]
		b.iov[i].SetLen(len(b.frames[i]))
		b.hdrs[i].Hdr.Iov = &b.iov[i]
		b.hdrs[i].Hdr.SetIovlen(1)
	}
	return b
}

// sendBatch writes frames from..from+n-1 of b (n at most len(b.frames)
// - from) in one system call when it can, and returns how many went out.
func (w *wire) sendBatch(b *batch, from, n int) (int, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.fd < 0 {
		return 0, net.ErrClosed
	}
	sent := 0
	for sent < n {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(w.fd), uintptr(unsafe.Pointer(&b.hdrs[from+sent])), uintptr(n-sent), 0, 0, 0)
		runtime.KeepAlive(b)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return sent, errno
		}
		sent += int(r)
	}
	return sent, nil
}

// readFrame reads the next frame of the interface into buf and returns the
// IP packet in it, whether the interface sent it (false: it received it,
// addressed to the node) and when the kernel saw it.
func (w *wire) readFrame(buf []byte) (pkt []byte, outgoing bool, at time.Time, err error) {
	rc, err := w.rd.SyscallConn()
	if err != nil {
		return nil, false, time.Time{}, err
	}
	var oob [64]byte
	for {
		var (
			n, oobn int
			from    unix.Sockaddr
			rerr    error
		)
		if err := rc.Read(func(fd uintptr) bool {
			n, oobn, _, from, rerr = unix.Recvmsg(int(fd), buf, oob[:], 0)
			return rerr != unix.EAGAIN
		}); err != nil {
			return nil, false, time.Time{}, err
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if rerr != nil || !ok || n < 14+20 {
			continue
		}
		at = time.Now()
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16 {
					at = time.Unix(int64(endian.NativeEndian.Uint64(m.Data)), int64(endian.NativeEndian.Uint64(m.Data[8:])))
				}
			}
		}
		switch ll.Pkttype {
		case unix.PACKET_HOST, unix.PACKET_OUTGOING:
			return buf[14:n], ll.Pkttype == unix.PACKET_OUTGOING, at, nil
		}
	}
}

// ipHeader is what the tests read of an IP packet.
type ipHeader struct {
	v6       bool
	src, dst netip.Addr
	proto    byte // the next header; IPv6 extension headers are not followed
	ttl      byte
	l4       []byte // the payload, cut to the packet's length
}

var errNotIP = errors.New("not an IPv4 or IPv6 packet")

// parseIP reads the header of an IPv4 or IPv6 packet.
func parseIP(pkt []byte) (ipHeader, error) {
	if len(pkt) < 20 {
		return ipHeader{}, errNotIP
	}
	switch pkt[0] >> 4 {
	case 4:
		ihl := int(pkt[0]&0x0f) * 4
		l := int(endian.BigEndian.Uint16(pkt[2:]))
		if ihl < 20 || l < ihl || l > len(pkt) {
			return ipHeader{}, errNotIP
		}
		return ipHeader{src: netip.AddrFrom4([4]byte(pkt[12:16])), dst: netip.AddrFrom4([4]byte(pkt[16:20])),
			proto: pkt[9], ttl: pkt[8], l4: pkt[ihl:l]}, nil
	case 6:
		if len(pkt) < 40 {
			return ipHeader{}, errNotIP
		}
		l := 40 + int(endian.BigEndian.Uint16(pkt[4:]))
		if l > len(pkt) {
			return ipHeader{}, errNotIP
		}
		return ipHeader{v6: true, src: netip.AddrFrom16([16]byte(pkt[8:24])), dst: netip.AddrFrom16([16]byte(pkt[24:40])),
			proto: pkt[6], ttl: pkt[7], l4: pkt[40:l]}, nil
	}
	return ipHeader{}, errNotIP
}

// IP protocol numbers and ICMP types the tests build.
const (
	ipICMP   = 1
	ipTCP    = 6
	ipUDP    = 17
	ipICMPv6 = 58

	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// icmpType holds an ICMP message type for IPv4 ([0]) and IPv6 ([1]).
type icmpType [2]byte

var (
	icmpEchoReply    = icmpType{0, 129}
	icmpEchoRequest  = icmpType{8, 128}
	icmpTimeExceeded = icmpType{11, 3}
	icmpUnreachable  = icmpType{3, 1}
	// codePortUnreachable is the Destination Unreachable code of a closed
	// UDP port; codeProhibited that of a filter.
	codePortUnreachable = icmpType{3, 4}
	codeProhibited      = icmpType{13, 1}
)

func fam(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// ipPacket returns an IP packet from src to dst (one family) carrying
// payload as protocol proto, with TTL forgedTTL.
func ipPacket(src, dst netip.Addr, proto byte, payload []byte) []byte {
	if src.Is6() {
		p := make([]byte, 40, 40+len(payload))
		p[0] = 6 << 4
		endian.BigEndian.PutUint16(p[4:], uint16(len(payload)))
		p[6], p[7] = proto, forgedTTL
		s, d := src.As16(), dst.As16()
		copy(p[8:], s[:])
		copy(p[24:], d[:])
		return append(p, payload...)
	}
	p := make([]byte, 20, 20+len(payload))
	p[0] = 0x45
	endian.BigEndian.PutUint16(p[2:], uint16(20+len(payload)))
	p[8], p[9] = forgedTTL, proto
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	endian.BigEndian.PutUint16(p[10:], inetChecksum(p))
	return append(p, payload...)
}

// icmpPacket returns an ICMP (ICMPv6) message of type typ and code, with
// rest as its second 32-bit word and body after it, in an IP packet from
// src to dst, checksummed.
func icmpPacket(src, dst netip.Addr, typ icmpType, code icmpType, rest uint32, body []byte) []byte {
	f := fam(src)
	msg := make([]byte, 8, 8+len(body))
	msg[0], msg[1] = typ[f], code[f]
	endian.BigEndian.PutUint32(msg[4:], rest)
	msg = append(msg, body...)
	proto := byte(ipICMP)
	var sum uint32
	if f == 1 {
		proto = ipICMPv6
		sum = pseudoSum(src, dst, proto, len(msg))
	}
	endian.BigEndian.PutUint16(msg[2:], ^fold(addWords(sum, msg)))
	return ipPacket(src, dst, proto, msg)
}

// tcpPacket returns a TCP segment without options or data, in an IP
// packet from src to dst, checksummed.
func tcpPacket(src, dst netip.Addr, sport, dport uint16, seq, ack uint32, flags byte) []byte {
	seg := make([]byte, 20)
	endian.BigEndian.PutUint16(seg[0:], sport)
	endian.BigEndian.PutUint16(seg[2:], dport)
	endian.BigEndian.PutUint32(seg[4:], seq)
	endian.BigEndian.PutUint32(seg[8:], ack)
	seg[12], seg[13] = 5<<4, flags
	endian.BigEndian.PutUint16(seg[14:], 65535)
	endian.BigEndian.PutUint16(seg[16:], ^fold(addWords(pseudoSum(src, dst, ipTCP, len(seg)), seg)))
	return ipPacket(src, dst, ipTCP, seg)
}

// pseudoSum is the unfolded ones' complement sum of the pseudo-header that
// TCP, UDP and ICMPv6 checksums cover (RFC 768, RFC 8200 8.1).
func pseudoSum(src, dst netip.Addr, proto byte, length int) uint32 {
	s, d := src.AsSlice(), dst.AsSlice()
	return addWords(addWords(0, s), d) + uint32(proto) + uint32(length)
}

// addWords adds the 16-bit big-endian words of b to sum (RFC 1071).
func addWords(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// procStatus returns a field of /proc/PID/status in kB (VmRSS, VmHWM).
func procStatus(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	var kb int
	for _, line := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(line, field+": %d kB", &kb); err == nil {
			return kb, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
