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

// ErrPingGroup is returned by ListenICMPUnprivileged when the kernel refuses
// an ICMP datagram socket because no group of the process is in the range
// of the sysctl net.ipv4.ping_group_range (which also governs ICMPv6).
var ErrPingGroup = errors.New("opening an ICMP datagram (ping) socket needs a group of the process in net.ipv4.ping_group_range: set it, e.g. `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`, or grant CAP_NET_RAW to use raw sockets")

// ErrDgramSource is returned by an IPv6 datagram socket asked to send from a
// given source address: ping sockets of IPv6 ignore IPV6_PKTINFO's address.
var ErrDgramSource = errors.New("an ICMPv6 datagram (ping) socket cannot choose a probe's source address: it needs a raw socket (CAP_NET_RAW)")

// dgramConn is the PacketConn over an ICMP datagram ("ping") socket, the
// kind Linux lets a process open without CAP_NET_RAW when one of its groups
// is in net.ipv4.ping_group_range. It delivers packets in exactly the form
// rawConn does, so the engine and ParseReply need no change:
//
//   - Echo Replies arrive as ordinary datagrams: the ICMP message without
//     the IP header.
//   - Time Exceeded and Destination Unreachable never reach a ping socket
//     as packets. With IP_RECVERR (IPV6_RECVERR) the kernel queues them on
//     the socket's error queue instead: the original Echo Request as it was
//     quoted, the ICMP type and code, the offender (the router that sent
//     the error) and, as the message's address, the probe's destination.
//     ReadPacket rebuilds from these the ICMP error a raw socket would have
//     read (see synthesizeError).
//
// The kernel owns two header fields of every Echo Request sent through the
// socket: it overwrites the identifier with the socket's identifier (its
// local "port") and computes the checksum itself, over the message as
// sent, for ICMPv4 too. MarshalEcho's payload compensation cancels the
// sequence number out of that checksum, so the probes of a flow still share
// one checksum (Paris); it is the checksum MarshalEcho computed, the one
// the engine chose, only when the probe was built with the socket's
// identifier. Replies, and errors quoting probes, carry that identifier,
// never the one the caller wrote.
//
// TTL, source and times work as on rawConn: the TTL (hop limit) and the
// IPv4 source of each probe travel in ancillary data, and the kernel stamps
// every received packet, error queue entries included (SO_TIMESTAMPNS).
// Ping sockets of IPv6 ignore ancillary data before Linux 5.18, so WriteTo
// also sets the socket's hop limit when a probe needs another one (safe
// because the engine loop is the only writer); they never honour a source
// address (ErrDgramSource).
type dgramConn struct {
	v6     bool
	fd     int
	rcvbuf int // the receive buffer granted
	wake   int // eventfd that interrupts poll

	wakeReq atomic.Bool
	closed  atomic.Bool
	mu      sync.Mutex // held by ReadPacket; Close takes it to free the fds

	// Reader state, owned by the single ReadPacket caller.
	oob      []byte
	errFirst bool // which queue recv tries first; alternates for fairness
	draining bool
	drainAt  time.Time
	stash    Packet // a packet read while draining that arrived after drainAt
	stashBuf []byte
	stashed  bool

	// Sender state; WriteTo has a single caller, the engine loop.
	wOOB []byte // send ancillary data
	hops int    // the socket's IPV6_UNICAST_HOPS, set when a probe needs another
}

// ListenICMPUnprivileged opens the ICMP datagram (ping) socket of one family
// and returns it with its ICMP identifier. Every Echo Request sent through
// the socket leaves with that identifier whatever the caller wrote, so the
// engine must build its probes with it, MarshalEcho(v6, id, seq, buf), for
// the checksum it computes (its Paris flow) to be the one on the wire, and
// must expect it in replies: on this socket every flow shares it and flows
// differ by sequence numbers and checksum only. It wraps ErrPingGroup when
// net.ipv4.ping_group_range excludes the process's groups.
func ListenICMPUnprivileged(v6 bool) (PacketConn, uint16, error) {
	domain, proto, name := unix.AF_INET, unix.IPPROTO_ICMP, "udp4:icmp"
	var bindAddr unix.Sockaddr = &unix.SockaddrInet4{}
	if v6 {
		domain, proto, name = unix.AF_INET6, unix.IPPROTO_ICMPV6, "udp6:ipv6-icmp"
		bindAddr = &unix.SockaddrInet6{}
	}
	fd, err := unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, 0, fmt.Errorf("%s: %w", name, ErrPingGroup)
		}
		return nil, 0, fmt.Errorf("socket %s: %w", name, err)
	}
	id, err := setupDgram(fd, v6, bindAddr)
	if err != nil {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("set up %s socket: %w", name, err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("eventfd: %w", err)
	}
	c := &dgramConn{v6: v6, fd: fd, rcvbuf: setReceiveBuffer(fd), wake: efd, oob: make([]byte, 256), wOOB: make([]byte, 128), hops: -1, stashBuf: make([]byte, 1500)}
	return c, id, nil
}

// setupDgram asks for errors on the error queue, timestamps and receive
// TTLs, then binds the socket to identifier 0, which makes the kernel pick
// a free identifier, and returns the one it picked.
func setupDgram(fd int, v6 bool, bindAddr unix.Sockaddr) (uint16, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return 0, fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1) // drop counts are informative only
	level, recvErr, name := unix.IPPROTO_IP, unix.IP_RECVERR, "IP_RECVERR"
	optional := []int{unix.IP_RECVTTL, unix.IP_RECVERR_RFC4884} // receive TTLs; RFC 4884 offsets (Linux 5.9+)
	if v6 {
		level, recvErr, name = unix.IPPROTO_IPV6, unix.IPV6_RECVERR, "IPV6_RECVERR"
		optional = []int{unix.IPV6_RECVHOPLIMIT, unix.IPV6_RECVERR_RFC4884}
	}
	if err := unix.SetsockoptInt(fd, level, recvErr, 1); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	for _, opt := range optional {
		_ = unix.SetsockoptInt(fd, level, opt, 1)
	}
	if err := unix.Bind(fd, bindAddr); err != nil {
		return 0, fmt.Errorf("bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, fmt.Errorf("getsockname: %w", err)
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return uint16(a.Port), nil
	case *unix.SockaddrInet6:
		return uint16(a.Port), nil
	}
	return 0, fmt.Errorf("getsockname: unexpected address %T", sa)
}

// WriteTo implements PacketConn. The kernel sets the identifier and the
// checksum of b (see dgramConn). An IPv6 socket refuses a valid src with
// ErrDgramSource rather than send from another address.
func (c *dgramConn) WriteTo(b []byte, dst, src netip.Addr, ttl int) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	var sa unix.Sockaddr
	if c.v6 {
		if src.IsValid() {
			return ErrDgramSource
		}
		sa = &unix.SockaddrInet6{Addr: dst.As16()}
		if ttl != c.hops { // kernels before 5.18 ignore the ancillary hop limit
			if err := unix.SetsockoptInt(c.fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, ttl); err != nil {
				return err
			}
			c.hops = ttl
		}
	} else {
		sa = &unix.SockaddrInet4{Addr: dst.As4()}
	}
	for tries := 0; ; {
		_, err := unix.SendmsgN(c.fd, b, sendControl(c.wOOB, c.v6, src, ttl), sa, unix.MSG_DONTWAIT)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil && pendingICMPError(err) && tries < sendRetries:
			tries++ // the socket's pending error, now cleared (see sendRetries)
			continue
		}
		return err
	}
}

// sendRetries bounds the retries of a send that failed with the socket's
// pending error. Every ICMP error a ping socket receives also sets that
// error (sk_err), which the next send consumes and fails with, before
// sending anything, until the error queue has been read empty. The ICMP
// error itself waits on the error queue, so the send is retried; a genuine
// error (no route) fails every retry and is returned.
const sendRetries = 8

// ReadPacket implements PacketConn with the drain semantics of rawConn:
// while a drain is under way (after Wake) it returns the packets still
// queued on either queue, normal and error, and then the watermark; the
// drain ends when both queues are empty or when a packet received after the
// drain began is read (that packet is returned right after the watermark).
func (c *dgramConn) ReadPacket(buf []byte) (Packet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.closed.Load() {
			return Packet{}, net.ErrClosed
		}
		if c.stashed && !c.draining {
			c.stashed = false
			n := copy(buf, c.stash.Data)
			p := c.stash
			p.Data = buf[:n]
			return p, nil
		}
		if !c.draining && c.wakeReq.Swap(false) {
			c.draining, c.drainAt = true, time.Now()
		}
		if c.draining && c.stashed {
			c.draining = false
			return Packet{Drained: true, Time: c.drainAt}, nil
		}
		p, ok, err := c.recv(buf)
		if err != nil {
			return Packet{}, err
		}
		if ok {
			if c.draining && !p.Time.IsZero() && !p.Time.Before(c.drainAt) {
				c.stash = p
				c.stash.Data = append(c.stashBuf[:0], p.Data...)
				c.stashed = true
				continue
			}
			return p, nil
		}
		if c.draining {
			c.draining = false
			return Packet{Drained: true, Time: c.drainAt}, nil
		}
		if err := c.wait(); err != nil {
			return Packet{}, err
		}
	}
}

// wait blocks until the socket is readable, has a queued error (POLLERR,
// reported whatever the requested events) or the eventfd is written.
func (c *dgramConn) wait() error {
	fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}, {Fd: int32(c.wake), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if fds[1].Revents != 0 {
			var b [8]byte
			unix.Read(c.wake, b[:])
		}
		return nil
	}
}

// Wake implements PacketConn.
func (c *dgramConn) Wake() {
	c.wakeReq.Store(true)
	c.kick()
}

func (c *dgramConn) kick() {
	one := [8]byte{1}
	unix.Write(c.wake, one[:])
}

// Close implements PacketConn. It waits for a running ReadPacket to return.
func (c *dgramConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.kick()
	c.mu.Lock()
	defer c.mu.Unlock()
	unix.Close(c.wake)
	return unix.Close(c.fd)
}
