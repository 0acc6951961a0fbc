package tracer

import (
	"net/netip"
	"testing"
	"time"
)

func BenchmarkParseReplyTimeExceeded(b *testing.B) {
	var buf [EchoLen]byte
	echo := MarshalEcho(false, 0xbeef, 7, buf[:])
	q := make([]byte, 8+20+len(echo))
	q[0] = icmp4TimeExceeded
	q[8] = 0x45
	q[8+9] = protoICMP4
	copy(q[8+16:], []byte{198, 18, 7, 2})
	copy(q[28:], echo)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseReply(false, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInterval1000Targets runs one interval of 10 rounds for 1000
// targets with 12-hop paths through the core: sends, replies, expiries.
func BenchmarkInterval1000Targets(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		h := newHarness()
		for i := 0; i < 1000; i++ {
			dst := netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)})
			h.addTarget(Schedule{MaxHops: 30, Rounds: 10, Interval: 10 * time.Second, Timeout: time.Second}, dst)
		}
		for r := 0; r < 10; r++ {
			h.at(time.Duration(r) * time.Second)
			h.answerAll(0, 12, nil)
			h.fc.writes = h.fc.writes[:0] // measure the core, not the fake socket's log
			h.drain()
		}
		h.at(10*time.Second - time.Nanosecond)
		h.drain()
	}
}

// The per-probe hot path: encoding each method's probe, and matching a
// reply to its probe and recording it. None may allocate.

func BenchmarkMarshalEcho(b *testing.B) {
	var buf [EchoLen]byte
	b.ReportAllocs()
	seq := uint16(0)
	for b.Loop() {
		seq++
		MarshalEcho(false, 0xbeef, seq, buf[:])
	}
}

func BenchmarkMarshalUDPProbe(b *testing.B) {
	var buf [64]byte
	src, dst := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.7.2")
	b.ReportAllocs()
	seq := uint16(0)
	for b.Loop() {
		seq++
		MarshalUDPProbe(false, src, dst, 61000, 33434, seq|1, buf[:])
	}
}

func BenchmarkMarshalTCPSyn(b *testing.B) {
	var buf [64]byte
	src, dst := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.7.2")
	b.ReportAllocs()
	seq := uint32(0)
	for b.Loop() {
		seq++
		MarshalTCPSyn(false, src, dst, 61000, 443, seq, buf[:])
	}
}

// BenchmarkSendAndMatch sends one round of 8 TTLs for a target and
// matches a reply to each: the core's work per probe, send to record.
func BenchmarkSendAndMatch(b *testing.B) {
	h := newHarness()
	s := Schedule{MaxHops: 8, Rounds: 1 << 30, Interval: time.Hour, Timeout: time.Second}
	tg := h.addTarget(s, dstA)
	h.at(0)
	j := tg.job
	b.ReportAllocs()
	for b.Loop() {
		h.fc.writes = h.fc.writes[:0]
		j.recs = j.recs[:0]
		c := h.c
		c.sendRound(t0, j)
		for _, w := range h.fc.writes {
			h.answer(w, 5, w.at)
		}
		c.events.h = c.events.h[:0] // the rounds' deadlines: not what is measured
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*8), "ns/probe")
}
