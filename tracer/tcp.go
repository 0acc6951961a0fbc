package tracer

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Sizes and constant fields of the TCP segments the tracer sends.
const (
	tcpHeaderLen = 20
	// TCPSynLen is the length of every TCP probe: a 20-byte header and a
	// 4-byte MSS option.
	TCPSynLen = tcpHeaderLen + 4
	// TCPRstLen is the length of the RST that answers a SYN-ACK.
	TCPRstLen = tcpHeaderLen

	tcpFlagSYN = 0x02
	tcpFlagRST = 0x04
	tcpFlagACK = 0x10

	// tcpWindow is the receive window of every SYN (Linux's initial one).
	tcpWindow  = 64240
	tcpOptMSS  = 2
	tcpMSS4    = 1460 // an Ethernet MTU less 40 bytes of headers
	tcpMSS6    = 1440 // the same less IPv6's 20 more
	tcpOptsLen = TCPSynLen - tcpHeaderLen
)

// Errors returned by ParseTCPReply.
var (
	ErrChecksum = errors.New("bad transport checksum")
	ErrBadTCP   = errors.New("malformed TCP header")
)

// MarshalTCPSyn writes a TCP SYN from src:srcPort to dst:dstPort with
// sequence number seq into buf (which must hold TCPSynLen bytes) and returns
// buf[:TCPSynLen]: the TCP header and a constant MSS option, with its
// checksum; the kernel adds the IP header.
//
// Paris traceroute: addresses and ports, and so the flow, are the same for
// every probe of a target; the probe's identity is the sequence number,
// bytes 4 to 7 of the header, inside the 8 bytes RFC 792 guarantees an
// ICMPv4 error quotes. The destination's SYN-ACK or RST acknowledges seq+1.
// The window and options are constant, so the probes differ only in seq
// and checksum.
//
// src must be the source address the kernel will put in the IP header, or
// the destination discards the SYN for a bad checksum and never answers. src
// and dst must be addresses of the family v6 selects.
func MarshalTCPSyn(v6 bool, src, dst netip.Addr, srcPort, dstPort uint16, seq uint32, buf []byte) []byte {
	b := buf[:TCPSynLen]
	putTCPHeader(b, srcPort, dstPort, seq, tcpFlagSYN, tcpWindow)
	mss := uint16(tcpMSS4)
	if v6 {
		mss = tcpMSS6
	}
	b[tcpHeaderLen] = tcpOptMSS
	b[tcpHeaderLen+1] = tcpOptsLen
	binary.BigEndian.PutUint16(b[tcpHeaderLen+2:], mss)
	putTCPChecksum(v6, src, dst, b)
	return b
}

// MarshalTCPRst writes the RST that answers a SYN-ACK, so that no handshake
// is ever completed, into buf (which must hold TCPRstLen bytes) and returns
// buf[:TCPRstLen]. src:srcPort is the tracer's end, dst:dstPort the
// destination's, and seq the SYN-ACK's acknowledgment number: RFC 793 resets
// a connection in SYN-RECEIVED with a RST, without ACK, whose sequence
// number is the acknowledgment it received.
func MarshalTCPRst(v6 bool, src, dst netip.Addr, srcPort, dstPort uint16, seq uint32, buf []byte) []byte {
	b := buf[:TCPRstLen]
	putTCPHeader(b, srcPort, dstPort, seq, tcpFlagRST, 0)
	putTCPChecksum(v6, src, dst, b)
	return b
}

// putTCPHeader fills the fixed header of b, whose length sets the data
// offset, with a zero acknowledgment number, urgent pointer and checksum.
func putTCPHeader(b []byte, srcPort, dstPort uint16, seq uint32, flags byte, window uint16) {
	binary.BigEndian.PutUint16(b[0:], srcPort)
	binary.BigEndian.PutUint16(b[2:], dstPort)
	binary.BigEndian.PutUint32(b[4:], seq)
	binary.BigEndian.PutUint32(b[8:], 0)
	b[12] = byte(len(b)/4) << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], window)
	binary.BigEndian.PutUint16(b[16:], 0)
	binary.BigEndian.PutUint16(b[18:], 0)
}

// putTCPChecksum sets the checksum of segment b, whose checksum field is 0.
func putTCPChecksum(v6 bool, src, dst netip.Addr, b []byte) {
	sum := sumWords(pseudoHeaderSum(v6, src, dst, protoTCP, len(b)), b)
	binary.BigEndian.PutUint16(b[16:], ^foldSum(sum))
}

// ParseTCPQuote reads the datagram quoted in an ICMP error (the message
// after its 8-byte ICMP header): the destination from the quoted IP header
// and the ports and sequence number from the first 8 bytes of the quoted
// TCP header. The sequence number is the probe's identity (see
// MarshalTCPSyn).
func ParseTCPQuote(v6 bool, quote []byte) (dst netip.Addr, srcPort, dstPort uint16, seq uint32, err error) {
	dst, h, err := parseTransportQuote(v6, quote, protoTCP)
	if err != nil {
		return netip.Addr{}, 0, 0, 0, err
	}
	return dst, binary.BigEndian.Uint16(h[0:]), binary.BigEndian.Uint16(h[2:]), binary.BigEndian.Uint32(h[4:]), nil
}

// TCPReply is a decoded TCP segment that may come from a probe's
// destination.
type TCPReply struct {
	// SrcPort is the destination's port, DstPort the tracer's.
	SrcPort, DstPort uint16
	// Ack is the acknowledgment number; it is only meaningful when ACK
	// is set.
	Ack           uint32
	SYN, ACK, RST bool
}

// ProbeSeq returns the sequence number of the SYN that r answers: Ack-1 for
// a SYN-ACK or for a RST with ACK (the answer of a closed port, RFC 793).
// It returns false for any other segment.
func (r TCPReply) ProbeSeq() (uint32, bool) {
	if !r.ACK || r.SYN == r.RST {
		return 0, false
	}
	return r.Ack - 1, true
}

// ParseTCPReply decodes the TCP segment seg (without its IP header) that src
// sent to dst and validates its checksum.
//
// When the checksum is wrong it returns the decoded reply together with
// ErrChecksum: a segment the kernel delivers over loopback or a veth pair
// with checksum offload carries only a partial checksum, and a caller that
// trusts such a path may still use it.
func ParseTCPReply(v6 bool, seg []byte, src, dst netip.Addr) (TCPReply, error) {
	if len(seg) < tcpHeaderLen {
		return TCPReply{}, ErrTruncated
	}
	if off := int(seg[12]>>4) * 4; off < tcpHeaderLen || off > len(seg) {
		return TCPReply{}, ErrBadTCP
	}
	flags := seg[13]
	r := TCPReply{
		SrcPort: binary.BigEndian.Uint16(seg[0:]),
		DstPort: binary.BigEndian.Uint16(seg[2:]),
		Ack:     binary.BigEndian.Uint32(seg[8:]),
		SYN:     flags&tcpFlagSYN != 0,
		ACK:     flags&tcpFlagACK != 0,
		RST:     flags&tcpFlagRST != 0,
	}
	if foldSum(sumWords(pseudoHeaderSum(v6, src, dst, protoTCP, len(seg)), seg)) != 0xffff {
		return r, ErrChecksum
	}
	return r, nil
}

// parseTCPAnswer decodes a segment read from the raw TCP socket as the
// destination's answer to a SYN: a SYN-ACK or a RST with ACK, whose
// acknowledgement number is the probe's sequence number plus one. Anything
// else on the socket (the host's own traffic) is not a reply. The
// checksum is not required to hold: a segment crossing a local veth may
// carry a partial checksum, and matching relies on the flow's identity.
func parseTCPAnswer(v6 bool, seg []byte, from netip.Addr) (Reply, error) {
	if !from.IsValid() || from.Is6() != v6 {
		return Reply{}, ErrNotReply
	}
	local := netip.IPv4Unspecified() // the checksum is not required to hold
	if v6 {
		local = netip.IPv6Unspecified()
	}
	tr, err := ParseTCPReply(v6, seg, from, local)
	if err != nil && !errors.Is(err, ErrChecksum) {
		return Reply{}, err
	}
	seq, ok := tr.ProbeSeq()
	if !ok {
		return Reply{}, ErrNotReply
	}
	return Reply{Kind: KindReached, Proto: protoTCP, ID: tr.DstPort, Port: tr.SrcPort, Seq: uint16(seq)}, nil
}
