package tracer

import (
	"errors"
	"net/netip"
	"syscall"
	"time"
)

// A target with Schedule.PMTUEvery set runs a path MTU search at the start
// of every PMTUEvery-th interval, beside its rounds: one probe at a time,
// the next sent as soon as the last is answered or times out. The probes
// are Echo Requests on the target's own ICMP flow (a UDP or TCP target
// gets an ICMP flow of its own for them), so for ICMP targets they follow
// the traced path through per-flow load balancers. The result rides on
// the target's next finished interval (Result.MTU).

// mtuRun is a target's search in progress.
type mtuRun struct {
	search *mtuSearch
	dst    netip.Addr
	flow   *flow
	own    bool      // flow is the run's own: release its identifier at the end
	cur    *mtuProbe // the probe waiting for its answer, if any
}

// mtuProbe is one probe of a search.
type mtuProbe struct {
	target *Target
	key    probeKey
	size   int
	sent   time.Time
}

// maybeStartMTU starts t's search when this interval is due for one.
func (c *core) maybeStartMTU(t *Target, dst netip.Addr) {
	every := t.sched.PMTUEvery
	if every <= 0 {
		return
	}
	due := t.intervals%every == 0
	t.intervals++
	if !due || t.mtu != nil || c.fixedID[family(dst)] != 0 {
		return // datagram sockets: their Packet Too Big is not read yet
	}
	r := &mtuRun{search: newMTUSearch(dst.Is6(), c.linkMTU(dst)), dst: dst}
	if m := t.method(); m.sock() == sockICMP {
		r.flow = t.flows[0]
	} else {
		r.flow = &flow{method: ICMP, dst: dst, id: c.ids.take(dst, ICMP), seq: randSeq()}
		r.own = true
	}
	t.mtu = r
	c.sendMTU(t)
}

// sendMTU sends t's next search probe, or ends the search.
func (c *core) sendMTU(t *Target) {
	r := t.mtu
	conn := c.conns[family(r.dst)][sockICMP]
	proto := ICMP.proto(r.dst.Is6())
	for {
		size, ok := r.search.next()
		if !ok {
			c.endMTU(t)
			return
		}
		if c.mtuBuf == nil {
			c.mtuBuf = make([]byte, maxMTU)
		}
		seq := r.flow.nextSeq()
		b := marshalEchoSized(r.dst.Is6(), r.flow.icmpID(), seq, size, c.mtuBuf)
		sent := c.now()
		r.search.sent()
		err := conn.WriteTo(b, r.dst, t.sched.Src, t.sched.MaxHops)
		switch {
		case errors.Is(err, syscall.EMSGSIZE): // larger than our own interface
			r.search.tooBig(size, 0, netip.Addr{}, true)
			continue
		case err != nil: // no route, or the like: no search this time
			c.stats.sendErrors.Add(1)
			c.dropMTU(t)
			return
		}
		c.stats.sent.Add(1)
		p := &mtuProbe{target: t, key: probeKey{dst: r.dst, proto: proto, id: r.flow.icmpID(), seq: seq}, size: size, sent: sent}
		if old, ok := c.inflight[p.key]; ok && old.job != nil && !old.lost {
			old.job.pending-- // the sequence wrapped onto a round's probe
		}
		c.inflight[p.key] = inflight{mtu: p, sent: sent}
		r.cur = p
		c.events.push(&event{at: sent.Add(t.sched.Timeout), kind: evMTUExpire, target: t, mtu: p})
		return
	}
}

// mtuExpire handles the deadline of probe p: unanswered, it is lost.
func (c *core) mtuExpire(p *mtuProbe) {
	t := p.target
	if t.removed || t.mtu == nil || t.mtu.cur != p {
		return // answered, or the search is over
	}
	delete(c.inflight, p.key)
	t.mtu.cur = nil
	t.mtu.search.lost(p.size)
	c.sendMTU(t)
}

// mtuReply handles a reply to search probe p, received by the kernel at rx.
func (c *core) mtuReply(now, rx time.Time, r Reply, from netip.Addr, p *mtuProbe) bool {
	t := p.target
	run := t.mtu
	if t.removed || run == nil || run.cur != p {
		delete(c.inflight, p.key)
		c.stats.unmatched.Add(1)
		return false
	}
	if rtt(p.sent, rx, now) > t.sched.Timeout {
		c.stats.late.Add(1) // the deadline event gives it up
		return false
	}
	delete(c.inflight, p.key)
	run.cur = nil
	c.stats.replies.Add(1)
	switch {
	case r.Kind == KindReached && from == run.dst:
		run.search.passed(p.size)
	case r.Kind == KindTooBig, r.Kind == KindDestUnreachable && !run.dst.Is6() && r.Code == codeFragNeeded:
		run.search.tooBig(p.size, int(r.MTU), from, false)
	default: // expired on the way, or refused for another reason
		run.search.lost(p.size)
	}
	c.sendMTU(t)
	return true
}

// endMTU ends t's search, keeping its result for the next delivery.
func (c *core) endMTU(t *Target) {
	r := t.mtu
	res := r.search.res
	t.mtuDone = &res
	c.dropMTU(t)
}

// dropMTU forgets t's search, finished or not.
func (c *core) dropMTU(t *Target) {
	r := t.mtu
	if r == nil {
		return
	}
	if r.cur != nil {
		delete(c.inflight, r.cur.key)
	}
	if r.own {
		c.ids.release(r.dst, ICMP, r.flow.id)
	}
	t.mtu = nil
}
