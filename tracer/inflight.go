package tracer

// Go maps never give back the room they grew to. The in-flight table grows
// with the probes waiting at once, which a burst (every target starting
// together after a restart, a stalled loop) can make far larger than
// usual; it is rebuilt at its current size once it has shrunk to a
// quarter of its peak, so a burst does not hold memory for the process's
// lifetime.

// minShrink is the peak below which the table is never rebuilt: small
// tables are not worth the copy.
const minShrink = 4096

// noteInflight records the table's size after an insertion.
func (c *core) noteInflight() {
	if n := len(c.inflight); n > c.inflightPeak {
		c.inflightPeak = n
	}
}

// maybeShrink rebuilds the table when it has shrunk to a quarter of its
// peak.
func (c *core) maybeShrink() {
	n := len(c.inflight)
	if c.inflightPeak < minShrink || n*4 >= c.inflightPeak {
		return
	}
	m := make(map[probeKey]inflight, n)
	for k, v := range c.inflight {
		m[k] = v
	}
	c.inflight, c.inflightPeak = m, n
}
