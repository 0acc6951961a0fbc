package tracer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// rawConn is the PacketConn over a raw ICMP (ICMPv6) socket. One is shared
// by every target of its family: the TTL and source of each probe travel in
// ancillary data (IP_TTL and IP_PKTINFO, IPV6_HOPLIMIT and IPV6_PKTINFO), so
// concurrent probes never race on a socket option.
type rawConn struct {
	v6   bool
	c    *net.IPConn
	oob  []byte // receive ancillary data; ReadPacket has a single caller
	wOOB []byte // send ancillary data; WriteTo has a single caller, the engine loop
}

// ListenICMP opens the raw ICMP socket of one family. The kernel filter lets
// through only Echo Reply, Time Exceeded and Destination Unreachable, so the
// engine never sees the host's other ICMP traffic. It wraps ErrPermission
// when the process lacks CAP_NET_RAW.
func ListenICMP(v6 bool) (PacketConn, error) {
	network, laddr := "ip4:icmp", &net.IPAddr{IP: net.IPv4zero}
	if v6 {
		network, laddr = "ip6:ipv6-icmp", &net.IPAddr{IP: net.IPv6unspecified}
	}
	c, err := net.ListenIP(network, laddr)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%s: %w", network, ErrPermission)
		}
		return nil, fmt.Errorf("listen %s: %w", network, err)
	}
	if err := setupRaw(c, v6); err != nil {
		c.Close()
		return nil, fmt.Errorf("set up %s socket: %w", network, err)
	}
	return &rawConn{v6: v6, c: c, oob: make([]byte, 128), wOOB: make([]byte, 128)}, nil
}

func setupRaw(c *net.IPConn, v6 bool) error {
	_ = c.SetReadBuffer(4 << 20) // best effort: the kernel caps it at rmem_max
	if v6 {
		p := ipv6.NewPacketConn(c)
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		f.Accept(ipv6.ICMPTypeTimeExceeded)
		f.Accept(ipv6.ICMPTypeDestinationUnreachable)
		if err := p.SetICMPFilter(&f); err != nil {
			return err
		}
		return p.SetControlMessage(ipv6.FlagHopLimit, true)
	}
	var f ipv4.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv4.ICMPTypeEchoReply)
	f.Accept(ipv4.ICMPTypeTimeExceeded)
	f.Accept(ipv4.ICMPTypeDestinationUnreachable)
	return ipv4.NewPacketConn(c).SetICMPFilter(&f)
}

// WriteTo implements PacketConn.
func (r *rawConn) WriteTo(b []byte, dst, src netip.Addr, ttl int) error {
	_, _, err := r.c.WriteMsgIP(b, sendControl(r.wOOB, r.v6, src, ttl), &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()})
	return err
}

// ReadPacket implements PacketConn.
func (r *rawConn) ReadPacket(buf []byte) (Packet, error) {
	n, oobn, _, addr, err := r.c.ReadMsgIP(buf, r.oob)
	if err != nil {
		return Packet{}, err
	}
	from, _ := netip.AddrFromSlice(addr.IP)
	p := Packet{From: from.Unmap(), TTL: -1}
	if !r.v6 {
		data, ttl, err := stripIPv4Header(buf[:n])
		if err != nil {
			return Packet{Data: buf[:0], From: p.From, TTL: -1}, nil // the decoder counts it
		}
		p.Data, p.TTL = data, ttl
		return p, nil
	}
	p.Data = buf[:n]
	var cm ipv6.ControlMessage
	if cm.Parse(r.oob[:oobn]) == nil {
		p.TTL = cm.HopLimit
	}
	return p, nil
}

// Close implements PacketConn.
func (r *rawConn) Close() error { return r.c.Close() }

// sendControl builds, in buf, the ancillary data that sets one probe's TTL
// (hop limit) and, when src is valid, its source address.
func sendControl(buf []byte, v6 bool, src netip.Addr, ttl int) []byte {
	intLen := int(unsafe.Sizeof(int32(0)))
	if v6 {
		size := unix.CmsgSpace(intLen)
		if src.IsValid() {
			size += unix.CmsgSpace(unix.SizeofInet6Pktinfo)
		}
		b := clear0(buf[:size])
		rest := putCmsg(b, unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, int32Bytes(ttl))
		if src.IsValid() {
			var pi unix.Inet6Pktinfo
			pi.Addr = src.As16()
			putCmsg(rest, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, (*[unix.SizeofInet6Pktinfo]byte)(unsafe.Pointer(&pi))[:])
		}
		return b
	}
	size := unix.CmsgSpace(intLen)
	if src.IsValid() {
		size += unix.CmsgSpace(unix.SizeofInet4Pktinfo)
	}
	b := clear0(buf[:size])
	rest := putCmsg(b, unix.IPPROTO_IP, unix.IP_TTL, int32Bytes(ttl))
	if src.IsValid() {
		var pi unix.Inet4Pktinfo
		pi.Spec_dst = src.As4()
		putCmsg(rest, unix.IPPROTO_IP, unix.IP_PKTINFO, (*[unix.SizeofInet4Pktinfo]byte)(unsafe.Pointer(&pi))[:])
	}
	return b
}

// putCmsg writes one control message at the start of b and returns the rest.
func putCmsg(b []byte, level, typ int, data []byte) []byte {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = int32(level)
	h.Type = int32(typ)
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b[unix.CmsgSpace(len(data)):]
}

func clear0(b []byte) []byte {
	clear(b)
	return b
}

func int32Bytes(v int) []byte {
	x := int32(v)
	return (*[4]byte)(unsafe.Pointer(&x))[:]
}
