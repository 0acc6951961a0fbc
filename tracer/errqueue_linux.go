package tracer

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Layout of the extended error the kernel attaches to an error queue entry
// (struct sock_extended_err of linux/errqueue.h), followed by the
// offender's address (SO_EE_OFFENDER).
const (
	sockErrLen      = 16
	sockErrOrigin   = 4
	sockErrType     = 5
	sockErrCode     = 6
	sockErrInfo     = 8
	sockErrRFC4884  = 12 // ee_data as struct sock_ee_data_rfc4884: len u16, flags u8
	sockaddr4AddrAt = 4  // sin_addr in a sockaddr_in
	sockaddr6AddrAt = 8  // sin6_addr in a sockaddr_in6
)

// sockErr is what the kernel reports about one ICMP error it queued on a
// datagram socket.
type sockErr struct {
	// Origin is SO_EE_ORIGIN_ICMP or SO_EE_ORIGIN_ICMP6 for an ICMP error;
	// other origins (local errors) are not packets.
	Origin uint8
	// Type and Code are those of the ICMP error.
	Type, Code uint8
	// Info is the type's 32-bit field: the next-hop MTU of a Fragmentation
	// Needed or Packet Too Big, the pointer of a Parameter Problem.
	Info uint32
	// Offender is the sender of the ICMP error.
	Offender netip.Addr
	// ExtOff is the offset, in the returned quote, of a valid RFC 4884
	// extension structure; 0 when there is none or the kernel did not say.
	ExtOff int
}

// parseSockErr decodes the data of an IP_RECVERR (IPV6_RECVERR) control
// message. ok is false when it is too short.
func parseSockErr(b []byte) (e sockErr, ok bool) {
	if len(b) < sockErrLen {
		return e, false
	}
	e.Origin, e.Type, e.Code = b[sockErrOrigin], b[sockErrType], b[sockErrCode]
	e.Info = binary.NativeEndian.Uint32(b[sockErrInfo:])
	if l, flags := binary.NativeEndian.Uint16(b[sockErrRFC4884:]), b[sockErrRFC4884+2]; flags&unix.SO_EE_RFC4884_FLAG_INVALID == 0 {
		e.ExtOff = int(l)
	}
	sa := b[sockErrLen:]
	if len(sa) < 2 {
		return e, true
	}
	switch binary.NativeEndian.Uint16(sa) {
	case unix.AF_INET:
		if len(sa) >= sockaddr4AddrAt+4 {
			e.Offender = netip.AddrFrom4([4]byte(sa[sockaddr4AddrAt:]))
		}
	case unix.AF_INET6:
		if len(sa) >= sockaddr6AddrAt+16 {
			e.Offender = netip.AddrFrom16([16]byte(sa[sockaddr6AddrAt:])).Unmap()
		}
	}
	return e, true
}

// errHeaderLen is how much synthesizeError writes in front of the quote:
// the ICMP header and the quoted IP header.
func errHeaderLen(v6 bool) int {
	if v6 {
		return icmpHeaderLen + ipv6Len
	}
	return icmpHeaderLen + ipv4Min
}

// synthesizeError rebuilds in msg the ICMP error a raw socket would have
// read, from what the error queue gives: msg[errHeaderLen(v6):] already
// holds the quoted probe (its ICMP header onwards, with any RFC 4884
// extension structure after it); synthesizeError writes in front of it
// the ICMP header (type, code, the type's field from e.Info, the RFC 4884
// length attribute) and an IPv4 header (version 4, IHL 5, protocol ICMP)
// or IPv6 header (next header ICMPv6) with destination dst and a length
// that covers the quote up to the extensions. What the kernel does not
// report is zero: the checksums (decoders do not read them), the quoted
// TTL, identification and source address.
func synthesizeError(v6 bool, e sockErr, dst netip.Addr, msg []byte) {
	hl := errHeaderLen(v6)
	clear(msg[:hl])
	msg[0], msg[1] = e.Type, e.Code
	quoted := len(msg) - hl
	ext := e.ExtOff > 0 && e.ExtOff < quoted
	if ext {
		quoted = e.ExtOff
	}
	ip := msg[icmpHeaderLen:hl]
	if v6 {
		switch e.Type {
		case 2, 4: // Packet Too Big: MTU; Parameter Problem: pointer
			binary.BigEndian.PutUint32(msg[4:], e.Info)
		}
		if ext {
			msg[4] = byte((ipv6Len + e.ExtOff) / 8)
		}
		ip[0] = 6 << 4
		binary.BigEndian.PutUint16(ip[4:], uint16(quoted))
		ip[6] = protoICMP6
		a := dst.As16()
		copy(ip[24:40], a[:])
		return
	}
	switch {
	case e.Type == icmp4DestUnreachable && e.Code == 4: // Fragmentation Needed
		binary.BigEndian.PutUint16(msg[6:], uint16(e.Info))
	case e.Type == 12: // Parameter Problem
		msg[4] = byte(e.Info)
	}
	if ext {
		msg[5] = byte((ipv4Min + e.ExtOff) / 4)
	}
	ip[0] = 4<<4 | ipv4Min/4
	binary.BigEndian.PutUint16(ip[2:], uint16(ipv4Min+quoted))
	ip[9] = protoICMP4
	a := dst.As4()
	copy(ip[16:20], a[:])
}

// recv reads one packet without blocking from the error queue or the
// normal queue, trying them in turn so that neither starves the other; ok
// is false when both are empty.
func (c *dgramConn) recv(buf []byte) (Packet, bool, error) {
	c.errFirst = !c.errFirst
	p, ok, err := c.recvQueue(buf, c.errFirst)
	if ok || err != nil {
		return p, ok, err
	}
	return c.recvQueue(buf, !c.errFirst)
}

// recvQueue reads one packet from the error queue (errq) or the normal
// queue. An error queue entry that is not an ICMP error is skipped.
func (c *dgramConn) recvQueue(buf []byte, errq bool) (Packet, bool, error) {
	flags, off := unix.MSG_DONTWAIT, 0
	if errq {
		flags, off = flags|unix.MSG_ERRQUEUE, errHeaderLen(c.v6)
		if len(buf) < off+icmpHeaderLen {
			return Packet{}, false, errShortBuffer
		}
	}
	for {
		n, oobn, _, sa, err := unix.Recvmsg(c.fd, buf[off:], c.oob, flags)
		switch {
		case err == nil:
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return Packet{}, false, nil
		case !errq && pendingICMPError(err):
			continue // the socket's error, already reported on the error queue
		default:
			return Packet{}, false, err
		}
		p := Packet{TTL: -1}
		addr := sockaddrAddr(sa)
		se, isErr := parseDgramControl(c.oob[:oobn], &p)
		if !errq {
			p.From, p.Data = addr, buf[:n]
			return p, true, nil
		}
		if !isErr || (se.Origin != unix.SO_EE_ORIGIN_ICMP && se.Origin != unix.SO_EE_ORIGIN_ICMP6) {
			continue
		}
		p.From = se.Offender
		if !addr.IsValid() || addr.Is6() != c.v6 {
			p.Data = buf[:0] // the decoder counts it as malformed
			return p, true, nil
		}
		p.Data = buf[:off+n]
		synthesizeError(c.v6, se, addr, p.Data)
		return p, true, nil
	}
}

// errShortBuffer is returned when ReadPacket's buffer cannot hold the
// rebuilt headers of an ICMP error and the probe it quotes.
var errShortBuffer = errors.New("read buffer too short for an ICMP error")

// parseDgramControl reads the receive ancillary data of a datagram socket:
// what parseControl reads, the IPv4 TTL (IP_TTL) and the extended error of
// an error queue entry.
func parseDgramControl(b []byte, p *Packet) (se sockErr, isErr bool) {
	parseControl(b, p)
	for len(b) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			return se, isErr
		}
		b = rest
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_TTL && len(data) >= 4:
			p.TTL = int(int32(binary.NativeEndian.Uint32(data)))
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_RECVERR,
			h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_RECVERR:
			se, isErr = parseSockErr(data)
		}
	}
	return se, isErr
}

// pendingICMPError reports whether err, returned by a read of the normal
// queue, is the socket's pending error (sk_err) that an ICMP error set: the
// kernel returns it once, before any queued datagram, and the error itself
// waits on the error queue.
func pendingICMPError(err error) bool {
	switch err {
	case unix.EHOSTUNREACH, unix.ENETUNREACH, unix.ECONNREFUSED, unix.EMSGSIZE,
		unix.EPROTO, unix.ENOPROTOOPT, unix.EOPNOTSUPP, unix.EHOSTDOWN,
		unix.ENONET, unix.EACCES, unix.EREMOTEIO:
		return true
	}
	return false
}

// sockaddrAddr returns the address of an IPv4 or IPv6 socket address.
func sockaddrAddr(sa unix.Sockaddr) netip.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(a.Addr)
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(a.Addr).Unmap()
	}
	return netip.Addr{}
}
