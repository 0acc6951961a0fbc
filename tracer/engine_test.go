package tracer

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// chainConn is a fake socket in front of a chain of routers: every probe
// with TTL below hops gets Time Exceeded from router TTL, the others an
// Echo Reply from the destination, as real bytes through ReadPacket. It
// also delivers one unsolicited reply and one malformed packet.
type chainConn struct {
	hops    int
	replies chan Packet
	closed  chan struct{}
}

func newChainConn(hops int) *chainConn {
	c := &chainConn{hops: hops, replies: make(chan Packet, 1024), closed: make(chan struct{})}
	c.replies <- Packet{Data: []byte{11, 0, 0, 0}, From: hopIP(1), TTL: 64}                  // truncated
	c.replies <- Packet{Data: []byte{0, 0, 0, 0, 0xde, 0xad, 0, 1}, From: hopIP(9), TTL: 64} // nobody's echo reply
	return c
}

func (c *chainConn) WriteTo(b []byte, dst, src netip.Addr, ttl int) error {
	id, seq := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:])
	if ttl >= c.hops {
		r := []byte{0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint16(r[4:], id)
		binary.BigEndian.PutUint16(r[6:], seq)
		c.replies <- Packet{Data: r, From: dst, TTL: 60}
		return nil
	}
	q := make([]byte, 8, 8+20+len(b))
	q[0] = icmp4TimeExceeded
	h := make([]byte, 20)
	h[0], h[9] = 0x45, protoICMP4
	d := dst.As4()
	copy(h[16:], d[:])
	q = append(append(q, h...), b...)
	c.replies <- Packet{Data: q, From: hopIP(ttl), TTL: 64 - ttl}
	return nil
}

func (c *chainConn) ReadPacket([]byte) (Packet, error) {
	select {
	case p := <-c.replies:
		return p, nil
	case <-c.closed:
		return Packet{}, context.Canceled
	}
}

func (c *chainConn) Close() error { close(c.closed); return nil }

// Wake implements PacketConn: the watermark follows every reply already
// queued, as the real socket's does.
func (c *chainConn) Wake() { c.replies <- Packet{Drained: true, Time: time.Now()} }

func TestEngineRunTracesThroughFakeSocket(t *testing.T) {
	conn := newChainConn(3)
	e := New(Options{Conn4: conn})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	results := make(chan Result, 100)
	tg := NewTarget(Schedule{MaxHops: 6, Rounds: 3, Interval: 30 * time.Millisecond, Timeout: 20 * time.Millisecond}, func(r Result) { results <- r })
	tg.SetAddr(dstA)
	e.Add(tg)
	v6 := NewTarget(Schedule{MaxHops: 1, Rounds: 1, Interval: 30 * time.Millisecond, Timeout: time.Millisecond}, func(Result) { t.Error("IPv6 target traced without a socket") })
	v6.SetAddr(netip.MustParseAddr("2001:db8::1"))
	e.Add(v6)
	var r Result
	select {
	case r = <-results:
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
	e.Remove(tg)
	e.Remove(v6)
	sent := e.Stats().ProbesSent
	// Round 0 probes 6 TTLs; later rounds stop one past the destination's
	// TTL 3 once round 0's replies are in (a loaded machine may send round
	// 1 before that).
	perRound := map[int]int{}
	for _, p := range r.Probes {
		perRound[p.Round]++
	}
	if r.Rounds != 3 || perRound[0] != 6 || (perRound[1] != 4 && perRound[1] != 6) || (perRound[2] != 4 && perRound[2] != 6) {
		t.Fatalf("%d rounds, probes per round %v; want 3 rounds of 6, then 4 (or 6)", r.Rounds, perRound)
	}
	for _, p := range r.Probes {
		switch {
		case p.TTL < 3 && (p.Kind != KindTimeExceeded || p.From != hopIP(p.TTL)):
			t.Errorf("probe %+v: want Time Exceeded from %v", p, hopIP(p.TTL))
		case p.TTL >= 3 && (p.Kind != KindReached || p.From != dstA):
			t.Errorf("probe %+v: want Echo Reply from %v", p, dstA)
		case p.RTT < 0 || p.ReplyTTL < 0:
			t.Errorf("probe %+v: RTT and reply TTL must be set", p)
		}
	}
	time.Sleep(100 * time.Millisecond) // three more intervals would have run
	s := e.Stats()
	if s.ProbesSent != sent {
		t.Fatalf("%d probes sent after Remove returned", s.ProbesSent-sent)
	}
	// Every probe is answered: by a matched reply, or (the interval that
	// Remove cancelled) an unmatched one; plus the one unsolicited reply.
	if s.Replies < 14 || s.Replies+s.Unmatched+s.Late != s.ProbesSent+1 || s.Malformed != 1 || s.SendErrors != 0 || s.NoSocket == 0 {
		t.Fatalf("stats %+v; want >= 14 replies, every reply accounted for, 1 malformed, intervals skipped for lack of an IPv6 socket", s)
	}
}
