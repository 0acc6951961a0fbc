package tracer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// rawConn is the PacketConn over a raw ICMP (ICMPv6) socket. One is shared
// by every target of its family: the TTL and source of each probe travel in
// ancillary data (IP_TTL and IP_PKTINFO, IPV6_HOPLIMIT and IPV6_PKTINFO), so
// concurrent probes never race on a socket option.
//
// Times: the kernel stamps every received packet (SO_TIMESTAMPNS, on
// CLOCK_REALTIME); the engine stamps each probe with the same clock
// (time.Now's wall reading) immediately before the send system call, so an
// RTT is the difference of two readings of one clock and does not include
// the time the reader goroutine waited to be scheduled.
//
// The socket is non-blocking and read from one goroutine that waits in
// poll(2) on the socket and an eventfd; Wake and Close write the eventfd.
type rawConn struct {
	v6     bool
	fd     int
	rcvbuf int // the receive buffer granted
	wake   int // eventfd that interrupts poll

	wakeReq atomic.Bool
	closed  atomic.Bool
	mu      sync.Mutex // held by ReadPacket; Close takes it to free the fds

	// Reader state, owned by the single ReadPacket caller.
	oob      []byte
	draining bool
	drainAt  time.Time
	stash    Packet // a packet read while draining that arrived after drainAt
	stashBuf []byte
	stashed  bool

	wOOB []byte // send ancillary data; WriteTo has a single caller, the engine loop
}

// ListenICMP opens the raw ICMP socket of one family. The kernel filter lets
// through only Echo Reply, Time Exceeded and Destination Unreachable, so the
// engine never sees the host's other ICMP traffic. It wraps ErrPermission
// when the process lacks CAP_NET_RAW.
func ListenICMP(v6 bool) (PacketConn, error) {
	proto, name := unix.IPPROTO_ICMP, "ip4:icmp"
	if v6 {
		proto, name = unix.IPPROTO_ICMPV6, "ip6:ipv6-icmp"
	}
	return listenRaw(v6, proto, name, func(fd int) error {
		if err := dontFragment(fd, v6); err != nil {
			return err
		}
		return icmpFilter(fd, v6)
	})
}

// ListenUDP opens the raw UDP socket of one family that sends UDP probes.
// It receives nothing: a socket filter drops every datagram (the probes'
// answers are ICMP, read by the ICMP socket).
func ListenUDP(v6 bool) (PacketConn, error) {
	name := "ip4:udp"
	if v6 {
		name = "ip6:udp"
	}
	return listenRaw(v6, unix.IPPROTO_UDP, name, func(fd int) error { return attachFilter(fd, dropAll) })
}

// ListenTCP opens the raw TCP socket of one family that sends SYN probes
// and receives the destination's SYN-ACK and RST. A socket filter passes
// only SYN-ACK and RST segments to the flows' port range, so the host's
// own TCP traffic is not copied to the exporter.
func ListenTCP(v6 bool) (PacketConn, error) {
	name := "ip4:tcp"
	if v6 {
		name = "ip6:tcp"
	}
	return listenRaw(v6, unix.IPPROTO_TCP, name, func(fd int) error { return attachFilter(fd, tcpAnswers(v6)) })
}

// listenRaw opens a non-blocking raw socket of one family and protocol,
// with receive timestamps, and applies filter.
func listenRaw(v6 bool, proto int, name string, filter func(fd int) error) (PacketConn, error) {
	domain := unix.AF_INET
	if v6 {
		domain = unix.AF_INET6
	}
	fd, err := unix.Socket(domain, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%s: %w", name, ErrPermission)
		}
		return nil, fmt.Errorf("socket %s: %w", name, err)
	}
	rcvbuf := setReceiveBuffer(fd)
	if err := setupRaw(fd, v6); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("set up %s socket: %w", name, err)
	}
	if err := filter(fd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("set up %s socket filter: %w", name, err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	return &rawConn{v6: v6, fd: fd, rcvbuf: rcvbuf, wake: efd, oob: make([]byte, 256), wOOB: make([]byte, 128), stashBuf: make([]byte, 1500)}, nil
}

func setupRaw(fd int, v6 bool) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1) // drop counts are informative only
	if v6 {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1)
	}
	return nil
}

// dontFragment makes every packet of the ICMP socket leave with DF set
// (IPv4; IPv6 routers never fragment) and never be fragmented by the host,
// whatever path MTU the kernel has learnt: path MTU probes measure the
// path themselves, and one larger than the outgoing interface is refused
// with EMSGSIZE. Traceroute probes are far below any MTU.
func dontFragment(fd int, v6 bool) error {
	if v6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE); err != nil {
			return fmt.Errorf("IPV6_MTU_DISCOVER: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG, 1); err != nil {
			return fmt.Errorf("IPV6_DONTFRAG: %w", err)
		}
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE); err != nil {
		return fmt.Errorf("IP_MTU_DISCOVER: %w", err)
	}
	return nil
}

// icmpFilter lets only Echo Reply, Time Exceeded, Destination Unreachable
// and (ICMPv6) Packet Too Big through to the ICMP socket.
func icmpFilter(fd int, v6 bool) error {
	if v6 {
		var f unix.ICMPv6Filter
		for i := range f.Data {
			f.Data[i] = 0xffffffff // a set bit blocks the type
		}
		for _, typ := range []uint8{icmp6DestUnreachable, icmp6PacketTooBig, icmp6TimeExceeded, icmp6EchoReply} {
			f.Data[typ>>5] &^= 1 << (typ & 31)
		}
		if err := unix.SetsockoptICMPv6Filter(fd, unix.IPPROTO_ICMPV6, unix.ICMPV6_FILTER, &f); err != nil {
			return fmt.Errorf("ICMPV6_FILTER: %w", err)
		}
		return nil
	}
	mask := ^uint32(1<<icmp4EchoReply | 1<<icmp4DestUnreachable | 1<<icmp4TimeExceeded)
	if err := unix.SetsockoptInt(fd, unix.SOL_RAW, unix.ICMP_FILTER, int(int32(mask))); err != nil {
		return fmt.Errorf("ICMP_FILTER: %w", err)
	}
	return nil
}

// WriteTo implements PacketConn.
func (r *rawConn) WriteTo(b []byte, dst, src netip.Addr, ttl int) error {
	if r.closed.Load() {
		return net.ErrClosed
	}
	var sa unix.Sockaddr
	if r.v6 {
		sa = &unix.SockaddrInet6{Addr: dst.As16()}
	} else {
		sa = &unix.SockaddrInet4{Addr: dst.As4()}
	}
	for {
		_, err := unix.SendmsgN(r.fd, b, sendControl(r.wOOB, r.v6, src, ttl), sa, unix.MSG_DONTWAIT)
		if err == unix.EINTR {
			continue
		}
		return err
	}
}

// Wake implements PacketConn.
func (r *rawConn) Wake() {
	r.wakeReq.Store(true)
	r.kick()
}

func (r *rawConn) kick() {
	one := [8]byte{1}
	unix.Write(r.wake, one[:])
}

// Close implements PacketConn. It waits for a running ReadPacket to return.
func (r *rawConn) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	r.kick()
	r.mu.Lock()
	defer r.mu.Unlock()
	unix.Close(r.wake)
	return unix.Close(r.fd)
}
