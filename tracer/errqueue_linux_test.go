package tracer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// errQueueEntry is an ICMP error as the error queue returns it: the quoted
// probe, and a quote padded to the 128-byte original datagram (RFC 4884)
// followed by an MPLS extension (label 24001) when ext is set.
func errQueueEntry(v6, ext bool) (quote []byte, extOff int) {
	var b [EchoLen]byte
	quote = append([]byte(nil), MarshalEcho(v6, 0x1234, 0x5678, b[:])...)
	if !ext {
		return quote, 0
	}
	extOff = extOrigLen - map[bool]int{false: ipv4Min, true: ipv6Len}[v6]
	quote = append(quote, make([]byte, extOff-len(quote))...)
	e := []byte{extVersion << 4, 0, 0, 0, 0, 8, extClassMPLS, extCTypeMPLS}
	e = binary.BigEndian.AppendUint32(e, 24001<<12|1<<8|254)
	binary.BigEndian.PutUint16(e[2:], checksum(e))
	return append(quote, e...), extOff
}

// TestDgramSynthesizeError rebuilds ICMP errors from error queue entries and
// decodes them with the raw socket's decoders.
func TestDgramSynthesizeError(t *testing.T) {
	for _, tc := range []struct {
		name       string
		v6, ext    bool
		typ, code  uint8
		info       uint32
		kind       Kind
		field      uint32 // bytes 4-7 of the rebuilt message
		mplsLabels int
	}{
		{"v4 time exceeded", false, false, 11, 0, 0, KindTimeExceeded, 0, 0},
		{"v4 frag needed", false, false, 3, 4, 1400, KindDestUnreachable, 1400, 0},
		{"v4 admin prohibited", false, false, 3, 13, 0, KindDestUnreachable, 0, 0},
		{"v4 mpls", false, true, 11, 0, 0, KindTimeExceeded, 128 / 4 << 16, 1},
		{"v6 time exceeded", true, false, 3, 0, 0, KindTimeExceeded, 0, 0},
		{"v6 port unreachable", true, false, 1, 4, 0, KindDestUnreachable, 0, 0},
		{"v6 mpls", true, true, 3, 0, 0, KindTimeExceeded, 128 / 8 << 24, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := netip.MustParseAddr(map[bool]string{false: "198.18.3.2", true: "2001:db8:3::2"}[tc.v6])
			quote, extOff := errQueueEntry(tc.v6, tc.ext)
			msg := append(make([]byte, errHeaderLen(tc.v6)), quote...)
			synthesizeError(tc.v6, sockErr{Type: tc.typ, Code: tc.code, Info: tc.info, ExtOff: extOff}, dst, msg)
			r, err := ParseReply(tc.v6, msg)
			if err != nil || r.Kind != tc.kind || r.Code != tc.code || r.Dst != dst || r.ID != 0x1234 || r.Seq != 0x5678 {
				t.Fatalf("ParseReply(%x) = %+v, %v; want %v code %d quoting 0x1234/0x5678 to %v", msg, r, err, tc.kind, tc.code, dst)
			}
			if got := binary.BigEndian.Uint32(msg[4:]); got != tc.field {
				t.Errorf("bytes 4-7 = %#08x, want %#08x", got, tc.field)
			}
			e := ParseExtensions(tc.v6, msg)
			if e.Err != nil || len(e.MPLS) != tc.mplsLabels || tc.ext && e.MPLSString() != "24001/0/1/254" {
				t.Errorf("extensions %+v (%q), want %d labels", e, e.MPLSString(), tc.mplsLabels)
			}
		})
	}
}

// TestDgramParseSockErr decodes sock_extended_err and the offender behind it.
func TestDgramParseSockErr(t *testing.T) {
	ee := func(origin, typ, code uint8, rfc4884Len uint16, flags uint8, sa []byte) []byte {
		b := make([]byte, sockErrLen)
		binary.NativeEndian.PutUint32(b, uint32(unix.EHOSTUNREACH))
		b[sockErrOrigin], b[sockErrType], b[sockErrCode] = origin, typ, code
		binary.NativeEndian.PutUint32(b[sockErrInfo:], 1400)
		binary.NativeEndian.PutUint16(b[sockErrRFC4884:], rfc4884Len)
		b[sockErrRFC4884+2] = flags
		return append(b, sa...)
	}
	sin := binary.NativeEndian.AppendUint16(nil, unix.AF_INET)
	sin = append(sin, 0, 0, 198, 18, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0)
	sin6 := binary.NativeEndian.AppendUint16(nil, unix.AF_INET6)
	sin6 = append(append(sin6, make([]byte, 6)...), netip.MustParseAddr("2001:db8:1::2").AsSlice()...)
	for _, tc := range []struct {
		name string
		b    []byte
		want sockErr
		ok   bool
	}{
		{"v4", ee(2, 11, 0, 108, 0, sin), sockErr{2, 11, 0, 1400, netip.MustParseAddr("198.18.1.2"), 108}, true},
		{"v4 invalid extension", ee(2, 11, 0, 108, unix.SO_EE_RFC4884_FLAG_INVALID, sin), sockErr{2, 11, 0, 1400, netip.MustParseAddr("198.18.1.2"), 0}, true},
		{"v6", ee(3, 3, 0, 0, 0, sin6), sockErr{3, 3, 0, 1400, netip.MustParseAddr("2001:db8:1::2"), 0}, true},
		{"no offender", ee(1, 0, 0, 0, 0, nil), sockErr{Origin: 1, Info: 1400}, true},
		{"short offender", ee(2, 11, 0, 0, 0, sin[:6]), sockErr{Origin: 2, Type: 11, Info: 1400}, true},
		{"short", make([]byte, sockErrLen-1), sockErr{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := parseSockErr(tc.b); got != tc.want || ok != tc.ok {
				t.Fatalf("parseSockErr = %+v %v, want %+v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzDgramSynthesizeError feeds arbitrary error queue entries through the
// rebuild and the decoders: nothing may panic.
func FuzzDgramSynthesizeError(f *testing.F) {
	for _, v6 := range []bool{false, true} {
		q, off := errQueueEntry(v6, true)
		f.Add(v6, uint8(11), uint8(0), uint32(0), uint16(off), q)
		q, _ = errQueueEntry(v6, false)
		f.Add(v6, uint8(3), uint8(4), uint32(1280), uint16(0), q)
	}
	f.Fuzz(func(t *testing.T, v6 bool, typ, code uint8, info uint32, extOff uint16, quote []byte) {
		msg := append(make([]byte, errHeaderLen(v6)), quote...)
		dst := netip.IPv6Loopback()
		if !v6 {
			dst = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		synthesizeError(v6, sockErr{Type: typ, Code: code, Info: info, ExtOff: int(extOff)}, dst, msg)
		ParseReply(v6, msg)
		ParseExtensions(v6, msg)
	})
}

// testDgramTrace sends TTL 1, 2, 3: the routers' Time Exceeded, read from
// the error queue, and the destination's Echo Reply must decode with
// ParseReply to the probe's destination, identifier and sequence number,
// from the right addresses, stamped by the kernel.
func testDgramTrace(t *testing.T, l *dgramLab, v6 bool) {
	c, id := listenDgramIn(t, l.ns("src"), v6)
	dst := labAddr(v6, 3, 2)
	before := time.Now()
	for ttl := 1; ttl <= 3; ttl++ {
		var b [EchoLen]byte
		if err := c.WriteTo(MarshalEcho(v6, id, uint16(100+ttl), b[:]), dst, netip.Addr{}, ttl); err != nil {
			t.Fatalf("ttl %d: %v", ttl, err)
		}
	}
	ps := readN(t, c, 3)
	after := time.Now()
	seen := map[uint16]bool{}
	var sums []string
	for _, p := range ps {
		r, err := ParseReply(v6, p.Data)
		if err != nil || r.ID != id || r.Seq < 101 || r.Seq > 103 || seen[r.Seq] {
			t.Fatalf("packet %x from %v: %+v %v, want a reply to one of our probes", p.Data, p.From, r, err)
		}
		seen[r.Seq] = true
		ttl := int(r.Seq - 100)
		switch {
		case ttl < 3 && (r.Kind != KindTimeExceeded || r.Dst != dst || p.From != labAddr(v6, ttl, 2)):
			t.Errorf("ttl %d: %v quoting %v from %v, want Time Exceeded quoting %v from %v", ttl, r.Kind, r.Dst, p.From, dst, labAddr(v6, ttl, 2))
		case ttl == 3 && (p.Data[0] != map[bool]byte{false: icmp4EchoReply, true: icmp6EchoReply}[v6] || p.From != dst):
			t.Errorf("ttl 3: type %d from %v, want the Echo Reply from %v", p.Data[0], p.From, dst)
		}
		if p.Time.Before(before.Round(0)) || p.Time.After(after.Round(0)) {
			t.Errorf("ttl %d: kernel time %v not between send %v and read %v", ttl, p.Time, before, after)
		}
		if p.TTL <= 0 {
			t.Errorf("ttl %d: reply TTL %d, want the TTL it arrived with", ttl, p.TTL)
		}
		if ttl < 3 { // the quoted probe keeps its checksum: Paris
			q := p.Data[errHeaderLen(v6):]
			sums = append(sums, fmt.Sprintf("%x", q[2:4]))
		}
	}
	if len(sums) == 2 && sums[0] != sums[1] {
		t.Errorf("quoted probe checksums %v differ", sums)
	}
}

// testDgramDrain checks the watermark: after Wake the packets already
// queued on both queues come first, then the watermark, and a Wake with
// nothing queued yields a watermark at once; Close unblocks a read.
func testDgramDrain(t *testing.T, l *dgramLab, v6 bool) {
	c, id := listenDgramIn(t, l.ns("src"), v6)
	for ttl := 1; ttl <= 3; ttl++ {
		var b [EchoLen]byte
		if err := c.WriteTo(MarshalEcho(v6, id, uint16(ttl), b[:]), labAddr(v6, 3, 2), netip.Addr{}, ttl); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the replies take microseconds on veth: normally all three are queued
	woke := time.Now()
	c.Wake()
	// Every packet before the watermark was received before the wake, the
	// watermark is not earlier than the wake, and a reply that was late
	// (a loaded machine) comes after it; all three arrive.
	replies, marked := 0, false
	for _, p := range readN(t, c, 4) {
		switch {
		case p.Drained && !marked:
			marked = true
			if p.Time.Before(woke) {
				t.Fatalf("watermark %v before the wake at %v", p.Time, woke)
			}
		case p.Drained:
			t.Fatalf("a second watermark %+v after one Wake", p)
		case !marked && p.Time.After(woke):
			t.Fatalf("packet %+v received after the wake at %v came before the watermark", p, woke)
		default:
			replies++
		}
	}
	if !marked || replies != 3 {
		t.Fatalf("%d replies and watermark %v in the first 4 reads, want 3 and a watermark", replies, marked)
	}
	c.Wake()
	if p := readN(t, c, 1)[0]; !p.Drained {
		t.Fatalf("Wake on empty queues: %+v, want a watermark", p)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadPacket(make([]byte, 1500))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadPacket")
	}
}

// testDgramParis captures, with a raw socket in dst, the probes of one
// flow sent with different sequence numbers: the kernel sets their
// identifier to the socket's, even for one built with another, and
// computes their checksum, and they still carry one checksum: for ICMPv4
// the one MarshalEcho computed for the socket's identifier (ICMPv6 adds the
// pseudo-header). They arrive with the TTL they were sent with less the
// two routers'.
func testDgramParis(t *testing.T, l *dgramLab, v6 bool) {
	c, id := listenDgramIn(t, l.ns("src"), v6)
	capFd := captureIn(t, l.ns("dst"), v6)
	dst := labAddr(v6, 3, 2)
	const n = 8 // the last one is built with another identifier
	var want uint16
	for seq := range uint16(n) {
		var b [EchoLen]byte
		probe := MarshalEcho(v6, map[bool]uint16{false: id, true: ^id}[seq == n-1], seq*7919, b[:])
		if seq == 0 {
			want = binary.BigEndian.Uint16(probe[2:])
		}
		if err := c.WriteTo(probe, dst, netip.Addr{}, 64); err != nil {
			t.Fatal(err)
		}
	}
	sums := map[uint16]int{}
	buf := make([]byte, 1500)
	for got := 0; got < n; {
		m, err := unix.Read(capFd, buf)
		if err != nil {
			t.Fatalf("capture after %d probes: %v", got, err)
		}
		ttl, icmp := -1, buf[:m]
		if !v6 {
			ttl, icmp = int(buf[8]), buf[20:m]
		}
		if len(icmp) < EchoLen || icmp[0] != map[bool]byte{false: icmp4EchoRequest, true: icmp6EchoRequest}[v6] ||
			binary.BigEndian.Uint16(icmp[4:]) != id {
			continue // not ours, or an identifier the kernel did not overwrite
		}
		if !v6 && ttl != 62 {
			t.Errorf("probe arrived with TTL %d, want 64 less 2 routers", ttl)
		}
		sums[binary.BigEndian.Uint16(icmp[2:])]++
		got++
	}
	if len(sums) != 1 {
		t.Fatalf("checksums of one flow: %v, want one", sums)
	}
	if _, ok := sums[want]; !v6 && !ok {
		t.Fatalf("checksum %v, want MarshalEcho's %#04x", sums, want)
	}
}

// captureIn opens, in namespace ns, a raw socket that reads every ICMP
// (ICMPv6) message the namespace receives, with a 5-second read timeout.
func captureIn(t *testing.T, ns string, v6 bool) int {
	t.Helper()
	domain, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		domain, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	fd := -1
	err := dgramInNetns(ns, func() (err error) {
		fd, err = unix.Socket(domain, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5}); err != nil {
		t.Fatal(err)
	}
	return fd
}
