package tracer

import (
	"errors"
	"net/netip"
	"time"
)

// ErrNoSocket is returned when a probe's family has no open socket.
var ErrNoSocket = errors.New("no socket open for this address family")

// Flow is the constant ICMP identifier of one target plus its sequence
// counter. All probes of a flow carry the same identifier and checksum
// (Paris traceroute); the sequence number tells them apart.
type Flow struct {
	id  uint16
	seq uint16
}

// ID returns the flow's ICMP identifier.
func (f *Flow) ID() uint16 { return f.id }

// probeKey identifies an in-flight probe: the destination (the sender of an
// Echo Reply or the destination in the quoted header of an error) and the
// Echo identifier and sequence number.
type probeKey struct {
	dst     netip.Addr
	id, seq uint16
}

type inflight struct {
	job  *job
	idx  int // index in job.res.Probes
	sent time.Time
}

// job is one interval of tracing to one destination.
type job struct {
	flow    *Flow
	spec    Spec
	res     Result
	done    func(Result)
	next    int // next round to send
	pending int // probes sent and not yet answered or timed out
	// destTTL is the lowest TTL that reached the destination (or was
	// stopped by Destination Unreachable) in this interval; 0 while unknown.
	// Rounds probe TTLs 1..destTTL once it is known.
	destTTL  int
	spanOver bool
}

// core is the tracer's state machine: it sends rounds, matches replies and
// expires probes. Every method takes the current time, so tests drive it
// with a fake clock; it runs on the engine's single loop goroutine.
type core struct {
	conns    [2]PacketConn // [0] IPv4, [1] IPv6
	inflight map[probeKey]inflight
	events   timeline
	stats    *counters
	buf      [EchoLen]byte
}

func newCore(conn4, conn6 PacketConn, stats *counters) *core {
	return &core{
		conns:    [2]PacketConn{conn4, conn6},
		inflight: make(map[probeKey]inflight),
		stats:    stats,
	}
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// start begins a job whose first round goes out at now.
func (c *core) start(now time.Time, f *Flow, s Spec, done func(Result)) error {
	if c.conns[family(s.Dst)] == nil {
		return ErrNoSocket
	}
	j := &job{flow: f, spec: s, done: done}
	j.res.Dst = s.Dst
	j.res.Start = now
	c.events.push(&event{at: now, kind: evRound, job: j})
	c.events.push(&event{at: now.Add(s.Span), kind: evFinish, job: j})
	return nil
}

// next returns when advance must next be called.
func (c *core) next() (time.Time, bool) { return c.events.next() }

// advance handles every event due at or before now.
func (c *core) advance(now time.Time) {
	for e := c.events.popDue(now); e != nil; e = c.events.popDue(now) {
		switch e.kind {
		case evRound:
			c.sendRound(e.at, e.job)
		case evExpire:
			c.expire(e.at, e.job, e.keys)
		case evFinish:
			e.job.spanOver = true
			c.maybeFinish(e.at, e.job)
		}
	}
}

// sendRound sends one probe for each TTL from 1 to the destination's TTL
// (or MaxHops while it is unknown), schedules the round's timeout and the
// next round.
func (c *core) sendRound(at time.Time, j *job) {
	s := j.spec
	round := j.next
	j.next++
	limit := s.MaxHops
	if j.destTTL > 0 {
		limit = j.destTTL
	}
	conn := c.conns[family(s.Dst)]
	keys := make([]probeKey, 0, limit)
	for ttl := 1; ttl <= limit; ttl++ {
		seq := j.flow.seq
		j.flow.seq++
		p := Probe{Round: round, TTL: ttl, ReplyTTL: -1}
		b := MarshalEcho(s.Dst.Is6(), j.flow.id, seq, c.buf[:])
		if err := conn.WriteTo(b, s.Dst, s.Src, ttl); err != nil {
			c.stats.sendErrors.Add(1)
			p.SendFailed = true
			j.res.SendErr = err
			j.res.Probes = append(j.res.Probes, p)
			continue
		}
		c.stats.sent.Add(1)
		key := probeKey{dst: s.Dst, id: j.flow.id, seq: seq}
		if old, ok := c.inflight[key]; ok {
			// The 16-bit sequence wrapped onto a probe still waiting:
			// that one can no longer be told apart, so it is lost.
			old.job.pending--
		}
		c.inflight[key] = inflight{job: j, idx: len(j.res.Probes), sent: at}
		j.res.Probes = append(j.res.Probes, p)
		j.pending++
		keys = append(keys, key)
	}
	j.res.Rounds = j.next
	c.events.push(&event{at: at.Add(s.Timeout), kind: evExpire, job: j, keys: keys})
	if j.next < s.Rounds {
		offset := time.Duration(int64(s.Span) * int64(j.next) / int64(s.Rounds))
		c.events.push(&event{at: j.res.Start.Add(offset), kind: evRound, job: j})
	}
}

// expire marks the probes of one round that are still waiting as lost.
func (c *core) expire(at time.Time, j *job, keys []probeKey) {
	for _, k := range keys {
		if in, ok := c.inflight[k]; ok && in.job == j {
			delete(c.inflight, k)
			j.pending--
		}
	}
	c.maybeFinish(at, j)
}

// reply matches a decoded reply from `from`, received at `at` with TTL
// replyTTL, to its in-flight probe. It returns false, and counts the reply
// as unmatched, when no probe waits for it.
func (c *core) reply(at time.Time, r Reply, from netip.Addr, replyTTL int) bool {
	dst := r.Dst
	if r.Kind == KindEchoReply {
		dst = from
	}
	key := probeKey{dst: dst, id: r.ID, seq: r.Seq}
	in, ok := c.inflight[key]
	if !ok {
		c.stats.unmatched.Add(1)
		return false
	}
	delete(c.inflight, key)
	c.stats.replies.Add(1)
	j := in.job
	j.pending--
	p := &j.res.Probes[in.idx]
	p.Kind, p.Code, p.From, p.ReplyTTL = r.Kind, r.Code, from, replyTTL
	p.RTT = at.Sub(in.sent)
	switch r.Kind {
	case KindEchoReply, KindDestUnreachable:
		// The trace ends here: later rounds stop at this TTL.
		if j.destTTL == 0 || p.TTL < j.destTTL {
			j.destTTL = p.TTL
		}
	case KindTimeExceeded:
		// A router answered at or beyond the TTL believed to end the
		// path: the path got longer, so probe every TTL again.
		if j.destTTL > 0 && p.TTL >= j.destTTL {
			j.destTTL = 0
		}
	}
	c.maybeFinish(at, j)
	return true
}

// maybeFinish delivers the job's result once its span is over and no probe
// is waiting any more.
func (c *core) maybeFinish(at time.Time, j *job) {
	if !j.spanOver || j.pending > 0 || j.done == nil {
		return
	}
	j.res.End = at
	done := j.done
	j.done = nil
	done(j.res)
}
