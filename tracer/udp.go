package tracer

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// IP protocol numbers of the transport probes.
const (
	protoTCP = 6
	protoUDP = 17
)

// Sizes of a UDP probe.
const (
	udpHeaderLen = 8
	// UDPProbeLen is the length of every UDP probe: the 8-byte header and
	// an 8-byte payload (a 2-byte checksum compensation word and a 6-byte
	// marker).
	UDPProbeLen = udpHeaderLen + 8
	// transportQuoteLen is what RFC 792 guarantees of the quoted transport
	// header: its first 8 bytes. Everything that identifies a probe lives
	// there.
	transportQuoteLen = 8
)

// ErrQuotedProtocol is returned when an ICMP error quotes a datagram of
// another transport protocol than the one asked for.
var ErrQuotedProtocol = errors.New("quoted datagram is of another protocol")

// MarshalUDPProbe writes a UDP probe from src:srcPort to dst:dstPort into
// buf (which must hold UDPProbeLen bytes) and returns buf[:UDPProbeLen]. It
// returns the UDP header and payload; the kernel adds the IP header.
//
// Paris traceroute: addresses, ports and length are the same for every probe
// of a flow, so a load balancer hashing the 5-tuple keeps them on one path.
// The probe's identity is the UDP checksum field itself, which equals seq:
// the payload's first word is chosen so that the checksum, computed over the
// pseudo-header, comes out as seq (the arithmetic of RFC 1624). The checksum
// is in the first 8 bytes of the UDP header, all that RFC 792 guarantees an
// ICMPv4 error quotes.
//
// The same scheme serves IPv6, rather than Dublin traceroute's varying
// payload length: the probe and its IPv6 Payload Length stay constant, the
// identity space is 65535 values instead of the few hundred lengths an MTU
// leaves, and one decoder serves both families.
//
// seq must not be 0: a UDP checksum of 0 means "none" in IPv4 and is
// forbidden in IPv6, so seq 0 is sent as 0xffff, the same checksum as seq
// 0xffff. src must be the source address the kernel will put in the IP
// header, or the destination discards the probe for a bad checksum and
// never answers. src and dst must be addresses of the family v6 selects.
func MarshalUDPProbe(v6 bool, src, dst netip.Addr, srcPort, dstPort, seq uint16, buf []byte) []byte {
	b := buf[:UDPProbeLen]
	binary.BigEndian.PutUint16(b[0:], srcPort)
	binary.BigEndian.PutUint16(b[2:], dstPort)
	binary.BigEndian.PutUint16(b[4:], UDPProbeLen)
	binary.BigEndian.PutUint16(b[6:], 0)
	binary.BigEndian.PutUint16(b[8:], 0)
	copy(b[10:], payloadMarker[:])
	pseudo := pseudoHeaderSum(v6, src, dst, protoUDP, UDPProbeLen)
	rest := foldSum(sumWords(pseudo, b))
	// The sum over everything must become ^seq, so that the checksum, its
	// complement, is seq: add ^seq and take the rest away (a - b = a + ^b
	// in ones' complement arithmetic).
	binary.BigEndian.PutUint16(b[8:], foldSum(uint32(^seq)+uint32(^rest)))
	csum := ^foldSum(sumWords(pseudo, b))
	if csum == 0 {
		csum = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(b[6:], csum)
	return b
}

// ParseUDPQuote reads the datagram quoted in an ICMP error (the message
// after its 8-byte ICMP header): the destination from the quoted IP header
// and the ports and checksum from the first 8 bytes of the quoted UDP
// header. The checksum is the probe's sequence number (see MarshalUDPProbe).
func ParseUDPQuote(v6 bool, quote []byte) (dst netip.Addr, srcPort, dstPort, checksum uint16, err error) {
	dst, h, err := parseTransportQuote(v6, quote, protoUDP)
	if err != nil {
		return netip.Addr{}, 0, 0, 0, err
	}
	return dst, binary.BigEndian.Uint16(h[0:]), binary.BigEndian.Uint16(h[2:]), binary.BigEndian.Uint16(h[6:]), nil
}

// parseTransportQuote validates the IP header quoted in an ICMP error, checks
// that it carries proto, and returns the original destination and at least
// the first 8 bytes of the quoted transport header.
func parseTransportQuote(v6 bool, q []byte, proto byte) (netip.Addr, []byte, error) {
	dst, p, h, err := parseQuote(v6, q)
	if err != nil {
		return netip.Addr{}, nil, err
	}
	if p != proto {
		return netip.Addr{}, nil, ErrQuotedProtocol
	}
	return dst, h, nil
}

// pseudoHeaderSum returns the ones' complement sum, unfolded, of the
// pseudo-header that UDP and TCP checksums cover: RFC 768 for IPv4,
// RFC 8200 section 8.1 for IPv6.
func pseudoHeaderSum(v6 bool, src, dst netip.Addr, proto byte, length int) uint32 {
	var sum uint32
	if v6 {
		s, d := src.As16(), dst.As16()
		sum = sumWords(sumWords(0, s[:]), d[:])
	} else {
		s, d := src.As4(), dst.As4()
		sum = sumWords(sumWords(0, s[:]), d[:])
	}
	return sum + uint32(proto) + uint32(length>>16) + uint32(length&0xffff)
}

// sumWords adds the 16-bit big-endian words of b to sum, an odd last byte
// padded with zero (RFC 1071). The caller folds the result; sums of up to
// 64 KiB cannot overflow.
func sumWords(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

// foldSum folds the carries of a ones' complement sum into 16 bits.
func foldSum(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
