package tracer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"golang.org/x/net/icmp"
)

// Errors recorded in Extensions.Err. A malformed extension never makes a
// reply unusable: the reply still matches its probe, and the error is only
// counted.
var (
	ErrExtLength   = errors.New("ICMP extension: length attribute does not fit the message")
	ErrExtVersion  = errors.New("ICMP extension: header version is not 2")
	ErrExtChecksum = errors.New("ICMP extension: bad checksum")
	ErrExtObject   = errors.New("ICMP extension: truncated or malformed object")
)

// Layout of the ICMP Extension Structure (RFC 4884, RFC 4950, RFC 5837).
const (
	extVersion   = 2
	extHeaderLen = 4
	// extOrigLen is the shortest original datagram RFC 4884 allows before
	// extensions, and where routers that predate it put them.
	extOrigLen        = 128
	extClassMPLS      = 1
	extCTypeMPLS      = 1 // incoming MPLS label stack
	extClassInterface = 2
	ifAttrIPAddr      = 0x04 // RFC 5837 C-Type bit: an IP address sub-object
	ifAttrName        = 0x02 // RFC 5837 C-Type bit: a name sub-object
)

// MPLSLabel is one entry of an MPLS label stack (RFC 4950, RFC 3032).
type MPLSLabel struct {
	Label uint32 // the 20-bit label value
	TC    uint8  // the 3-bit traffic class (formerly EXP)
	S     bool   // bottom of stack
	TTL   uint8
}

// InterfaceRole says which interface an RFC 5837 object describes.
type InterfaceRole uint8

// Interface roles, from the two high bits of the object's C-Type.
const (
	RoleIncoming InterfaceRole = iota // the interface the probe arrived on
	RoleSubIP                         // a sub-IP component of the incoming interface
	RoleOutgoing                      // the interface the probe would have left by
	RoleNextHop                       // the next hop the probe would have been sent to
)

// String returns the role's name as used in logs.
func (r InterfaceRole) String() string {
	return [...]string{"incoming", "sub-ip", "outgoing", "next-hop"}[r&3]
}

// Interface is an RFC 5837 Interface Information object. Fields the router
// did not send are zero.
type Interface struct {
	Role    InterfaceRole
	IfIndex uint32
	Addr    netip.Addr
	Name    string
	MTU     int
}

// Extensions are the ICMP extensions a router appended to a Time Exceeded or
// Destination Unreachable message.
type Extensions struct {
	// MPLS is the label stack the probe carried, top of stack first.
	MPLS []MPLSLabel
	// Interfaces are the interface information objects, in message order.
	Interfaces []Interface
	// Err is nil when the message carried no extension structure or one
	// that decoded cleanly. Otherwise it is one of the ErrExt* errors, and
	// MPLS and Interfaces hold what could be decoded.
	Err error
}

// Malformed reports whether the message carried an extension structure that
// could not be decoded in full.
func (e Extensions) Malformed() bool { return e.Err != nil }

// ParseExtensions decodes the ICMP Extension Structure (RFC 4884) of a Time
// Exceeded or Destination Unreachable message as a raw socket delivers it
// (without the outer IP header); for any other message it returns nothing.
//
// The structure is found through the length attribute (byte 5 of an ICMPv4
// message, in 32-bit words; byte 4 of an ICMPv6 message, in 64-bit words).
// When that attribute is zero, it is looked for 128 bytes after the ICMP
// header, where routers that predate RFC 4884 put it: there, as RFC 4884
// prescribes, only a header with version 2 and a valid checksum counts as an
// extension, anything else is more of the original datagram. A length under
// 128 or past the end, or one that points at no valid header, is an error,
// but the 128-byte form is still tried. A structure whose checksum is wrong
// is ignored, as RFC 4884 allows; a checksum field of zero means none was
// sent. MPLS label stacks (RFC 4950) and interface information (RFC 5837)
// are decoded; other objects are skipped.
//
// ParseExtensions never fails: a malformed structure or object is reported
// in Err next to whatever could be decoded.
func ParseExtensions(v6 bool, msg []byte) Extensions {
	var e Extensions
	if len(msg) < icmpHeaderLen {
		return e
	}
	switch t := msg[0]; {
	case v6 && t != icmp6TimeExceeded && t != icmp6DestUnreachable,
		!v6 && t != icmp4TimeExceeded && t != icmp4DestUnreachable:
		return e
	}
	off, err := locateExtensions(v6, msg)
	e.Err = err
	if off >= 0 {
		e.decodeObjects(msg[off+extHeaderLen:])
	}
	return e
}

// fail records err unless an earlier error is recorded.
func (e *Extensions) fail(err error) {
	if e.Err == nil {
		e.Err = err
	}
}

// locateExtensions returns the offset in msg of a valid extension header, or
// -1, and the error that describes a malformed length attribute or header.
// When either is unusable the 128-byte form is tried, as x/net/icmp does;
// extensions found there come with the error, which still marks the message.
func locateExtensions(v6 bool, msg []byte) (int, error) {
	l := int(msg[5]) * 4
	if v6 {
		l = int(msg[4]) * 8
	}
	body := len(msg) - icmpHeaderLen
	var err error
	switch {
	case l == 0:
	case l == body:
		return -1, nil // a compliant message with no extensions
	case l < extOrigLen || l+extHeaderLen > body:
		err = ErrExtLength
	default:
		off := icmpHeaderLen + l
		if err = checkExtHeader(msg[off:]); err == nil {
			return off, nil
		}
	}
	off := icmpHeaderLen + extOrigLen
	if len(msg) < off+extHeaderLen || checkExtHeader(msg[off:]) != nil {
		return -1, err
	}
	return off, err
}

// checkExtHeader validates the version and checksum of the extension
// structure b (its header to the end of the message).
func checkExtHeader(b []byte) error {
	if b[0]>>4 != extVersion {
		return ErrExtVersion
	}
	if binary.BigEndian.Uint16(b[2:]) != 0 && checksum(b) != 0 {
		return ErrExtChecksum
	}
	return nil
}

// decodeObjects decodes the objects that follow the extension header. A
// malformed object is skipped; a length that breaks the framing ends the
// walk.
func (e *Extensions) decodeObjects(b []byte) {
	for len(b) > 0 {
		n := 0
		if len(b) >= 4 {
			n = int(binary.BigEndian.Uint16(b))
		}
		if n < 4 || n > len(b) {
			e.fail(ErrExtObject)
			return
		}
		obj := b[:n]
		b = b[n:]
		switch {
		case obj[2] == extClassMPLS && obj[3] == extCTypeMPLS:
			e.addMPLS(obj)
		case obj[2] == extClassInterface:
			e.addInterface(obj)
		}
	}
}

// addMPLS appends the label stack of an RFC 4950 object.
func (e *Extensions) addMPLS(obj []byte) {
	ls, ok := decodeObject(obj).(*icmp.MPLSLabelStack)
	if !ok {
		e.fail(ErrExtObject)
		return
	}
	for _, l := range ls.Labels {
		e.MPLS = append(e.MPLS, MPLSLabel{Label: uint32(l.Label), TC: uint8(l.TC), S: l.S, TTL: uint8(l.TTL)})
	}
	if len(ls.Labels) == 0 || (len(obj)-4)%4 != 0 {
		e.fail(ErrExtObject)
	}
}

// addInterface appends an RFC 5837 interface information object. x/net
// stops quietly when the object ends before a sub-object its C-Type
// announces; a missing address or name is caught here.
func (e *Extensions) addInterface(obj []byte) {
	ii, ok := decodeObject(obj).(*icmp.InterfaceInfo)
	if !ok {
		e.fail(ErrExtObject)
		return
	}
	ctype := obj[3]
	ifc := Interface{Role: InterfaceRole(ctype >> 6)}
	if ii.Interface != nil {
		ifc.IfIndex = uint32(ii.Interface.Index)
		ifc.Name = ii.Interface.Name
		ifc.MTU = ii.Interface.MTU
	}
	if ii.Addr != nil {
		if a, ok := netip.AddrFromSlice(ii.Addr.IP); ok {
			ifc.Addr = a.Unmap()
		}
	}
	e.Interfaces = append(e.Interfaces, ifc)
	if ctype&ifAttrIPAddr != 0 && !ifc.Addr.IsValid() || ctype&ifAttrName != 0 && ifc.Name == "" {
		e.fail(ErrExtObject)
	}
}

// decodeObject decodes one extension object with x/net/icmp, or returns nil.
// Its decoders are reachable only through icmp.ParseMessage, which drops
// every object of a message when one is malformed and says nothing of why.
// Handing it each object alone, behind a minimal RFC 4884 ICMPv4 Time
// Exceeded (a zero 128-byte original datagram and an extension header
// without checksum), keeps the good objects of a message with a bad one.
func decodeObject(obj []byte) icmp.Extension {
	const off = icmpHeaderLen + extOrigLen
	b := make([]byte, off+extHeaderLen+len(obj))
	b[0] = icmp4TimeExceeded
	b[5] = extOrigLen / 4
	b[off] = extVersion << 4
	copy(b[off+extHeaderLen:], obj)
	m, err := icmp.ParseMessage(protoICMP4, b)
	if err != nil {
		return nil
	}
	if te, ok := m.Body.(*icmp.TimeExceeded); ok && len(te.Extensions) == 1 {
		return te.Extensions[0]
	}
	return nil
}

// MPLSString formats the label stack as "label/tc/s/ttl" per entry, top of
// stack first, joined by ","; for example "24001/0/1/254". It is empty when
// there is no stack.
func (e Extensions) MPLSString() string {
	var b []byte
	for i, l := range e.MPLS {
		if i > 0 {
			b = append(b, ',')
		}
		s := 0
		if l.S {
			s = 1
		}
		b = fmt.Appendf(b, "%d/%d/%d/%d", l.Label, l.TC, s, l.TTL)
	}
	return string(b)
}

// InterfaceString names the interface the probe arrived on (the first
// incoming-role object, else the first object): its name, else its address,
// else "ifindex N". It is empty when there is none or it says nothing.
func (e Extensions) InterfaceString() string {
	var ifc Interface
	for i, x := range e.Interfaces {
		if i == 0 || x.Role == RoleIncoming && ifc.Role != RoleIncoming {
			ifc = x
		}
	}
	switch {
	case ifc.Name != "":
		return ifc.Name
	case ifc.Addr.IsValid():
		return ifc.Addr.String()
	case ifc.IfIndex != 0:
		return "ifindex " + strconv.FormatUint(uint64(ifc.IfIndex), 10)
	}
	return ""
}
