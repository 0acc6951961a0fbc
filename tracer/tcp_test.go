package tracer_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// wireTCP builds, byte by byte, a 20-byte TCP segment that the test's
// destination sends to its source, with a valid checksum.
func wireTCP(v6 bool, srcPort, dstPort uint16, seq, ack uint32, flags byte) []byte {
	src, dst := wireAddrs(v6)
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], srcPort)
	binary.BigEndian.PutUint16(b[2:], dstPort)
	binary.BigEndian.PutUint32(b[4:], seq)
	binary.BigEndian.PutUint32(b[8:], ack)
	b[12], b[13] = 5<<4, flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	binary.BigEndian.PutUint16(b[16:], wireChecksum(wirePseudo(v6, dst, src, 6, len(b)), b))
	return b
}

func TestMarshalTCPSyn(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		src, dst := wireAddrs(v6)
		buf := make([]byte, tracer.TCPSynLen)
		mss := uint16(1460)
		if v6 {
			mss = 1440
		}
		for _, seq := range []uint32{0, 1, 0x7fffffff, 0xdeadbeef, 0xffffffff} {
			b := tracer.MarshalTCPSyn(v6, src, dst, 40001, 443, seq, buf)
			if len(b) != tracer.TCPSynLen {
				t.Fatalf("SYN of %d bytes, want %d", len(b), tracer.TCPSynLen)
			}
			if s := wireSum(wirePseudo(v6, src, dst, 6, len(b)), b); s != 0 {
				t.Errorf("v6=%v seq=%#x: SYN with pseudo-header sums to %#x mod 0xffff, want 0", v6, seq, s)
			}
			got := struct {
				sp, dp       uint16
				seq, ack     uint32
				off, flags   byte
				win, urg     uint16
				kind, optlen byte
				mss          uint16
			}{
				binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:]),
				b[12], b[13], binary.BigEndian.Uint16(b[14:]), binary.BigEndian.Uint16(b[18:]), b[20], b[21], binary.BigEndian.Uint16(b[22:]),
			}
			if got.sp != 40001 || got.dp != 443 || got.seq != seq || got.ack != 0 || got.off != 6<<4 || got.flags != 0x02 ||
				got.win != 64240 || got.urg != 0 || got.kind != 2 || got.optlen != 4 || got.mss != mss {
				t.Errorf("v6=%v seq=%#x: header %+v", v6, seq, got)
			}
		}
	}
}

func TestMarshalTCPRst(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		src, dst := wireAddrs(v6)
		b := tracer.MarshalTCPRst(v6, src, dst, 40001, 443, 0x01020305, make([]byte, tracer.TCPRstLen))
		if len(b) != tracer.TCPRstLen || b[12] != 5<<4 || b[13] != 0x04 || binary.BigEndian.Uint32(b[4:]) != 0x01020305 ||
			binary.BigEndian.Uint32(b[8:]) != 0 || binary.BigEndian.Uint16(b[14:]) != 0 {
			t.Errorf("v6=%v: RST % x", v6, b)
		}
		if s := wireSum(wirePseudo(v6, src, dst, 6, len(b)), b); s != 0 {
			t.Errorf("v6=%v: RST with pseudo-header sums to %#x mod 0xffff, want 0", v6, s)
		}
		// The package's own decoder reads it back, seen from the destination.
		r, err := tracer.ParseTCPReply(v6, b, src, dst)
		if err != nil || r != (tracer.TCPReply{SrcPort: 40001, DstPort: 443, RST: true}) {
			t.Errorf("v6=%v: decoded %+v, %v", v6, r, err)
		}
	}
}

func TestParseTCPQuote(t *testing.T) {
	buf := make([]byte, tracer.TCPSynLen)
	syn4 := append([]byte(nil), tracer.MarshalTCPSyn(false, wireSrc4, wireDst4, 40001, 443, 0xfeedf00d, buf)...)
	syn6 := append([]byte(nil), tracer.MarshalTCPSyn(true, wireSrc6, wireDst6, 40001, 443, 0xfeedf00d, buf)...)
	tests := []struct {
		name string
		v6   bool
		in   []byte
		dst  netip.Addr
		err  error
	}{
		{"v4 8 bytes (RFC 792)", false, wireQuote(false, 6, syn4, 8), wireDst4, nil},
		{"v4 whole SYN", false, wireQuote(false, 6, syn4, -1), wireDst4, nil},
		{"v6 whole SYN", true, wireQuote(true, 6, syn6, -1), wireDst6, nil},
		{"v6 8 bytes", true, wireQuote(true, 6, syn6, 8), wireDst6, nil},
		{"v4 7 bytes", false, wireQuote(false, 6, syn4, 7), netip.Addr{}, tracer.ErrTruncated},
		{"v4 quoted UDP", false, wireQuote(false, 17, syn4, 8), netip.Addr{}, tracer.ErrQuotedProtocol},
		{"v6 quoted ICMPv6", true, wireQuote(true, 58, syn6, 8), netip.Addr{}, tracer.ErrQuotedProtocol},
		{"v4 bad version", false, append([]byte{0x65}, wireQuote(false, 6, syn4, 8)[1:]...), netip.Addr{}, tracer.ErrBadQuote},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst, sp, dp, seq, err := tracer.ParseTCPQuote(tc.v6, tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err == nil && (dst != tc.dst || sp != 40001 || dp != 443 || seq != 0xfeedf00d) {
				t.Errorf("got %v %d %d %#x, want %v 40001 443 0xfeedf00d", dst, sp, dp, seq, tc.dst)
			}
		})
	}
}

func TestParseTCPReply(t *testing.T) {
	const probe = 0xfffffffe
	badSum := wireTCP(false, 443, 40001, 9, probe+1, 0x12)
	badSum[17] ^= 1
	badOff := wireTCP(true, 443, 40001, 9, probe+1, 0x12)
	badOff[12] = 4 << 4
	longOff := wireTCP(true, 443, 40001, 9, probe+1, 0x12)
	longOff[12] = 6 << 4
	synAck := tracer.TCPReply{SrcPort: 443, DstPort: 40001, Ack: probe + 1, SYN: true, ACK: true}
	tests := []struct {
		name string
		v6   bool
		seg  []byte
		want tracer.TCPReply
		seq  bool // ProbeSeq answers probe
		err  error
	}{
		{"v4 SYN-ACK", false, wireTCP(false, 443, 40001, 9, probe+1, 0x12), synAck, true, nil},
		{"v6 SYN-ACK", true, wireTCP(true, 443, 40001, 9, probe+1, 0x12), synAck, true, nil},
		{"v4 RST-ACK of a closed port", false, wireTCP(false, 443, 40001, 0, probe+1, 0x14),
			tracer.TCPReply{SrcPort: 443, DstPort: 40001, Ack: probe + 1, RST: true, ACK: true}, true, nil},
		{"v6 RST-ACK of a closed port", true, wireTCP(true, 443, 40001, 0, probe+1, 0x14),
			tracer.TCPReply{SrcPort: 443, DstPort: 40001, Ack: probe + 1, RST: true, ACK: true}, true, nil},
		{"v4 plain ACK", false, wireTCP(false, 443, 40001, 9, probe+1, 0x10),
			tracer.TCPReply{SrcPort: 443, DstPort: 40001, Ack: probe + 1, ACK: true}, false, nil},
		{"v4 RST without ACK", false, wireTCP(false, 443, 40001, probe+1, 0, 0x04),
			tracer.TCPReply{SrcPort: 443, DstPort: 40001, RST: true}, false, nil},
		{"v4 bad checksum", false, badSum, synAck, true, tracer.ErrChecksum},
		{"v4 segment on the v6 socket", true, wireTCP(false, 443, 40001, 9, probe+1, 0x12), synAck, true, tracer.ErrChecksum},
		{"truncated", false, wireTCP(false, 443, 40001, 9, probe+1, 0x12)[:19], tracer.TCPReply{}, false, tracer.ErrTruncated},
		{"data offset under 5", true, badOff, tracer.TCPReply{}, false, tracer.ErrBadTCP},
		{"data offset past the end", true, longOff, tracer.TCPReply{}, false, tracer.ErrBadTCP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := wireAddrs(tc.v6)
			r, err := tracer.ParseTCPReply(tc.v6, tc.seg, dst, src)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if r != tc.want {
				t.Errorf("got %+v, want %+v", r, tc.want)
			}
			if seq, ok := r.ProbeSeq(); ok != tc.seq || ok && seq != probe {
				t.Errorf("ProbeSeq %#x %v, want %#x %v", seq, ok, uint32(probe), tc.seq)
			}
		})
	}
}

func TestTCPReplyProbeSeqWraps(t *testing.T) {
	if seq, ok := (tracer.TCPReply{Ack: 0, SYN: true, ACK: true}).ProbeSeq(); !ok || seq != 0xffffffff {
		t.Errorf("ProbeSeq of ack 0: %#x %v, want 0xffffffff true", seq, ok)
	}
	if _, ok := (tracer.TCPReply{Ack: 5, SYN: true, RST: true, ACK: true}).ProbeSeq(); ok {
		t.Error("a SYN-RST-ACK answers no probe")
	}
}

// FuzzParseTCPQuote feeds arbitrary quotes to the TCP quote decoder.
func FuzzParseTCPQuote(f *testing.F) {
	f.Fuzz(func(t *testing.T, v6 bool, q []byte) {
		dst, _, _, _, err := tracer.ParseTCPQuote(v6, q)
		checkQuoteResult(t, v6, dst, err)
	})
}

// FuzzParseTCPReply feeds arbitrary segments to the TCP reply decoder: it
// must never panic, and accept a segment exactly when its checksum, checked
// independently, is valid.
func FuzzParseTCPReply(f *testing.F) {
	f.Fuzz(func(t *testing.T, v6 bool, seg []byte) {
		src, dst := wireAddrs(v6)
		_, err := tracer.ParseTCPReply(v6, seg, dst, src)
		switch {
		case err == nil, errors.Is(err, tracer.ErrChecksum):
			if valid := wireSum(wirePseudo(v6, dst, src, 6, len(seg)), seg) == 0; valid != (err == nil) {
				t.Errorf("error %v for a segment whose checksum valid=%v", err, valid)
			}
		case errors.Is(err, tracer.ErrTruncated), errors.Is(err, tracer.ErrBadTCP):
		default:
			t.Errorf("unexpected error %v", err)
		}
	})
}
