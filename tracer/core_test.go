package tracer

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// write is one probe the fake socket was asked to send.
type write struct {
	dst, src netip.Addr
	ttl      int
	id, seq  uint16
	cksum    uint16
}

// fakeConn records writes; tests answer them by calling core.reply.
type fakeConn struct {
	writes []write
	fail   error
}

func (f *fakeConn) WriteTo(b []byte, dst, src netip.Addr, ttl int) error {
	if f.fail != nil {
		return f.fail
	}
	f.writes = append(f.writes, write{dst: dst, src: src, ttl: ttl,
		cksum: binary.BigEndian.Uint16(b[2:]), id: binary.BigEndian.Uint16(b[4:]), seq: binary.BigEndian.Uint16(b[6:])})
	return nil
}
func (f *fakeConn) ReadPacket([]byte) (Packet, error) { select {} }
func (f *fakeConn) Close() error                      { return nil }

var (
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dstA  = netip.MustParseAddr("198.18.7.2")
	hopIP = func(ttl int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(ttl), 2}) }
)

// network answers the writes of [from:] like a chain of `hops` routers
// ending at the destination, skipping TTLs in `silent`, at time `at`.
func network(c *core, w []write, hops int, at time.Time, silent map[int]bool) {
	for _, x := range w {
		if silent[x.ttl] {
			continue
		}
		if x.ttl >= hops {
			c.reply(at, Reply{Kind: KindEchoReply, ID: x.id, Seq: x.seq}, x.dst, 60)
		} else {
			c.reply(at, Reply{Kind: KindTimeExceeded, Dst: x.dst, ID: x.id, Seq: x.seq}, hopIP(x.ttl), 64-x.ttl)
		}
	}
}

func newTestCore() (*core, *fakeConn, *counters) {
	fc := &fakeConn{}
	st := &counters{}
	return newCore(fc, nil, st), fc, st
}

func spec(rounds int) Spec {
	return Spec{Dst: dstA, MaxHops: 8, Rounds: rounds, Span: 4 * time.Second, Timeout: time.Second}
}

func TestRoundsSpreadOverSpanWithParallelTTLs(t *testing.T) {
	c, fc, _ := newTestCore()
	var got []Result
	if err := c.start(t0, &Flow{id: 0x1111}, spec(4), func(r Result) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	// Nothing answers: every round probes all 8 TTLs at once, one round a second.
	for i, want := range []int{8, 8, 8, 8} {
		now := t0.Add(time.Duration(i) * time.Second)
		c.advance(now.Add(-time.Nanosecond))
		if len(fc.writes) != i*8 {
			t.Fatalf("before round %d: %d writes, want %d (rounds must not be sent early)", i, len(fc.writes), i*8)
		}
		c.advance(now)
		if len(fc.writes) != i*8+want {
			t.Fatalf("at round %d: %d writes, want %d", i, len(fc.writes), i*8+want)
		}
		for ttl, w := range fc.writes[i*8:] {
			if w.ttl != ttl+1 {
				t.Fatalf("round %d probe %d has TTL %d, want %d", i, ttl, w.ttl, ttl+1)
			}
		}
	}
	c.advance(t0.Add(4*time.Second - time.Nanosecond))
	if len(got) != 0 {
		t.Fatal("result delivered before the span ended")
	}
	c.advance(t0.Add(4 * time.Second))
	if len(got) != 1 {
		t.Fatalf("got %d results at span end, want 1", len(got))
	}
	r := got[0]
	if r.Rounds != 4 || len(r.Probes) != 32 {
		t.Fatalf("result has %d rounds and %d probes, want 4 and 32", r.Rounds, len(r.Probes))
	}
	for _, p := range r.Probes {
		if p.Kind != KindNone {
			t.Fatalf("probe %+v answered, but nothing replied", p)
		}
	}
}

func TestParisFlowConstant(t *testing.T) {
	c, fc, _ := newTestCore()
	c.start(t0, &Flow{id: 0xabcd, seq: 0xfff0}, spec(4), func(Result) {})
	c.advance(t0.Add(10 * time.Second))
	if len(fc.writes) == 0 {
		t.Fatal("no probes sent")
	}
	seqs := map[uint16]bool{}
	for _, w := range fc.writes {
		if w.id != 0xabcd || w.cksum != fc.writes[0].cksum {
			t.Fatalf("probe id %#x checksum %#x, want every probe with id 0xabcd and checksum %#x", w.id, w.cksum, fc.writes[0].cksum)
		}
		if seqs[w.seq] {
			t.Fatalf("sequence %d used twice", w.seq)
		}
		seqs[w.seq] = true
	}
}

func TestStopsAtDestinationTTL(t *testing.T) {
	c, fc, st := newTestCore()
	var got Result
	c.start(t0, &Flow{id: 1}, spec(4), func(r Result) { got = r })
	for i := 0; i < 4; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		n := len(fc.writes)
		c.advance(now)
		network(c, fc.writes[n:], 3, now.Add(5*time.Millisecond), nil)
	}
	c.advance(t0.Add(5 * time.Second))
	// Round 0 probes 8 TTLs; once TTL 3 reached the destination, rounds probe 1..3.
	if want := 8 + 3*3; len(fc.writes) != want {
		t.Fatalf("%d probes sent, want %d", len(fc.writes), want)
	}
	if st.unmatched.Load() != 0 {
		t.Errorf("%d unmatched replies, want 0", st.unmatched.Load())
	}
	if got.End.IsZero() {
		t.Fatal("no result")
	}
	for _, p := range got.Probes {
		if p.RTT != 5*time.Millisecond {
			t.Fatalf("probe %+v: RTT %v, want 5ms", p, p.RTT)
		}
		want := KindTimeExceeded
		if p.TTL >= 3 {
			want = KindEchoReply
		}
		if p.Kind != want {
			t.Fatalf("probe TTL %d kind %v, want %v", p.TTL, p.Kind, want)
		}
	}
}

func TestPathGettingLongerProbesAllTTLsAgain(t *testing.T) {
	c, fc, _ := newTestCore()
	c.start(t0, &Flow{id: 1}, spec(4), func(Result) {})
	c.advance(t0)
	network(c, fc.writes, 3, t0, nil) // destination at TTL 3
	n := len(fc.writes)
	c.advance(t0.Add(time.Second))
	if len(fc.writes)-n != 3 {
		t.Fatalf("round 1 sent %d probes, want 3", len(fc.writes)-n)
	}
	network(c, fc.writes[n:], 5, t0.Add(time.Second), nil) // the path is now 5 long
	n = len(fc.writes)
	c.advance(t0.Add(2 * time.Second))
	if len(fc.writes)-n != 8 {
		t.Fatalf("after a router answered at the old destination TTL, round 2 sent %d probes, want all 8", len(fc.writes)-n)
	}
}

func TestDestUnreachableEndsTrace(t *testing.T) {
	c, fc, _ := newTestCore()
	var got Result
	c.start(t0, &Flow{id: 1}, spec(2), func(r Result) { got = r })
	c.advance(t0)
	for _, w := range fc.writes {
		if w.ttl >= 2 {
			c.reply(t0, Reply{Kind: KindDestUnreachable, Code: 1, Dst: w.dst, ID: w.id, Seq: w.seq}, hopIP(2), 63)
		}
	}
	n := len(fc.writes)
	c.advance(t0.Add(2 * time.Second))
	if len(fc.writes)-n != 2 {
		t.Fatalf("after Destination Unreachable at TTL 2, round 1 sent %d probes, want 2", len(fc.writes)-n)
	}
	c.advance(t0.Add(10 * time.Second))
	if got.Probes[1].Kind != KindDestUnreachable || got.Probes[1].Code != 1 {
		t.Fatalf("probe at TTL 2: %+v, want Destination Unreachable code 1", got.Probes[1])
	}
}

func TestUnmatchedAndLateRepliesAreCounted(t *testing.T) {
	c, fc, st := newTestCore()
	var got Result
	c.start(t0, &Flow{id: 7}, spec(1), func(r Result) { got = r })
	c.advance(t0)
	w := fc.writes[0]
	// Wrong id, wrong destination, then the right one after the timeout.
	c.reply(t0, Reply{Kind: KindTimeExceeded, Dst: dstA, ID: 8, Seq: w.seq}, hopIP(1), 64)
	c.reply(t0, Reply{Kind: KindTimeExceeded, Dst: hopIP(9), ID: 7, Seq: w.seq}, hopIP(1), 64)
	c.advance(t0.Add(time.Second))
	if c.reply(t0.Add(time.Second), Reply{Kind: KindTimeExceeded, Dst: dstA, ID: 7, Seq: w.seq}, hopIP(1), 64) {
		t.Fatal("a reply after the probe timed out was matched")
	}
	if st.unmatched.Load() != 3 {
		t.Fatalf("%d unmatched, want 3", st.unmatched.Load())
	}
	c.advance(t0.Add(4 * time.Second))
	if got.Probes[0].Kind != KindNone {
		t.Fatalf("probe attributed a reply that did not match: %+v", got.Probes[0])
	}
}

func TestResultWaitsForTimeoutsBeyondSpan(t *testing.T) {
	c, _, _ := newTestCore()
	s := spec(4)
	s.Timeout = 3 * time.Second // last round at 3s times out at 6s
	var got []Result
	c.start(t0, &Flow{id: 1}, s, func(r Result) { got = append(got, r) })
	c.advance(t0.Add(5 * time.Second))
	if len(got) != 0 {
		t.Fatal("result delivered while probes were still waiting")
	}
	c.advance(t0.Add(6 * time.Second))
	if len(got) != 1 || !got[0].End.Equal(t0.Add(6*time.Second)) {
		t.Fatalf("results %v, want one ending at 6s", got)
	}
}

func TestSendErrorsCountAsLost(t *testing.T) {
	c, fc, st := newTestCore()
	fc.fail = errors.New("network is unreachable")
	var got Result
	c.start(t0, &Flow{id: 1}, spec(1), func(r Result) { got = r })
	c.advance(t0.Add(10 * time.Second))
	if st.sendErrors.Load() != 8 || st.sent.Load() != 0 {
		t.Fatalf("send errors %d sent %d, want 8 and 0", st.sendErrors.Load(), st.sent.Load())
	}
	if len(got.Probes) != 8 || !got.Probes[0].SendFailed || got.SendErr == nil {
		t.Fatalf("result %+v, want 8 failed probes", got)
	}
}

func TestNoSocketForFamily(t *testing.T) {
	c, _, _ := newTestCore()
	s := spec(1)
	s.Dst = netip.MustParseAddr("2001:db8::1")
	if err := c.start(t0, &Flow{}, s, nil); !errors.Is(err, ErrNoSocket) {
		t.Fatalf("error %v, want ErrNoSocket", err)
	}
}
