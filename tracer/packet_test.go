package tracer_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// ipv4Header builds a 20-byte IPv4 header (no options) carrying proto.
func ipv4Header(src, dst netip.Addr, proto byte, ttl byte, payloadLen int) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+payloadLen))
	h[8] = ttl
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return h
}

// ipv6Header builds a 40-byte IPv6 header with the given next header.
func ipv6Header(src, dst netip.Addr, next byte, hop byte, payloadLen int) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(payloadLen))
	h[6] = next
	h[7] = hop
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return h
}

// icmpError wraps quoted bytes in an ICMP error of the given type and code.
func icmpError(typ, code byte, quoted []byte) []byte {
	b := make([]byte, 8, 8+len(quoted))
	b[0], b[1] = typ, code
	return append(b, quoted...)
}

var (
	src4 = netip.MustParseAddr("198.18.1.1")
	dst4 = netip.MustParseAddr("198.18.7.2")
	src6 = netip.MustParseAddr("2001:db8:1::1")
	dst6 = netip.MustParseAddr("2001:db8:7::2")
)

func TestMarshalEchoConstantChecksum(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		buf := make([]byte, tracer.EchoLen)
		first := binary.BigEndian.Uint16(tracer.MarshalEcho(v6, 0x1234, 0, buf)[2:])
		for _, seq := range []uint16{1, 2, 255, 256, 0x7fff, 0xfffe, 0xffff} {
			b := tracer.MarshalEcho(v6, 0x1234, seq, buf)
			if got := binary.BigEndian.Uint16(b[2:]); got != first {
				t.Errorf("v6=%v seq=%d: checksum %#04x, want the constant %#04x", v6, seq, got, first)
			}
			if got := binary.BigEndian.Uint16(b[6:]); got != seq {
				t.Errorf("v6=%v: seq field %d, want %d", v6, got, seq)
			}
		}
		other := binary.BigEndian.Uint16(tracer.MarshalEcho(v6, 0x4321, 0, buf)[2:])
		if other == first {
			t.Errorf("v6=%v: two identifiers share checksum %#04x; the flow must depend on the id", v6, first)
		}
	}
}

func TestMarshalEchoChecksumValid(t *testing.T) {
	buf := make([]byte, tracer.EchoLen)
	for _, seq := range []uint16{0, 1, 0xabcd, 0xffff} {
		b := tracer.MarshalEcho(false, 0xbeef, seq, buf)
		var sum uint32
		for i := 0; i < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		for sum > 0xffff {
			sum = sum>>16 + sum&0xffff
		}
		if sum != 0xffff {
			t.Errorf("seq %d: message sums to %#04x, want 0xffff (valid checksum)", seq, sum)
		}
	}
}

func TestParseReply(t *testing.T) {
	buf := make([]byte, tracer.EchoLen)
	echo4 := append([]byte(nil), tracer.MarshalEcho(false, 0xbeef, 7, buf)...)
	echo6 := append([]byte(nil), tracer.MarshalEcho(true, 0xbeef, 7, buf)...)
	quoted4 := append(ipv4Header(src4, dst4, 1, 1, len(echo4)), echo4...)
	quoted6 := append(ipv6Header(src6, dst6, 58, 1, len(echo6)), echo6...)
	reply4 := append([]byte{0, 0, 0, 0}, echo4[4:]...)
	reply6 := append([]byte{129, 0, 0, 0}, echo6[4:]...)
	// IPv4 header with options (IHL 6) before the quoted Echo Request.
	opts := ipv4Header(src4, dst4, 1, 1, len(echo4)+4)
	opts[0] = 0x46
	opts = append(append(opts, 1, 1, 1, 0), echo4...)
	udp4 := append(ipv4Header(src4, dst4, 17, 1, 8), 0xf0, 0x01, 0x82, 0x9a, 0, 16, 0x12, 0x34)
	udp6 := append(ipv6Header(src6, dst6, 17, 1, 8), 0xf0, 0x01, 0x82, 0x9a, 0, 16, 0x12, 0x34)
	tcp4 := append(ipv4Header(src4, dst4, 6, 1, 8), 0xf0, 0x02, 0x01, 0xbb, 0xaa, 0xbb, 0x56, 0x78)
	gre4 := append(ipv4Header(src4, dst4, 47, 1, 8), make([]byte, 8)...)
	reqQuoted := append(ipv4Header(src4, dst4, 1, 1, 8), 0, 0, 0, 0, 0xbe, 0xef, 0, 7)

	tests := []struct {
		name string
		v6   bool
		in   []byte
		want tracer.Reply
		err  error
	}{
		{"v4 echo reply", false, reply4, tracer.Reply{Kind: tracer.KindReached, Proto: 1, ID: 0xbeef, Seq: 7}, nil},
		{"v6 echo reply", true, reply6, tracer.Reply{Kind: tracer.KindReached, Proto: 58, ID: 0xbeef, Seq: 7}, nil},
		{"v4 time exceeded", false, icmpError(11, 0, quoted4), tracer.Reply{Kind: tracer.KindTimeExceeded, Dst: dst4, Proto: 1, ID: 0xbeef, Seq: 7}, nil},
		{"v6 time exceeded", true, icmpError(3, 0, quoted6), tracer.Reply{Kind: tracer.KindTimeExceeded, Dst: dst6, Proto: 58, ID: 0xbeef, Seq: 7}, nil},
		{"v4 dest unreachable", false, icmpError(3, 1, quoted4), tracer.Reply{Kind: tracer.KindDestUnreachable, Code: 1, Dst: dst4, Proto: 1, ID: 0xbeef, Seq: 7}, nil},
		{"v6 dest unreachable", true, icmpError(1, 3, quoted6), tracer.Reply{Kind: tracer.KindDestUnreachable, Code: 3, Dst: dst6, Proto: 58, ID: 0xbeef, Seq: 7}, nil},
		{"v4 quote with IP options", false, icmpError(11, 0, opts), tracer.Reply{Kind: tracer.KindTimeExceeded, Dst: dst4, Proto: 1, ID: 0xbeef, Seq: 7}, nil},
		{"v4 quote of 8 bytes only", false, icmpError(11, 0, quoted4[:28]), tracer.Reply{Kind: tracer.KindTimeExceeded, Dst: dst4, Proto: 1, ID: 0xbeef, Seq: 7}, nil},
		{"empty", false, nil, tracer.Reply{}, tracer.ErrTruncated},
		{"short header", true, []byte{129, 0, 0}, tracer.Reply{}, tracer.ErrTruncated},
		{"v4 echo request is not a reply", false, echo4, tracer.Reply{}, tracer.ErrNotReply},
		{"v6 echo request is not a reply", true, echo6, tracer.Reply{}, tracer.ErrNotReply},
		{"v4 redirect", false, icmpError(5, 0, quoted4), tracer.Reply{}, tracer.ErrNotReply},
		{"v6 type 129 on v4 socket", false, reply6, tracer.Reply{}, tracer.ErrNotReply},
		{"v4 truncated quote", false, icmpError(11, 0, quoted4[:27]), tracer.Reply{}, tracer.ErrTruncated},
		{"v6 truncated quote", true, icmpError(3, 0, quoted6[:47]), tracer.Reply{}, tracer.ErrTruncated},
		{"v4 quote not IPv4", false, icmpError(11, 0, append([]byte{0x65}, quoted4[1:]...)), tracer.Reply{}, tracer.ErrBadQuote},
		{"v4 quote IHL too small", false, icmpError(11, 0, append([]byte{0x44}, quoted4[1:]...)), tracer.Reply{}, tracer.ErrBadQuote},
		{"v4 IHL beyond data", false, icmpError(11, 0, append([]byte{0x4f}, quoted4[1:]...)), tracer.Reply{}, tracer.ErrTruncated},
		{"v6 quote not IPv6", true, icmpError(3, 0, append([]byte{0x45}, quoted6[1:]...)), tracer.Reply{}, tracer.ErrBadQuote},
		{"v4 quoted UDP", false, icmpError(11, 0, udp4), tracer.Reply{Kind: tracer.KindTimeExceeded, Dst: dst4, Proto: 17, ID: 0xf001, Port: 33434, Seq: 0x1234}, nil},
		{"v6 quoted UDP port unreachable", true, icmpError(1, 4, udp6), tracer.Reply{Kind: tracer.KindDestUnreachable, Code: 4, Dst: dst6, Proto: 17, ID: 0xf001, Port: 33434, Seq: 0x1234}, nil},
		{"v4 quoted TCP", false, icmpError(11, 0, tcp4), tracer.Reply{Kind: tracer.KindTimeExceeded, Dst: dst4, Proto: 6, ID: 0xf002, Port: 443, Seq: 0x5678}, nil},
		{"v4 quoted GRE", false, icmpError(11, 0, gre4), tracer.Reply{}, tracer.ErrNotOurProbe},
		{"v6 quoted ICMPv4 echo", true, icmpError(3, 0, append(ipv6Header(src6, dst6, 1, 1, len(echo4)), echo4...)), tracer.Reply{}, tracer.ErrNotOurProbe},
		{"v4 quoted echo reply", false, icmpError(11, 0, reqQuoted), tracer.Reply{}, tracer.ErrNotOurProbe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tracer.ParseReply(tc.v6, tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRealReplies decodes replies captured from Linux routers. They answer
// the system traceroute's and ping's probes, so only kinds and quoted
// destinations are checked, not identifiers.
func TestRealReplies(t *testing.T) {
	tests := []struct {
		file string
		v6   bool
		kind tracer.Kind
		dst  string
	}{
		{"v4_echo_reply.bin", false, tracer.KindReached, ""},
		{"v4_time_exceeded.bin", false, tracer.KindTimeExceeded, "198.18.2.2"},
		{"v4_dest_unreachable.bin", false, tracer.KindDestUnreachable, "198.18.9.9"},
		{"v6_echo_reply.bin", true, tracer.KindReached, ""},
		{"v6_time_exceeded.bin", true, tracer.KindTimeExceeded, "2001:db8:2::2"},
		{"v6_dest_unreachable.bin", true, tracer.KindDestUnreachable, "2001:db8:9::9"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "replies", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := tracer.ParseReply(tc.v6, b)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != tc.kind {
				t.Errorf("kind %v, want %v", r.Kind, tc.kind)
			}
			if tc.dst != "" && r.Dst != netip.MustParseAddr(tc.dst) {
				t.Errorf("quoted destination %v, want %s", r.Dst, tc.dst)
			}
		})
	}
}
