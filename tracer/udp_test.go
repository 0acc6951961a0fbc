package tracer_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// Addresses of the wire tests (udp, tcp and extension tests).
var (
	wireSrc4 = netip.MustParseAddr("198.18.1.1")
	wireDst4 = netip.MustParseAddr("198.18.7.2")
	wireSrc6 = netip.MustParseAddr("2001:db8:1::1")
	wireDst6 = netip.MustParseAddr("2001:db8:7::2")
)

// wireAddrs returns the test's source and destination for a family.
func wireAddrs(v6 bool) (src, dst netip.Addr) {
	if v6 {
		return wireSrc6, wireDst6
	}
	return wireSrc4, wireDst4
}

// wireSum returns the ones' complement sum of the 16-bit words of the
// concatenated parts reduced modulo 0xffff, computed independently of the
// package: a block of bytes carries a valid Internet checksum when this is 0.
func wireSum(parts ...[]byte) uint64 {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var sum uint64
	for i := 0; i < len(all); i += 2 {
		sum += uint64(all[i])<<8 | uint64(all[i+1])
	}
	return sum % 0xffff
}

// wireChecksum is the Internet checksum of the parts (their checksum field
// zero), from wireSum: the value that makes the total sum 0 modulo 0xffff.
func wireChecksum(parts ...[]byte) uint16 {
	return uint16((0xffff - wireSum(parts...)) % 0xffff)
}

// wirePseudo builds the pseudo-header of a UDP or TCP checksum.
func wirePseudo(v6 bool, src, dst netip.Addr, proto byte, length int) []byte {
	var b []byte
	if v6 {
		b = append(src.AsSlice(), dst.AsSlice()...)
		b = binary.BigEndian.AppendUint32(b, uint32(length))
		return append(b, 0, 0, 0, proto)
	}
	b = append(src.AsSlice(), dst.AsSlice()...)
	return append(b, 0, proto, byte(length>>8), byte(length))
}

// wireIPHeader builds the IP header of a datagram from src to dst: 20 bytes
// of IPv4 without options, or 40 of IPv6.
func wireIPHeader(v6 bool, src, dst netip.Addr, proto byte, payloadLen int) []byte {
	if v6 {
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(payloadLen))
		h[6], h[7] = proto, 1
		copy(h[8:], src.AsSlice())
		copy(h[24:], dst.AsSlice())
		return h
	}
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+payloadLen))
	h[8], h[9] = 1, proto
	copy(h[12:], src.AsSlice())
	copy(h[16:], dst.AsSlice())
	return h
}

// wireQuote is the original datagram an ICMP error quotes: the IP header and
// the transport segment, of which only the first n bytes are kept (n < 0:
// all of it).
func wireQuote(v6 bool, proto byte, seg []byte, n int) []byte {
	src, dst := wireAddrs(v6)
	if n < 0 {
		n = len(seg)
	}
	return append(wireIPHeader(v6, src, dst, proto, len(seg)), seg[:n]...)
}

func TestMarshalUDPProbeChecksumIsSeq(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		src, dst := wireAddrs(v6)
		buf := make([]byte, tracer.UDPProbeLen)
		pseudo := wirePseudo(v6, src, dst, 17, tracer.UDPProbeLen)
		for seq := 1; seq <= 0xffff; seq++ {
			b := tracer.MarshalUDPProbe(v6, src, dst, 40001, 33434, uint16(seq), buf)
			if len(b) != tracer.UDPProbeLen {
				t.Fatalf("v6=%v: probe of %d bytes, want %d", v6, len(b), tracer.UDPProbeLen)
			}
			if got := binary.BigEndian.Uint16(b[6:]); got != uint16(seq) {
				t.Fatalf("v6=%v seq=%#04x: checksum field %#04x, want seq", v6, seq, got)
			}
			if s := wireSum(pseudo, b); s != 0 {
				t.Fatalf("v6=%v seq=%#04x: probe with pseudo-header sums to %#x mod 0xffff, want 0", v6, seq, s)
			}
			if !bytes.Equal(b[:6], []byte{0x9c, 0x41, 0x82, 0x9a, 0, 16}) {
				t.Fatalf("v6=%v seq=%#04x: ports and length % x, want them constant", v6, seq, b[:6])
			}
		}
		b := tracer.MarshalUDPProbe(v6, src, dst, 40001, 33434, 0, buf)
		if got := binary.BigEndian.Uint16(b[6:]); got != 0xffff || wireSum(pseudo, b) != 0 {
			t.Errorf("v6=%v seq 0: checksum %#04x (valid=%v), want 0xffff", v6, got, wireSum(pseudo, b) == 0)
		}
	}
}

// TestMarshalUDPProbeFlows checks that the identity does not depend on the
// flow: other ports or another source give the same checksum for a seq,
// through another compensation word.
func TestMarshalUDPProbeFlows(t *testing.T) {
	buf := make([]byte, tracer.UDPProbeLen)
	a := append([]byte(nil), tracer.MarshalUDPProbe(false, wireSrc4, wireDst4, 40001, 33434, 0x1234, buf)...)
	b := tracer.MarshalUDPProbe(false, netip.MustParseAddr("10.0.0.9"), wireDst4, 50000, 53, 0x1234, buf)
	if !bytes.Equal(a[6:8], b[6:8]) || bytes.Equal(a[8:10], b[8:10]) {
		t.Errorf("checksums % x and % x, compensation % x and % x: want equal checksums, different words", a[6:8], b[6:8], a[8:10], b[8:10])
	}
	if !bytes.Equal(a[10:], []byte("trxprb")) {
		t.Errorf("payload marker %q", a[10:])
	}
}

func TestParseUDPQuote(t *testing.T) {
	buf := make([]byte, tracer.UDPProbeLen)
	probe4 := append([]byte(nil), tracer.MarshalUDPProbe(false, wireSrc4, wireDst4, 40001, 33434, 0xbeef, buf)...)
	probe6 := append([]byte(nil), tracer.MarshalUDPProbe(true, wireSrc6, wireDst6, 40001, 33434, 0xbeef, buf)...)
	opts := wireQuote(false, 17, probe4, 8)
	opts = append(append(append([]byte{0x46}, opts[1:20]...), 1, 1, 1, 0), probe4[:8]...)
	tests := []struct {
		name string
		v6   bool
		in   []byte
		dst  netip.Addr
		err  error
	}{
		{"v4 whole probe", false, wireQuote(false, 17, probe4, -1), wireDst4, nil},
		{"v4 8 bytes (RFC 792)", false, wireQuote(false, 17, probe4, 8), wireDst4, nil},
		{"v4 with IP options", false, opts, wireDst4, nil},
		{"v6 whole probe", true, wireQuote(true, 17, probe6, -1), wireDst6, nil},
		{"v6 8 bytes", true, wireQuote(true, 17, probe6, 8), wireDst6, nil},
		{"v4 7 bytes", false, wireQuote(false, 17, probe4, 7), netip.Addr{}, tracer.ErrTruncated},
		{"v6 7 bytes", true, wireQuote(true, 17, probe6, 7), netip.Addr{}, tracer.ErrTruncated},
		{"empty", false, nil, netip.Addr{}, tracer.ErrTruncated},
		{"v4 quoted ICMP", false, wireQuote(false, 1, probe4, 8), netip.Addr{}, tracer.ErrQuotedProtocol},
		{"v6 quoted TCP", true, wireQuote(true, 6, probe6, 8), netip.Addr{}, tracer.ErrQuotedProtocol},
		{"v6 quote on v4 socket", false, wireQuote(true, 17, probe6, 8), netip.Addr{}, tracer.ErrBadQuote},
		{"v4 quote on v6 socket", true, append(wireQuote(false, 17, probe4, -1), make([]byte, 20)...), netip.Addr{}, tracer.ErrBadQuote},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst, sp, dp, csum, err := tracer.ParseUDPQuote(tc.v6, tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if dst != tc.dst || sp != 40001 || dp != 33434 || csum != 0xbeef {
				t.Errorf("got %v %d %d %#04x, want %v 40001 33434 0xbeef", dst, sp, dp, csum, tc.dst)
			}
		})
	}
}

// FuzzParseUDPQuote feeds arbitrary quotes to the UDP quote decoder: it must
// never panic, fail only with the package's errors, and return a destination
// of the socket's family.
func FuzzParseUDPQuote(f *testing.F) {
	f.Fuzz(func(t *testing.T, v6 bool, q []byte) {
		dst, _, _, _, err := tracer.ParseUDPQuote(v6, q)
		checkQuoteResult(t, v6, dst, err)
	})
}

// checkQuoteResult checks what a quote decoder returned for a fuzz input.
func checkQuoteResult(t *testing.T, v6 bool, dst netip.Addr, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, tracer.ErrTruncated) && !errors.Is(err, tracer.ErrBadQuote) && !errors.Is(err, tracer.ErrQuotedProtocol) {
			t.Errorf("unexpected error %v", err)
		}
		return
	}
	if !dst.IsValid() || dst.Is6() != v6 {
		t.Errorf("destination %v from a v6=%v quote", dst, v6)
	}
}

// TestWriteWireFuzzSeeds rewrites the seed corpora under testdata/fuzz from
// the samples the tests build, when TRACER_WRITE_FUZZ_SEEDS=1.
func TestWriteWireFuzzSeeds(t *testing.T) {
	if os.Getenv("TRACER_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set TRACER_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	buf := make([]byte, tracer.TCPSynLen)
	udp4 := append([]byte(nil), tracer.MarshalUDPProbe(false, wireSrc4, wireDst4, 40001, 33434, 7, buf)...)
	udp6 := append([]byte(nil), tracer.MarshalUDPProbe(true, wireSrc6, wireDst6, 40001, 33434, 7, buf)...)
	syn4 := append([]byte(nil), tracer.MarshalTCPSyn(false, wireSrc4, wireDst4, 40001, 443, 7, buf)...)
	syn6 := append([]byte(nil), tracer.MarshalTCPSyn(true, wireSrc6, wireDst6, 40001, 443, 7, buf)...)
	seeds := map[string][][]any{
		"FuzzParseUDPQuote": {
			{false, wireQuote(false, 17, udp4, 8)}, {false, wireQuote(false, 17, udp4, -1)},
			{true, wireQuote(true, 17, udp6, -1)}, {false, wireQuote(false, 6, syn4, 8)},
		},
		"FuzzParseTCPQuote": {
			{false, wireQuote(false, 6, syn4, 8)}, {true, wireQuote(true, 6, syn6, -1)},
			{true, wireQuote(true, 17, udp6, 8)},
		},
		"FuzzParseTCPReply": {
			{false, wireTCP(false, 443, 40001, 99, 8, 0x12)}, {true, wireTCP(true, 443, 40001, 0, 8, 0x14)},
			{false, syn4},
		},
	}
	for _, s := range extensionSamples() {
		seeds["FuzzParseExtensions"] = append(seeds["FuzzParseExtensions"], []any{s.v6, s.msg})
	}
	for fuzz, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, args := range list {
			body := fmt.Sprintf("go test fuzz v1\nbool(%v)\n[]byte(%q)\n", args[0], args[1])
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
