package tracer

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"time"
)

// ErrNoSocket is returned when a probe's family has no open socket.
var ErrNoSocket = errors.New("no socket open for this address family")

// probeKey identifies an in-flight probe: the destination (the sender of a
// direct answer, or the destination in the quoted header of an error), the
// protocol, the flow identifier and the sequence number.
type probeKey struct {
	dst     netip.Addr
	proto   uint8
	id, seq uint16
}

// inflight is a probe waiting for its reply, or one already given up as
// lost that is remembered for a while so its late reply is recognised.
type inflight struct {
	job  *job
	mtu  *mtuProbe // a path MTU probe (job is nil)
	idx  int       // index in job.recs
	flow uint8     // index in job.flows
	// sent is read immediately before the send system call; it carries
	// both a wall reading (compared with the kernel's receive time) and a
	// monotonic one (a bound that catches wall-clock steps).
	sent    time.Time
	expired bool // its deadline passed; it waits for a drain watermark
	lost    bool // given up: a reply now is a late one
}

// round is one round of a job: its probes and their deadline.
type round struct {
	job      *job
	index    int
	limit    int       // the highest TTL the round probes
	sent     int       // probes of the round sent (or refused) so far
	last     time.Time // send time of the latest
	deadline time.Time // the latest send time of the round plus the timeout
	keys     []probeKey
	final    bool
}

// job is one interval of tracing to one destination.
type job struct {
	target *Target
	flows  []*flow
	res    Result
	// recs holds the interval's probes in send order; they become
	// res.Probes on delivery.
	recs []probeRec
	tabs recTables
	next int // next round to send
	// pending counts probes sent and not yet answered or given up.
	pending int
	// minEnd is the lowest TTL that reached the destination (or was
	// stopped by Destination Unreachable) in this interval; 0 while unknown.
	minEnd int
	// hintVoid is set once the interval shows the hint is stale: a router
	// answered at or beyond the hinted destination TTL, or a round came
	// back without reaching the destination.
	hintVoid  bool
	reached   []bool // per round: an Echo Reply or Unreachable answered it
	spanOver  bool
	cancelled bool // the target was removed: nothing more is sent or delivered
	delivered bool
}

// core is the tracer's state machine: it schedules intervals, sends
// rounds, matches replies and expires probes. It runs on the engine's
// single loop goroutine; every method takes the loop's current time, and
// send times come from the injected clock, so tests drive it with a fake
// clock and a fake socket, without privileges or sleeps.
type core struct {
	conns [2][nSocks]PacketConn // by family ([0] IPv4, [1] IPv6) and socket kind
	now   func() time.Time
	// route returns the source address of the route to dst, and
	// linkMTU the MTU of the interface it leaves by.
	route    func(dst netip.Addr) (netip.Addr, error)
	linkMTU  func(dst netip.Addr) int
	inflight map[probeKey]inflight
	// inflightPeak is the most entries inflight has held since it was
	// last rebuilt (inflight.go).
	inflightPeak int
	events       timeline
	ids          idTable
	stats        *counters
	// budget is the packet budget of every probe; nil: none.
	budget *budget
	// hops is the hop budget of every router; nil: none.
	hops *hopBudget
	// deliver receives each finished interval; the engine hands it to a
	// goroutine off the loop.
	deliver func(*Target, Result)
	// waiting holds, per family, rounds past their deadline whose probes
	// are given up only once every receiving socket of the family has been
	// drained up to then; marks are the sockets' latest watermarks.
	waiting [2][]*round
	woken   [2][nSocks]bool
	// fixedID is, per family, the ICMP identifier the socket imposes
	// (0: none; the engine chooses one per flow).
	fixedID [2]uint16
	marks   [2][nSocks]time.Time
	buf     [64]byte
	// mtuBuf holds path MTU probes, allocated at the first.
	mtuBuf []byte
}

// drainGrace bounds how long expired probes wait for a drain watermark; a
// socket that gives none (it should not happen) only delays the results.
const drainGrace = 2 * time.Second

func newCore(conns [2][nSocks]PacketConn, now func() time.Time, stats *counters, deliver func(*Target, Result)) *core {
	return &core{
		conns:    conns,
		now:      now,
		route:    routeSource,
		linkMTU:  routeMTU,
		inflight: make(map[probeKey]inflight),
		ids:      idTable{},
		stats:    stats,
		deliver:  deliver,
	}
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// next returns when advance must next be called.
func (c *core) next() (time.Time, bool) { return c.events.next() }

// advance handles every event due at or before now.
func (c *core) advance(now time.Time) {
	defer c.maybeShrink()
	for e := c.events.popDue(now); e != nil; e = c.events.popDue(now) {
		switch e.kind {
		case evStart:
			c.startInterval(e.at, now, e.target)
		case evRound:
			c.sendRound(e.at, e.job)
		case evExpire:
			c.expire(e.round)
		case evForget:
			rd := e.round
			switch {
			case !rd.final: // no watermark within drainGrace
				c.finalize(now, rd)
			case !now.Before(rd.deadline.Add(rd.job.target.sched.Timeout)):
				c.forget(rd)
			}
		case evFinish:
			e.job.spanOver = true
			c.maybeFinish(now, e.job)
		case evRoundMore:
			c.sendRest(e.round)
		case evMTUExpire:
			c.mtuExpire(e.mtu)
		}
	}
}

// limit returns the highest TTL the next round of j probes: one past the
// destination's TTL once this interval found it, else one past the hint,
// else MaxHops. The extra TTL reaches the destination too, so a lost probe
// at its TTL or a silent router before it still leaves evidence.
func (j *job) limit() int {
	s := j.target.sched
	end := j.minEnd
	if end == 0 && !j.hintVoid {
		end = j.res.Hint
	}
	if end == 0 {
		return s.MaxHops
	}
	return min(s.MaxHops, end+1)
}

// sendRound sends one probe for each TTL up to j.limit(), highest first,
// schedules the round's deadline and the next round. The destination's
// probes go first so that they never wait behind the round's other probes
// in the host's queues: the destination's RTT is the one alerts use.
func (c *core) sendRound(at time.Time, j *job) {
	if j.cancelled || j.target.removed {
		return
	}
	s := j.target.sched
	rd := &round{job: j, index: j.next, limit: j.limit()}
	j.next++
	j.reached = append(j.reached, false)
	rd.keys = make([]probeKey, 0, rd.limit*len(j.flows))
	j.res.Rounds = j.next
	if j.next < s.Rounds {
		offset := time.Duration(int64(s.Interval) * int64(j.next) / int64(s.Rounds))
		c.events.push(&event{at: j.res.Start.Add(offset), kind: evRound, job: j})
	}
	c.sendRest(rd)
}

// sendRest sends the probes of rd not sent yet, as far as the packet
// budget allows. When it runs out, the round goes on when the next token
// comes, unless that is past the interval's end: the rest of the round is
// then skipped and counted. A probe the hop budget holds back (its router
// was asked enough) is skipped and counted at once. Once the round is
// sent, its deadline is set.
func (c *core) sendRest(rd *round) {
	j := rd.job
	if j.cancelled || j.target.removed {
		c.drop(rd)
		return
	}
	s := j.target.sched
	dst := j.flows[0].dst
	m := j.flows[0].method
	conn := c.conns[family(dst)][m.sock()]
	proto := m.proto(dst.Is6())
	total := rd.limit * len(j.flows)
	for ; rd.sent < total; rd.sent++ {
		i := rd.sent
		ttl, k := rd.limit-i/len(j.flows), i%len(j.flows)
		f := j.flows[k]
		now := c.now()
		hop := c.hops.routers(f, ttl)
		discovery := !c.hops.allow(&hop, now)
		if discovery && c.hops.tried(f, ttl) {
			// The router this TTL expires at was asked enough: the probe
			// is not sent, and is neither sent nor lost (hopbudget.go).
			c.stats.hopSkipped.Add(1)
			continue
		}
		if ok, next := c.budget.take(now); !ok {
			if next.Before(j.res.Start.Add(s.Interval)) {
				c.events.push(&event{at: next, kind: evRoundMore, round: rd})
				return
			}
			c.stats.skipped.Add(uint64(total - rd.sent))
			break
		}
		c.hops.spend(f, ttl, &hop, now)
		seq := f.nextSeq()
		p := newProbeRec(rd.index, ttl, k)
		p.discovery = discovery
		b := m.build(f, seq, c.buf[:])
		sent := c.now()
		if err := conn.WriteTo(b, dst, s.Src, ttl); err != nil {
			c.stats.sendErrors.Add(1)
			p.failed = true
			j.res.SendErr = err
			j.recs = append(j.recs, p)
			continue
		}
		rd.last = sent
		c.stats.sent.Add(1)
		key := probeKey{dst: dst, proto: proto, id: f.wire(), seq: seq}
		if old, ok := c.inflight[key]; ok && old.job != nil && !old.lost {
			// The 16-bit sequence wrapped onto a probe still waiting:
			// that one can no longer be told apart, so it is lost.
			old.job.pending--
		}
		c.inflight[key] = inflight{job: j, idx: len(j.recs), flow: uint8(k), sent: sent}
		c.noteInflight()
		j.recs = append(j.recs, p)
		j.pending++
		rd.keys = append(rd.keys, key)
	}
	if len(rd.keys) > 0 {
		rd.deadline = rd.last.Add(s.Timeout)
		c.events.push(&event{at: rd.deadline, kind: evExpire, round: rd})
	}
}

// reply matches a decoded reply from `from`, received by the kernel at rx
// with TTL replyTTL and handled by the loop at now, to its probe. A reply
// received within the timeout counts however late the loop handles it;
// one received later is counted as late and never used. It returns false
// when the reply answers no live probe.
func (c *core) reply(now, rx time.Time, r Reply, from netip.Addr, replyTTL int) bool {
	dst := r.Dst
	if !dst.IsValid() {
		dst = from // a direct answer comes from the destination
	}
	key := probeKey{dst: dst, proto: r.Proto, id: r.ID, seq: r.Seq}
	in, ok := c.inflight[key]
	if ok && in.mtu != nil {
		return c.mtuReply(now, rx, r, from, in.mtu)
	}
	if r.Kind == KindTooBig {
		ok = false // answers path MTU probes only
	}
	if ok && r.Port != in.job.flows[in.flow].port {
		ok = false // another flow's destination port: not ours
		in = inflight{}
	}
	if !ok || in.job.cancelled || in.job.target.removed {
		if ok {
			delete(c.inflight, key)
		}
		c.stats.unmatched.Add(1)
		return false
	}
	j := in.job
	if in.lost {
		c.stats.late.Add(1)
		return false
	}
	rtt := rtt(in.sent, rx, now)
	if rtt > j.target.sched.Timeout {
		c.stats.late.Add(1)
		in.lost = true
		c.inflight[key] = in
		j.pending--
		c.maybeFinish(now, j)
		return false
	}
	delete(c.inflight, key)
	c.stats.replies.Add(1)
	j.pending--
	p := &j.recs[in.idx]
	f := j.flows[in.flow]
	kind := f.method.outcome(r, f, from)
	p.kind, p.code, p.replyTTL, p.rtt = kind, r.Code, int16(replyTTL), rtt
	p.from, p.ext = j.tabs.addr(from), j.tabs.ext(r.ext)
	ttl := int(p.ttl)
	c.hops.learn(f, ttl, from, kind)
	switch kind {
	case KindReached, KindDestUnreachable:
		j.reached[p.round] = true
		if j.minEnd == 0 || ttl < j.minEnd {
			j.minEnd = ttl
		}
	case KindTimeExceeded:
		// A router answered at or beyond the hinted destination TTL:
		// the path got longer.
		if j.res.Hint > 0 && ttl >= j.res.Hint {
			j.hintVoid = true
		}
	}
	c.maybeFinish(now, j)
	return true
}

// rtt is the time from a probe's send to its reply's kernel receive time,
// both wall-clock readings. If the wall clock was stepped in between (the
// result is negative or exceeds the monotonic time from send to handling),
// the monotonic bound is used instead.
func rtt(sent, rx, now time.Time) time.Duration {
	if rx.IsZero() {
		rx = now
	}
	d := rx.Round(0).Sub(sent.Round(0))
	bound := now.Sub(sent)
	if d < 0 || d > bound+time.Millisecond {
		return bound
	}
	return d
}

// randSeq is the first sequence number of a new flow.
func randSeq() uint16 { return uint16(rand.Uint32()) }
