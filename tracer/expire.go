package tracer

import "time"

// Expiry works on the kernel's receive times, not on the order in which
// the loop happens to handle events. When a round's deadline passes, its
// unanswered probes are not yet lost: a reply the kernel received before
// the deadline may still sit in the socket or in the reader's channel. The
// loop asks the socket for a drain watermark (PacketConn.Wake); once the
// reader reports that every packet received before a time W >= deadline
// has been handed over, the probes still unanswered are lost. A reply that
// arrives after that was received after the deadline: it is late.

// expire marks the probes of one round that are still waiting as expired
// and asks their socket for a drain watermark.
func (c *core) expire(rd *round) {
	j := rd.job
	if j.cancelled || j.target.removed {
		c.drop(rd)
		return
	}
	for _, k := range rd.keys {
		if in, ok := c.inflight[k]; ok && in.job == j && !in.lost {
			in.expired = true
			c.inflight[k] = in
		}
	}
	fam := family(j.flows[0].dst)
	c.waiting[fam] = append(c.waiting[fam], rd)
	c.wakeAll(fam)
	c.events.push(&event{at: rd.deadline.Add(drainGrace), kind: evForget, round: rd})
}

// receives reports whether sockets of kind k deliver replies (the UDP
// socket only sends).
func receives(k sockKind) bool { return k != sockUDP }

// wakeAll asks every receiving socket of the family for a watermark.
func (c *core) wakeAll(fam int) {
	for k, conn := range c.conns[fam] {
		if conn != nil && receives(sockKind(k)) && !c.woken[fam][k] {
			c.woken[fam][k] = true
			conn.Wake()
		}
	}
}

// watermark is the time up to which every receiving socket of the family
// has handed over its replies.
func (c *core) watermark(fam int) time.Time {
	var w time.Time
	first := true
	for k, conn := range c.conns[fam] {
		if conn == nil || !receives(sockKind(k)) {
			continue
		}
		if first || c.marks[fam][k].Before(w) {
			w, first = c.marks[fam][k], false
		}
	}
	return w
}

// drained handles a watermark of socket k of family fam: every reply that
// socket received before w has been handled. Rounds whose deadline is not
// after every receiving socket's watermark are final.
func (c *core) drained(now time.Time, fam int, k sockKind, mark time.Time) {
	c.woken[fam][k] = false
	if mark.After(c.marks[fam][k]) {
		c.marks[fam][k] = mark
	}
	w := c.watermark(fam)
	keep := c.waiting[fam][:0]
	for _, rd := range c.waiting[fam] {
		if rd.final {
			continue
		}
		if rd.deadline.After(w) {
			keep = append(keep, rd)
			continue
		}
		c.finalize(now, rd)
	}
	clear(c.waiting[fam][len(keep):])
	c.waiting[fam] = keep
	if len(keep) > 0 {
		c.wakeAll(fam)
	}
}

// finalize gives up the round's unanswered probes as lost. They are
// remembered until one more timeout has passed, so that their late
// replies are counted as late rather than as unmatched.
func (c *core) finalize(now time.Time, rd *round) {
	if rd.final {
		return
	}
	rd.final = true
	j := rd.job
	if j.cancelled || j.target.removed {
		c.drop(rd)
		return
	}
	for _, k := range rd.keys {
		if in, ok := c.inflight[k]; ok && in.job == j && !in.lost {
			in.lost = true
			c.inflight[k] = in
			j.pending--
		}
	}
	if !j.reached[rd.index] {
		j.hintVoid = true
	}
	c.events.push(&event{at: rd.deadline.Add(j.target.sched.Timeout), kind: evForget, round: rd})
	c.maybeFinish(now, j)
}

// forget deletes a final round's lost probes.
func (c *core) forget(rd *round) {
	for _, k := range rd.keys {
		if in, ok := c.inflight[k]; ok && in.job == rd.job && in.lost {
			delete(c.inflight, k)
		}
	}
}

// drop deletes every probe of a cancelled job's round.
func (c *core) drop(rd *round) {
	rd.final = true
	for _, k := range rd.keys {
		if in, ok := c.inflight[k]; ok && in.job == rd.job {
			delete(c.inflight, k)
		}
	}
}
