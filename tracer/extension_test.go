package tracer_test

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// wireExtMessage builds, byte by byte, an ICMP error of type typ quoting a
// UDP probe and carrying an RFC 4884 extension structure made of objs. The
// original datagram is zero-padded to 128 bytes; compliant sets the length
// attribute, otherwise it stays zero as routers that predate RFC 4884 send it.
func wireExtMessage(v6 bool, typ byte, compliant bool, objs ...[]byte) []byte {
	src, dst := wireAddrs(v6)
	probe := tracer.MarshalUDPProbe(v6, src, dst, 40001, 33434, 7, make([]byte, tracer.UDPProbeLen))
	orig := make([]byte, 128)
	copy(orig, wireQuote(v6, 17, probe, -1))
	msg := make([]byte, 8, 8+len(orig))
	msg[0] = typ
	if compliant && v6 {
		msg[4] = byte(len(orig) / 8)
	} else if compliant {
		msg[5] = byte(len(orig) / 4)
	}
	msg = append(msg, orig...)
	ext := []byte{0x20, 0, 0, 0}
	for _, o := range objs {
		ext = append(ext, o...)
	}
	binary.BigEndian.PutUint16(ext[2:], wireChecksum(ext))
	return append(msg, ext...)
}

// wireMPLS encodes an RFC 4950 incoming MPLS label stack object.
func wireMPLS(labels ...tracer.MPLSLabel) []byte {
	o := []byte{0, byte(4 + 4*len(labels)), 1, 1}
	for _, l := range labels {
		w := l.Label<<12 | uint32(l.TC)<<9 | uint32(l.TTL)
		if l.S {
			w |= 1 << 8
		}
		o = binary.BigEndian.AppendUint32(o, w)
	}
	return o
}

// wireIfInfo encodes an RFC 5837 interface information object with the
// sub-objects whose values are set.
func wireIfInfo(ifc tracer.Interface) []byte {
	ctype := byte(ifc.Role) << 6
	var body []byte
	if ifc.IfIndex != 0 {
		ctype |= 0x08
		body = binary.BigEndian.AppendUint32(body, ifc.IfIndex)
	}
	if ifc.Addr.IsValid() {
		ctype |= 0x04
		afi := byte(1)
		if ifc.Addr.Is6() {
			afi = 2
		}
		body = append(append(body, 0, afi, 0, 0), ifc.Addr.AsSlice()...)
	}
	if ifc.Name != "" {
		ctype |= 0x02
		sub := make([]byte, (1+len(ifc.Name)+3)&^3)
		sub[0] = byte(len(sub))
		copy(sub[1:], ifc.Name)
		body = append(body, sub...)
	}
	if ifc.MTU != 0 {
		ctype |= 0x01
		body = binary.BigEndian.AppendUint32(body, uint32(ifc.MTU))
	}
	return append([]byte{0, byte(4 + len(body)), 2, ctype}, body...)
}

// reseal recomputes the checksum of the extension structure at off.
func reseal(msg []byte, off int) []byte {
	msg[off+2], msg[off+3] = 0, 0
	binary.BigEndian.PutUint16(msg[off+2:], wireChecksum(msg[off:]))
	return msg
}

var (
	top    = tracer.MPLSLabel{Label: 24001, TTL: 254}
	bottom = tracer.MPLSLabel{Label: 1048575, TC: 5, S: true, TTL: 1}
	eth0   = tracer.Interface{Role: tracer.RoleIncoming, IfIndex: 3, Addr: netip.MustParseAddr("192.0.2.1"), Name: "ge-0/0/1.0", MTU: 1500}
	out6   = tracer.Interface{Role: tracer.RoleOutgoing, Addr: netip.MustParseAddr("2001:db8::1")}
)

// extSample is an ICMP message and the extensions it must decode to.
type extSample struct {
	name  string
	v6    bool
	msg   []byte
	mpls  string
	iface string
	ifs   []tracer.Interface
	err   error
}

// extensionSamples are the extension test cases; they also seed
// FuzzParseExtensions.
func extensionSamples() []extSample {
	const ext = 8 + 128 // offset of the extension structure
	mpls := wireMPLS(top, bottom)
	pastEnd := wireExtMessage(false, 11, true, mpls)
	pastEnd[5] = 255
	noHeader := wireExtMessage(false, 11, true, mpls)[:ext]
	noHeader[5] = 255
	short := wireExtMessage(false, 11, true, mpls)
	short[5] = 16
	badSum := wireExtMessage(false, 11, true, mpls)
	badSum[ext+3] ^= 0xff
	legacyBadSum := wireExtMessage(true, 3, false, mpls)
	legacyBadSum[ext+3] ^= 0xff
	zeroSum := wireExtMessage(false, 11, true, mpls)
	zeroSum[ext+2], zeroSum[ext+3] = 0, 0
	version1 := wireExtMessage(false, 11, true, mpls)
	version1[ext] = 0x10
	truncated := wireExtMessage(false, 11, true, mpls, wireIfInfo(eth0))
	truncated = reseal(truncated[:len(truncated)-6], ext)
	badName := wireExtMessage(false, 3, true, mpls, wireIfInfo(eth0))
	badName[ext+4+len(mpls)+4+4+8] = 200 // the name sub-object's length
	badName = reseal(badName, ext)
	noName := wireIfInfo(tracer.Interface{IfIndex: 9})
	noName[3] |= 0x02 // announces a name it does not carry
	half := append(wireMPLS(top), 0, 0)
	half[1] = 10
	src, dst := wireAddrs(false)
	plain := append([]byte{11, 0, 0, 0, 0, 0, 0, 0},
		wireQuote(false, 17, tracer.MarshalUDPProbe(false, src, dst, 1, 2, 3, make([]byte, tracer.UDPProbeLen)), -1)...)
	long := wireExtMessage(false, 11, true, mpls)
	long[5] = 0
	long[ext] = 0 // a long quote without extensions
	return []extSample{
		{name: "v4 compliant MPLS", msg: wireExtMessage(false, 11, true, mpls), mpls: "24001/0/0/254,1048575/5/1/1"},
		{name: "v4 legacy MPLS", msg: wireExtMessage(false, 11, false, mpls), mpls: "24001/0/0/254,1048575/5/1/1"},
		{name: "v6 compliant MPLS", v6: true, msg: wireExtMessage(true, 3, true, mpls), mpls: "24001/0/0/254,1048575/5/1/1"},
		{name: "v6 legacy MPLS", v6: true, msg: wireExtMessage(true, 1, false, mpls), mpls: "24001/0/0/254,1048575/5/1/1"},
		{name: "v4 unreachable interface", msg: wireExtMessage(false, 3, true, wireIfInfo(eth0)), iface: "ge-0/0/1.0", ifs: []tracer.Interface{eth0}},
		{name: "v6 outgoing then incoming", v6: true, msg: wireExtMessage(true, 3, true, wireIfInfo(out6), wireIfInfo(eth0), mpls),
			mpls: "24001/0/0/254,1048575/5/1/1", iface: "ge-0/0/1.0", ifs: []tracer.Interface{out6, eth0}},
		{name: "v6 address only", v6: true, msg: wireExtMessage(true, 3, true, wireIfInfo(out6)), iface: "2001:db8::1", ifs: []tracer.Interface{out6}},
		{name: "ifindex only", msg: wireExtMessage(false, 11, false, wireIfInfo(tracer.Interface{IfIndex: 7})), iface: "ifindex 7", ifs: []tracer.Interface{{IfIndex: 7}}},
		{name: "unknown class skipped", msg: wireExtMessage(false, 11, true, []byte{0, 8, 9, 1, 1, 2, 3, 4}, mpls), mpls: "24001/0/0/254,1048575/5/1/1"},
		{name: "zero checksum accepted", msg: zeroSum, mpls: "24001/0/0/254,1048575/5/1/1"},
		{name: "no extension", msg: plain},
		{name: "compliant length, no extension", msg: wireExtMessage(false, 11, true)[:ext]},
		{name: "long quote, no extension", msg: long},
		{name: "echo reply ignored", msg: append([]byte{0, 0, 0, 0}, wireExtMessage(false, 11, true, mpls)[4:]...)},
		{name: "bad checksum", msg: badSum, err: tracer.ErrExtChecksum},
		{name: "legacy bad checksum is datagram", v6: true, msg: legacyBadSum},
		{name: "version 1", msg: version1, err: tracer.ErrExtVersion},
		{name: "length past the end, 128 form recovered", msg: pastEnd, mpls: "24001/0/0/254,1048575/5/1/1", err: tracer.ErrExtLength},
		{name: "length past the end", msg: noHeader, err: tracer.ErrExtLength},
		{name: "length under 128", msg: short, mpls: "24001/0/0/254,1048575/5/1/1", err: tracer.ErrExtLength},
		{name: "truncated object", msg: truncated, mpls: "24001/0/0/254,1048575/5/1/1", err: tracer.ErrExtObject},
		{name: "name past its object", msg: badName, mpls: "24001/0/0/254,1048575/5/1/1", err: tracer.ErrExtObject},
		{name: "announced name missing", msg: wireExtMessage(false, 11, true, noName, mpls), mpls: "24001/0/0/254,1048575/5/1/1",
			iface: "ifindex 9", ifs: []tracer.Interface{{IfIndex: 9}}, err: tracer.ErrExtObject},
		{name: "partial label", msg: wireExtMessage(false, 11, true, half), mpls: "24001/0/0/254", err: tracer.ErrExtObject},
	}
}

func TestParseExtensions(t *testing.T) {
	for _, tc := range extensionSamples() {
		t.Run(tc.name, func(t *testing.T) {
			e := tracer.ParseExtensions(tc.v6, tc.msg)
			if !errors.Is(e.Err, tc.err) || e.Malformed() != (tc.err != nil) {
				t.Errorf("Err %v (malformed %v), want %v", e.Err, e.Malformed(), tc.err)
			}
			if got := e.MPLSString(); got != tc.mpls {
				t.Errorf("MPLSString %q, want %q", got, tc.mpls)
			}
			if got := e.InterfaceString(); got != tc.iface {
				t.Errorf("InterfaceString %q, want %q", got, tc.iface)
			}
			if !reflect.DeepEqual(e.Interfaces, tc.ifs) {
				t.Errorf("Interfaces %+v, want %+v", e.Interfaces, tc.ifs)
			}
		})
	}
}

func TestInterfaceRoleString(t *testing.T) {
	for r, want := range []string{"incoming", "sub-ip", "outgoing", "next-hop"} {
		if got := tracer.InterfaceRole(r).String(); got != want {
			t.Errorf("role %d: %q, want %q", r, got, want)
		}
	}
	if e := tracer.ParseExtensions(false, []byte{11, 0, 0}); e.Err != nil || e.MPLS != nil || e.Interfaces != nil {
		t.Errorf("3-byte message: %+v, want nothing", e)
	}
}

// TestParseExtensionsXNet decodes messages encoded by x/net/icmp, an encoder
// written apart from the test's byte builders.
func TestParseExtensionsXNet(t *testing.T) {
	stack := &icmp.MPLSLabelStack{Class: 1, Type: 1, Labels: []icmp.MPLSLabel{{Label: 16004, TC: 1, TTL: 63}, {Label: 299792, S: true, TTL: 63}}}
	for _, tc := range []struct {
		typ  icmp.Type
		addr net.IP
	}{
		{ipv4.ICMPTypeTimeExceeded, net.ParseIP("192.0.2.9").To4()},
		{ipv4.ICMPTypeDestinationUnreachable, net.ParseIP("192.0.2.9").To4()},
		{ipv6.ICMPTypeTimeExceeded, net.ParseIP("2001:db8::9")},
		{ipv6.ICMPTypeDestinationUnreachable, net.ParseIP("2001:db8::9")},
	} {
		v6 := tc.typ.Protocol() == 58
		ii := &icmp.InterfaceInfo{Class: 2, Type: 0x0f, Interface: &net.Interface{Index: 12, Name: "xe-1/2/0", MTU: 9000}, Addr: &net.IPAddr{IP: tc.addr}}
		src, dst := wireAddrs(v6)
		quote := wireQuote(v6, 17, tracer.MarshalUDPProbe(v6, src, dst, 1, 2, 3, make([]byte, tracer.UDPProbeLen)), -1)
		exts := []icmp.Extension{stack, ii}
		var body icmp.MessageBody = &icmp.TimeExceeded{Data: quote, Extensions: exts}
		if tc.typ == ipv4.ICMPTypeDestinationUnreachable || tc.typ == ipv6.ICMPTypeDestinationUnreachable {
			body = &icmp.DstUnreach{Data: quote, Extensions: exts}
		}
		msg, err := (&icmp.Message{Type: tc.typ, Body: body}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		e := tracer.ParseExtensions(v6, msg)
		want := []tracer.Interface{{IfIndex: 12, Addr: netip.MustParseAddr(tc.addr.String()), Name: "xe-1/2/0", MTU: 9000}}
		if e.Err != nil || e.MPLSString() != "16004/1/0/63,299792/0/1/63" || !reflect.DeepEqual(e.Interfaces, want) {
			t.Errorf("%v: got %+v (mpls %q), want the stack and %+v", tc.typ, e, e.MPLSString(), want)
		}
	}
}

// FuzzParseExtensions feeds arbitrary messages to the extension decoder: it
// must never panic or modify its input, report only its own errors, and
// decode only labels that fit their fields. Each input is also decoded with
// the checksum of a structure at offset 128 zeroed ("none sent"), so that the
// fuzzer reaches the objects without having to find valid checksums.
func FuzzParseExtensions(f *testing.F) {
	f.Fuzz(func(t *testing.T, v6 bool, msg []byte) {
		checkExtensions(t, v6, msg)
		if len(msg) >= 8+128+4 {
			msg = append([]byte(nil), msg...)
			msg[8+128+2], msg[8+128+3] = 0, 0
			checkExtensions(t, v6, msg)
		}
	})
}

// checkExtensions checks what ParseExtensions returns for a fuzz input.
func checkExtensions(t *testing.T, v6 bool, msg []byte) {
	t.Helper()
	in := append([]byte(nil), msg...)
	e := tracer.ParseExtensions(v6, msg)
	if string(in) != string(msg) {
		t.Fatal("ParseExtensions modified its input")
	}
	switch {
	case e.Err == nil, errors.Is(e.Err, tracer.ErrExtLength), errors.Is(e.Err, tracer.ErrExtVersion),
		errors.Is(e.Err, tracer.ErrExtChecksum), errors.Is(e.Err, tracer.ErrExtObject):
	default:
		t.Errorf("unexpected error %v", e.Err)
	}
	for _, l := range e.MPLS {
		if l.Label >= 1<<20 || l.TC >= 8 {
			t.Errorf("label %+v does not fit its fields", l)
		}
	}
	for _, i := range e.Interfaces {
		if i.Addr.Is4In6() {
			t.Errorf("interface address %v is not unmapped", i.Addr)
		}
	}
	_, _ = e.MPLSString(), e.InterfaceString()
}
