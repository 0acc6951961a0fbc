package tracer

import "time"

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
	if t.flow.dst.IsValid() {
		c.ids.release(t.flow.dst, t.flow.id)
	}
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
	if c.conns[family(dst)] == nil {
		c.stats.noSocket.Add(1)
		return
	}
	if t.flow.dst != dst {
		if t.flow.dst.IsValid() {
			c.ids.release(t.flow.dst, t.flow.id)
		}
		t.flow = flow{dst: dst, id: c.ids.take(dst), seq: randSeq()}
	}
	j := &job{target: t, flow: &t.flow}
	j.res.Dst = dst
	j.res.Start = at
	j.res.Hint = int(t.hint.Load())
	t.job = j
	c.events.push(&event{at: at, kind: evRound, job: j})
	c.events.push(&event{at: at.Add(t.sched.Interval), kind: evFinish, job: j})
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
