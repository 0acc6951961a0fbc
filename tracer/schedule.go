package tracer

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// add schedules a target's first interval at now + its offset.
func (c *core) add(now time.Time, t *Target) {
	t.start = now.Add(t.sched.Offset)
	c.events.push(&event{at: t.start, kind: evStart, target: t})
}

// remove stops a target at once: its interval in progress is cancelled
// (no further probe is sent and its result is dropped) and its identifier
// is freed. Pending events of the target become no-ops.
func (c *core) remove(t *Target) {
	if t.removed {
		return
	}
	t.removed = true
	if t.job != nil {
		t.job.cancelled = true
		t.job = nil
	}
	c.dropMTU(t)
	c.releaseFlows(t)
}

// releaseFlows frees the identifiers of t's flows.
func (c *core) releaseFlows(t *Target) {
	for _, f := range t.flows {
		c.ids.release(f.dst, f.method, f.id)
	}
	t.flows = nil
}

// startInterval begins the target's interval scheduled at `at` and
// schedules the next one. An interval is skipped while the target has no
// address, or when its family has no socket.
func (c *core) startInterval(at, now time.Time, t *Target) {
	if t.removed {
		return
	}
	t.start = nextStart(at, t.sched.Interval, now)
	c.events.push(&event{at: t.start, kind: evStart, target: t})

	dst := t.Addr()
	if !dst.IsValid() {
		return
	}
	m := t.method()
	if c.conns[family(dst)][m.sock()] == nil || c.conns[family(dst)][sockICMP] == nil {
		c.stats.noSocket.Add(1)
		return
	}
	if len(t.flows) == 0 || t.flows[0].dst != dst {
		if !c.newFlows(t, dst, m) {
			return
		}
	}
	j := &job{target: t, flows: t.flows}
	j.res.Flows = len(t.flows)
	j.res.Dst = dst
	j.res.Start = at
	j.res.Hint = int(t.hint.Load())
	if prev := t.job; j.res.Hint == 0 && prev != nil && prev.res.Dst == dst && prev.minEnd > 0 {
		// The interval before is still waiting for its last replies, so
		// its hop count has not come back as a hint yet; its own replies
		// already tell where the destination is.
		j.res.Hint = prev.minEnd
	}
	if h := j.res.Hint; h > 0 {
		// The probes the interval will keep if the path stays: no slack
		// from growing the slice, held by every target all the time.
		j.recs = make([]probeRec, 0, t.sched.Rounds*min(h+1, t.sched.MaxHops)*len(t.flows))
	}
	t.job = j
	c.events.push(&event{at: at, kind: evRound, job: j})
	c.events.push(&event{at: at.Add(t.sched.Interval), kind: evFinish, job: j})
	c.maybeStartMTU(t, dst)
}

// newFlows gives t its flows towards dst, releasing its old ones. UDP and
// TCP flows need the source address their checksums cover: the configured
// one, or the address of the route to dst. It reports false (and counts a
// send error) when there is no route.
func (c *core) newFlows(t *Target, dst netip.Addr, m Method) bool {
	src := t.sched.Src
	if !src.IsValid() && m.sock() != sockICMP {
		a, err := c.route(dst)
		if err != nil {
			c.stats.sendErrors.Add(1)
			return false
		}
		src = a
	}
	c.dropMTU(t) // a search towards the old address
	c.releaseFlows(t)
	port := t.sched.Port
	if port == 0 {
		port = m.DefaultPort()
	}
	// New objects: jobs of the old address keep theirs.
	for range t.nflows() {
		f := &flow{method: m, dst: dst, src: src, port: port, id: c.ids.take(dst, m), seq: randSeq(), seqHigh: rand.Uint32() >> 16}
		if fixed := c.fixedID[family(dst)]; fixed != 0 && m.sock() == sockICMP {
			// The socket overwrites the identifier: build with it, so the
			// checksum on the wire is the flow's. The table's identifier
			// stays reserved only to keep release symmetric.
			f.wireID = fixed
		}
		t.flows = append(t.flows, f)
	}
	return true
}

// maybeFinish delivers the job's result once its span is over and no probe
// is waiting any more.
func (c *core) maybeFinish(now time.Time, j *job) {
	if !j.spanOver || j.pending > 0 || j.cancelled || j.delivered || j.target.removed {
		return
	}
	j.delivered = true
	if j.target.job == j {
		j.target.job = nil
	}
	j.res.End = now
	j.res.Probes, j.recs, j.tabs = j.tabs.expandProbes(j.recs), nil, recTables{}
	if t := j.target; t.mtuDone != nil {
		j.res.MTU, t.mtuDone = t.mtuDone, nil
	}
	c.deliver(j.target, j.res)
}

// nextStart returns the start of the interval after prev. Starts stay on
// the grid prev + k*interval; intervals missed (the loop was stalled) are
// skipped rather than run in a burst.
func nextStart(prev time.Time, interval time.Duration, now time.Time) time.Time {
	next := prev.Add(interval)
	if next.Before(now) {
		missed := now.Sub(next)/interval + 1
		next = next.Add(missed * interval)
	}
	return next
}
