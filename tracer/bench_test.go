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
