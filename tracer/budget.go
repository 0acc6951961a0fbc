package tracer

import "time"

// budget is the process's packet budget: a token bucket that lets rate
// probes a second through, with bursts of at most burst. It is pure (the
// caller gives the time) and owned by the core's loop.
type budget struct {
	rate   float64 // tokens a second
	burst  float64
	tokens float64
	last   time.Time
}

// newBudget returns a full bucket, or nil (no limit) when rate is 0.
func newBudget(rate float64, burst int) *budget {
	if rate <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &budget{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// take spends one token at now. When none is left it reports false and
// when the next one will be.
func (b *budget) take(now time.Time) (bool, time.Time) {
	if b == nil {
		return true, now
	}
	if !b.last.IsZero() {
		if d := now.Sub(b.last); d > 0 {
			b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
		}
	}
	if now.After(b.last) || b.last.IsZero() {
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, now
	}
	wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	return false, now.Add(max(wait, time.Microsecond))
}

// burstOf is the budget's burst: as configured, or a tenth of a second's
// worth of probes.
func burstOf(o Options) int {
	if o.RateBurst > 0 {
		return o.RateBurst
	}
	return max(1, int(o.RateLimit/10))
}
