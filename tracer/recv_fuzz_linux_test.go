package tracer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Fuzz targets for the decoders of the receive path that sit in front of
// ParseReply: the IPv4 header a raw IPv4 socket delivers (ipv4.go), the
// receive ancillary data (cmsg_linux.go) and the extended error of an error
// queue entry (errqueue_linux.go). Seed corpora: testdata/fuzz/Fuzz*.

// FuzzStripIPv4Header feeds arbitrary datagrams, as a raw IPv4 socket
// delivers them, to the header decoder and then to the reply and extension
// decoders. The header must be accepted exactly when it is a valid IPv4
// header that fits (checked independently here), the message must be the
// bytes after it and the TTL its TTL field, errors must be the package's
// own, and no decoder may panic or modify the buffer.
func FuzzStripIPv4Header(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "replies", "v4_*.bin"))
	for _, name := range files {
		msg, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append(fuzzIPv4Header(5, 62, len(msg)), msg...))
	}
	f.Add(append(fuzzIPv4Header(15, 1, 8), 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add([]byte{0x46, 0, 0, 20})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		msg, ttl, err := stripIPv4Header(b)
		ihl := 0
		if len(b) > 0 {
			ihl = int(b[0]&0x0f) * 4
		}
		valid := len(b) >= ipv4Min && b[0]>>4 == 4 && ihl >= ipv4Min && ihl <= len(b)
		switch {
		case (err == nil) != valid:
			t.Fatalf("stripIPv4Header(%x): error %v, but the header is valid=%v", b, err, valid)
		case err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadQuote):
			t.Fatalf("stripIPv4Header(%x): unexpected error %v", b, err)
		case err != nil:
			return
		case ttl != int(b[8]) || len(msg) != len(b)-ihl || len(msg) > 0 && &msg[0] != &b[ihl]:
			t.Fatalf("stripIPv4Header(%x) = %x, TTL %d; want the %d bytes after the %d-byte header and TTL %d", b, msg, ttl, len(b)-ihl, ihl, b[8])
		}
		if r, err := ParseReply(false, msg); err == nil && r.Kind != KindReached && (!r.Dst.Is4() || r.Dst.Is4In6()) {
			t.Fatalf("ParseReply(%x): %v quoting %v on an IPv4 socket", msg, r.Kind, r.Dst)
		}
		ParseExtensions(false, msg)
		if !bytes.Equal(b, in) {
			t.Fatalf("decoding modified the datagram:\n%x\n%x", in, b)
		}
	})
}

// fuzzIPv4Header is an IPv4 header of ihl 32-bit words (options zero) with
// the given TTL, protocol ICMP, in front of a payload of n bytes.
func fuzzIPv4Header(ihl, ttl, n int) []byte {
	h := make([]byte, ihl*4)
	h[0] = 4<<4 | byte(ihl)
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)+n))
	h[8], h[9] = byte(ttl), protoICMP4
	copy(h[12:], []byte{198, 18, 1, 2, 198, 18, 1, 1})
	return h
}

// FuzzParseSockErr feeds arbitrary data of an IP_RECVERR control message
// to its decoder. It must accept exactly the data long enough for a
// sock_extended_err, read the ICMP origin, type, code and info from their
// offsets, return the offender unmapped, and what it read, encoded again
// as the kernel would, must decode to itself.
func FuzzParseSockErr(f *testing.F) {
	for _, e := range []sockErr{
		{Origin: unix.SO_EE_ORIGIN_ICMP, Type: 11, Offender: netip.MustParseAddr("198.18.1.2"), ExtOff: 108},
		{Origin: unix.SO_EE_ORIGIN_ICMP6, Type: 1, Code: 4, Offender: netip.MustParseAddr("2001:db8:1::2")},
		{Origin: unix.SO_EE_ORIGIN_ICMP, Type: 3, Code: 4, Info: 1400},
	} {
		f.Add(fuzzSockErr(e))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, ok := parseSockErr(b)
		if ok != (len(b) >= sockErrLen) {
			t.Fatalf("parseSockErr(%x): ok=%v for %d bytes", b, ok, len(b))
		}
		if !ok {
			return
		}
		if e.Origin != b[4] || e.Type != b[5] || e.Code != b[6] || e.Info != binary.NativeEndian.Uint32(b[8:]) {
			t.Fatalf("parseSockErr(%x) = %+v: origin, type, code or info not from their offsets", b, e)
		}
		if e.Offender.Is4In6() || e.Offender.Zone() != "" || e.ExtOff < 0 {
			t.Fatalf("parseSockErr(%x) = %+v: offender mapped or zoned, or negative extension offset", b, e)
		}
		if again, ok := parseSockErr(fuzzSockErr(e)); !ok || again != e {
			t.Fatalf("parseSockErr(%x) = %+v, which encoded again decodes to %+v, %v", b, e, again, ok)
		}
	})
}

// fuzzSockErr encodes e as the kernel does: struct sock_extended_err
// (errno, origin, type, code, pad, info, and ee_data as struct
// sock_ee_data_rfc4884) followed by the offender's sockaddr, if any.
func fuzzSockErr(e sockErr) []byte {
	b := make([]byte, sockErrLen)
	binary.NativeEndian.PutUint32(b, uint32(unix.EHOSTUNREACH))
	b[sockErrOrigin], b[sockErrType], b[sockErrCode] = e.Origin, e.Type, e.Code
	binary.NativeEndian.PutUint32(b[sockErrInfo:], e.Info)
	binary.NativeEndian.PutUint16(b[sockErrRFC4884:], uint16(e.ExtOff))
	switch {
	case e.Offender.Is4():
		sa := make([]byte, unix.SizeofSockaddrInet4)
		binary.NativeEndian.PutUint16(sa, unix.AF_INET)
		a := e.Offender.As4()
		copy(sa[sockaddr4AddrAt:], a[:])
		b = append(b, sa...)
	case e.Offender.Is6():
		sa := make([]byte, unix.SizeofSockaddrInet6)
		binary.NativeEndian.PutUint16(sa, unix.AF_INET6)
		a := e.Offender.As16()
		copy(sa[sockaddr6AddrAt:], a[:])
		b = append(b, sa...)
	}
	return b
}

// FuzzParseDgramControl feeds arbitrary receive ancillary data to the
// decoders of both socket kinds (parseDgramControl runs parseControl, the
// raw socket's, first). They must never panic, and what they read (receive
// time, drop counter, TTL, extended error), encoded again as control
// messages, must decode to the same.
func FuzzParseDgramControl(f *testing.F) {
	f.Add(fuzzControl(Packet{Time: time.Unix(1700000000, 123456789), Drops: 3, TTL: 62}, sockErr{}, false))
	f.Add(fuzzControl(Packet{Time: time.Unix(1700000000, 1), TTL: -1},
		sockErr{Origin: unix.SO_EE_ORIGIN_ICMP, Type: 11, Offender: netip.MustParseAddr("198.18.1.2"), ExtOff: 108}, true))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := Packet{TTL: -1}
		se, isErr := parseDgramControl(b, &p)
		var raw Packet
		parseControl(b, &raw)
		if !raw.Time.Equal(p.Time) || raw.Drops != p.Drops {
			t.Fatalf("parseControl and parseDgramControl read %x differently: %+v, %+v", b, raw, p)
		}
		if !isErr && se != (sockErr{}) {
			t.Fatalf("no extended error in %x, yet %+v", b, se)
		}
		out := fuzzControl(p, se, isErr)
		q := Packet{TTL: -1}
		se2, isErr2 := parseDgramControl(out, &q)
		if !q.Time.Equal(p.Time) || q.Drops != p.Drops || q.TTL != p.TTL || se2 != se || isErr2 != isErr {
			t.Fatalf("read %x as %+v %+v %v; encoded again %x reads as %+v %+v %v", b, p, se, isErr, out, q, se2, isErr2)
		}
	})
}

// fuzzControl encodes what parseDgramControl reads as the kernel's control
// messages: SCM_TIMESTAMPNS, SO_RXQ_OVFL, IP_TTL and IP_RECVERR.
func fuzzControl(p Packet, se sockErr, isErr bool) []byte {
	type msg struct {
		level, typ int
		data       []byte
	}
	var msgs []msg
	if !p.Time.IsZero() {
		ts := binary.NativeEndian.AppendUint64(nil, uint64(p.Time.Unix()))
		ts = binary.NativeEndian.AppendUint64(ts, uint64(p.Time.Nanosecond()))
		msgs = append(msgs, msg{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, ts})
	}
	if p.Drops != 0 {
		msgs = append(msgs, msg{unix.SOL_SOCKET, unix.SO_RXQ_OVFL, binary.NativeEndian.AppendUint32(nil, p.Drops)})
	}
	if p.TTL != -1 {
		msgs = append(msgs, msg{unix.IPPROTO_IP, unix.IP_TTL, binary.NativeEndian.AppendUint32(nil, uint32(int32(p.TTL)))})
	}
	if isErr {
		msgs = append(msgs, msg{unix.IPPROTO_IP, unix.IP_RECVERR, fuzzSockErr(se)})
	}
	n := 0
	for _, m := range msgs {
		n += unix.CmsgSpace(len(m.data))
	}
	b := make([]byte, n)
	rest := b
	for _, m := range msgs {
		rest = putCmsg(rest, m.level, m.typ, m.data)
	}
	return b
}

// TestWriteRecvFuzzSeeds rewrites the seed corpora of the fuzz targets of
// this file under testdata/fuzz, when TRACER_WRITE_FUZZ_SEEDS=1.
func TestWriteRecvFuzzSeeds(t *testing.T) {
	if os.Getenv("TRACER_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set TRACER_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	seeds := map[string]map[string][]byte{"FuzzStripIPv4Header": {}, "FuzzParseSockErr": {}, "FuzzParseDgramControl": {}}
	strip := seeds["FuzzStripIPv4Header"]
	files, _ := filepath.Glob(filepath.Join("testdata", "replies", "v4_*.bin"))
	for _, name := range files {
		msg, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(name[:len(name)-len(".bin")])
		strip[base] = append(fuzzIPv4Header(5, 255, len(msg)), msg...)
		strip[base+"-options"] = append(fuzzIPv4Header(15, 0, len(msg)), msg...)
	}
	v6 := fuzzIPv4Header(5, 64, 0)
	v6[0] = 6<<4 | 5
	ihl4 := fuzzIPv4Header(5, 64, 0)
	ihl4[0] = 4<<4 | 4
	strip["version-6"], strip["ihl-16-bytes"], strip["ihl-60-truncated"], strip["empty"] = v6, ihl4, fuzzIPv4Header(15, 1, 0)[:40], nil

	v4Off, v6Off := netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("2001:db8:1::2")
	invalidExt := fuzzSockErr(sockErr{Origin: unix.SO_EE_ORIGIN_ICMP, Type: 11, Offender: v4Off, ExtOff: 108})
	invalidExt[sockErrRFC4884+2] = unix.SO_EE_RFC4884_FLAG_INVALID
	mapped := fuzzSockErr(sockErr{Origin: unix.SO_EE_ORIGIN_ICMP6, Type: 3, Offender: v6Off})
	copy(mapped[sockErrLen+sockaddr6AddrAt:], netip.MustParseAddr("::ffff:198.18.1.2").AsSlice())
	unknownFamily := fuzzSockErr(sockErr{Origin: unix.SO_EE_ORIGIN_ICMP, Type: 3, Offender: v4Off})
	binary.NativeEndian.PutUint16(unknownFamily[sockErrLen:], unix.AF_UNIX)
	seeds["FuzzParseSockErr"] = map[string][]byte{
		"v4-extension":   fuzzSockErr(sockErr{Origin: unix.SO_EE_ORIGIN_ICMP, Type: 11, Offender: v4Off, ExtOff: 108}),
		"v4-invalid-ext": invalidExt,
		"v6":             fuzzSockErr(sockErr{Origin: unix.SO_EE_ORIGIN_ICMP6, Type: 1, Code: 4, Info: 1280, Offender: v6Off}),
		"v6-mapped":      mapped,
		"no-offender":    fuzzSockErr(sockErr{Origin: unix.SO_EE_ORIGIN_LOCAL}),
		"short-sockaddr": fuzzSockErr(sockErr{Origin: unix.SO_EE_ORIGIN_ICMP, Type: 11, Offender: v4Off})[:sockErrLen+6],
		"unknown-family": unknownFamily,
		"short":          make([]byte, sockErrLen-1),
	}

	full := fuzzControl(Packet{Time: time.Unix(1700000000, 123456789), Drops: 3, TTL: 62},
		sockErr{Origin: unix.SO_EE_ORIGIN_ICMP, Type: 11, Offender: v4Off, ExtOff: 108}, true)
	hop := make([]byte, unix.CmsgSpace(4)+unix.CmsgSpace(sockErrLen+unix.SizeofSockaddrInet6))
	rest := putCmsg(hop, unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, binary.NativeEndian.AppendUint32(nil, 61))
	putCmsg(rest, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, fuzzSockErr(sockErr{Origin: unix.SO_EE_ORIGIN_ICMP6, Type: 3, Offender: v6Off}))
	shortErr := make([]byte, unix.CmsgSpace(sockErrLen-1))
	putCmsg(shortErr, unix.IPPROTO_IP, unix.IP_RECVERR, make([]byte, sockErrLen-1))
	unknown := make([]byte, unix.CmsgSpace(4))
	putCmsg(unknown, 99, 99, []byte{1, 2, 3, 4})
	seeds["FuzzParseDgramControl"] = map[string][]byte{
		"v4-time-drops-ttl-error": full,
		"v6-hoplimit-error":       hop,
		"error-then-short-error":  append(bytes.Clone(full), shortErr...),
		"truncated":               full[:len(full)-3],
		"unknown-level":           unknown,
	}
	for fuzz, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range list {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
