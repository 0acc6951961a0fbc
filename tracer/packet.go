package tracer

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// ICMP message types used by the tracer (RFC 792, RFC 4443).
const (
	icmp4EchoReply       = 0
	icmp4DestUnreachable = 3
	icmp4EchoRequest     = 8
	icmp4TimeExceeded    = 11

	icmp6DestUnreachable = 1
	icmp6PacketTooBig    = 2
	icmp6TimeExceeded    = 3
	icmp6EchoRequest     = 128
	icmp6EchoReply       = 129

	// codeFragNeeded is the Destination Unreachable code of an IPv4
	// router that had to fragment a packet with DF set (RFC 792, 1191).
	codeFragNeeded = 4

	protoICMP4 = 1
	protoICMP6 = 58
)

// Sizes of the probe and of the headers the decoder reads.
const (
	icmpHeaderLen = 8
	// EchoLen is the length of every Echo Request the tracer sends: the
	// 8-byte ICMP header plus an 8-byte payload (a 2-byte checksum
	// compensation word and a 6-byte marker).
	EchoLen = icmpHeaderLen + 8
	ipv4Min = 20
	ipv6Len = 40
)

// payloadMarker fills the rest of the probe payload. It makes probes easy to
// recognise in a capture; matching never depends on it.
var payloadMarker = [6]byte{'t', 'r', 'x', 'p', 'r', 'b'}

// Kind classifies a decoded reply.
type Kind uint8

// Kinds of reply. KindNone marks a probe that got no reply. KindReached is
// the destination's own answer: an Echo Reply (icmp), a Port Unreachable
// from the destination (udp), a SYN-ACK or RST (tcp).
const (
	KindNone Kind = iota
	KindReached
	KindTimeExceeded
	KindDestUnreachable
	// KindTooBig is an ICMPv6 Packet Too Big (RFC 4443); it answers only
	// path MTU probes (an IPv4 router says Fragmentation Needed, a
	// Destination Unreachable with code 4).
	KindTooBig
)

// String returns the kind's name as used in logs.
func (k Kind) String() string {
	switch k {
	case KindReached:
		return "reached"
	case KindTimeExceeded:
		return "time_exceeded"
	case KindDestUnreachable:
		return "dest_unreachable"
	case KindTooBig:
		return "too_big"
	default:
		return "none"
	}
}

// Errors returned by ParseReply. Callers count them as malformed or
// unsolicited packets and drop the packet.
var (
	ErrTruncated   = errors.New("packet truncated")
	ErrNotReply    = errors.New("not an ICMP message the tracer handles")
	ErrBadQuote    = errors.New("malformed quoted datagram")
	ErrNotOurProbe = errors.New("quoted datagram is not a probe (ICMP Echo Request, UDP or TCP)")
)

// Reply is a decoded message that may answer a probe.
type Reply struct {
	Kind Kind
	// Code is the ICMP code (the reason, for Destination Unreachable).
	Code uint8
	// Dst is the destination of the probe, read from the quoted IP header
	// of an error. It is invalid for a direct answer (Echo Reply, TCP
	// SYN-ACK or RST), whose sender is the destination.
	Dst netip.Addr
	// Proto is the IP protocol of the probe: ICMP (1 or 58), UDP or TCP.
	Proto uint8
	// ID is the probe's flow: the Echo identifier, or the source port of a
	// UDP or TCP probe. Port is the destination port (0 for ICMP).
	ID, Port uint16
	// Seq tells the probes of a flow apart: the Echo sequence number, the
	// UDP checksum, or the low 16 bits of the TCP sequence number.
	Seq uint16
	// MTU is the next-hop MTU a Packet Too Big (ICMPv6) or a
	// Fragmentation Needed (ICMPv4 Destination Unreachable, code 4;
	// RFC 1191) announces; 0 when none is given.
	MTU uint32
	// ext holds the router's ICMP extensions, when it sent any.
	ext *hopExt
}

// MarshalEcho writes an Echo Request with identifier id and sequence number
// seq into buf (which must hold EchoLen bytes) and returns buf[:EchoLen].
// The checksum is the same for every seq of an id (Paris traceroute). For
// ICMPv6 the kernel overwrites the checksum with one that includes the
// pseudo-header; it too stays constant per flow, because the pseudo-header
// and the ones' complement sum of the message do.
func MarshalEcho(v6 bool, id, seq uint16, buf []byte) []byte {
	b := buf[:EchoLen]
	b[0] = icmp4EchoRequest
	if v6 {
		b[0] = icmp6EchoRequest
	}
	b[1] = 0
	binary.BigEndian.PutUint16(b[2:], 0)
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	binary.BigEndian.PutUint16(b[8:], compensation(seq))
	copy(b[10:], payloadMarker[:])
	binary.BigEndian.PutUint16(b[2:], checksum(b))
	return b
}

// ParseReply decodes an ICMP message as the kernel delivers it on a raw
// ICMP socket (without the outer IP header). It accepts Echo Reply, and
// Time Exceeded, Destination Unreachable and (ICMPv6) Packet Too Big quoting an ICMP Echo Request,
// a UDP datagram or a TCP segment; an error quoting anything else is
// rejected with ErrNotOurProbe.
func ParseReply(v6 bool, b []byte) (Reply, error) {
	if len(b) < icmpHeaderLen {
		return Reply{}, ErrTruncated
	}
	typ, code := b[0], b[1]
	r := Reply{Code: code, Proto: protoICMP4}
	if v6 {
		r.Proto = protoICMP6
	}
	switch {
	case !v6 && typ == icmp4EchoReply, v6 && typ == icmp6EchoReply:
		r.Kind = KindReached
		r.ID = binary.BigEndian.Uint16(b[4:])
		r.Seq = binary.BigEndian.Uint16(b[6:])
		return r, nil
	case !v6 && typ == icmp4TimeExceeded, v6 && typ == icmp6TimeExceeded:
		r.Kind = KindTimeExceeded
	case !v6 && typ == icmp4DestUnreachable, v6 && typ == icmp6DestUnreachable:
		r.Kind = KindDestUnreachable
		if !v6 && code == codeFragNeeded {
			r.MTU = uint32(binary.BigEndian.Uint16(b[6:]))
		}
	case v6 && typ == icmp6PacketTooBig:
		r.Kind = KindTooBig
		r.MTU = binary.BigEndian.Uint32(b[4:])
	default:
		return Reply{}, ErrNotReply
	}
	dst, proto, inner, err := parseQuote(v6, b[icmpHeaderLen:])
	if err != nil {
		return Reply{}, err
	}
	r.Dst, r.Proto = dst, proto
	switch proto {
	case protoICMP4, protoICMP6:
		want := byte(icmp4EchoRequest)
		if v6 {
			want = icmp6EchoRequest
		}
		if (proto == protoICMP6) != v6 || inner[0] != want {
			return Reply{}, ErrNotOurProbe
		}
		r.ID = binary.BigEndian.Uint16(inner[4:])
		r.Seq = binary.BigEndian.Uint16(inner[6:])
	case protoUDP:
		r.ID, r.Port, r.Seq = binary.BigEndian.Uint16(inner[0:]), binary.BigEndian.Uint16(inner[2:]), binary.BigEndian.Uint16(inner[6:])
	case protoTCP:
		r.ID, r.Port, r.Seq = binary.BigEndian.Uint16(inner[0:]), binary.BigEndian.Uint16(inner[2:]), binary.BigEndian.Uint16(inner[6:])
	default:
		return Reply{}, ErrNotOurProbe
	}
	return r, nil
}

// parseQuote reads the IP header quoted in an ICMP error and returns the
// original destination, the protocol, and at least the first 8 bytes of
// the quoted transport header: all RFC 792 guarantees for IPv4; RFC 4443
// quotes as much as fits. A quoted IPv6 packet with extension headers is
// not one of ours (our probes carry none).
func parseQuote(v6 bool, q []byte) (netip.Addr, byte, []byte, error) {
	if v6 {
		if len(q) < ipv6Len+transportQuoteLen {
			return netip.Addr{}, 0, nil, ErrTruncated
		}
		if q[0]>>4 != 6 {
			return netip.Addr{}, 0, nil, ErrBadQuote
		}
		return netip.AddrFrom16([16]byte(q[24:40])), q[6], q[ipv6Len:], nil
	}
	if len(q) < ipv4Min+transportQuoteLen {
		return netip.Addr{}, 0, nil, ErrTruncated
	}
	ihl, err := ipv4HeaderLen(q)
	if err != nil {
		return netip.Addr{}, 0, nil, err
	}
	if len(q) < ihl+transportQuoteLen {
		return netip.Addr{}, 0, nil, ErrTruncated
	}
	return netip.AddrFrom4([4]byte(q[16:20])), q[9], q[ihl:], nil
}
