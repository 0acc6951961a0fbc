package pathstate

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// netModel is a simulated path: routers at TTLs 1..len(routers), the
// destination one TTL beyond. It answers probes like the namespace
// network of the end-to-end tests, with loss and silence.
type netModel struct {
	routers []netip.Addr
	dst     netip.Addr
	// silent TTLs never send Time Exceeded.
	silent map[int]bool
	// loss is the chance that a probe at TTL lossFrom or beyond, or its
	// reply, is dropped (each direction, like a router dropping forwarded
	// packets); rateLimit the chance that a router's Time Exceeded is not
	// sent (a router shedding ICMP).
	loss      float64
	lossFrom  int
	rateLimit float64
	// unreachAt, if set, is a TTL whose router answers Destination
	// Unreachable (the route to the destination is gone there).
	unreachAt int
}

func (m *netModel) hops() int { return len(m.routers) + 1 }

// answer returns the reply to a probe with the given TTL.
func (m *netModel) answer(rng *rand.Rand, ttl int) (tracer.Kind, netip.Addr) {
	if m.unreachAt > 0 && ttl >= m.unreachAt {
		return tracer.KindDestUnreachable, m.routers[m.unreachAt-1]
	}
	drop := func() bool { return m.loss > 0 && ttl >= m.lossFrom && rng.Float64() < m.loss }
	if ttl >= m.hops() {
		if drop() || drop() {
			return tracer.KindNone, netip.Addr{}
		}
		return tracer.KindReached, m.dst
	}
	if m.silent[ttl] || (m.rateLimit > 0 && rng.Float64() < m.rateLimit) {
		return tracer.KindNone, netip.Addr{}
	}
	if ttl > m.lossFrom && m.loss > 0 && (drop() || drop()) {
		return tracer.KindNone, netip.Addr{}
	}
	return tracer.KindTimeExceeded, m.routers[ttl-1]
}

// simInterval traces one interval of `rounds` rounds the way the tracer
// does: probing TTLs up to one past the destination once known, else one
// past the hint, else maxHops; a round that does not reach the destination
// voids the hint. model gives the network of each round.
func simInterval(rng *rand.Rand, start time.Time, rounds, hint int, model func(round int) *netModel) tracer.Result {
	const maxHops = 12
	r := tracer.Result{Start: start, End: start.Add(10 * time.Second), Rounds: rounds, Hint: hint}
	minEnd, void := 0, false
	for k := 0; k < rounds; k++ {
		m := model(k)
		r.Dst = m.dst
		limit := maxHops
		switch {
		case minEnd > 0:
			limit = minEnd + 1
		case hint > 0 && !void:
			limit = hint + 1
		}
		reached := false
		for ttl := 1; ttl <= limit; ttl++ {
			kind, from := m.answer(rng, ttl)
			p := tracer.Probe{Round: k, TTL: ttl, Kind: kind, From: from, ReplyTTL: -1}
			if kind != tracer.KindNone {
				p.RTT = time.Duration(ttl) * time.Millisecond
			}
			switch kind {
			case tracer.KindReached, tracer.KindDestUnreachable:
				reached = true
				if minEnd == 0 || ttl < minEnd {
					minEnd = ttl
				}
			case tracer.KindTimeExceeded:
				if hint > 0 && ttl >= hint {
					void = true
				}
			}
			r.Probes = append(r.Probes, p)
		}
		if !reached {
			void = true
		}
	}
	return r
}

// run feeds n intervals into s, each with the hint the prober would give
// (the current path's hop count), calling check after each.
func run(s *State, rng *rand.Rand, n, rounds int, model func(interval, round int) *netModel, check func(i int, snap *Snapshot)) {
	for i := 0; i < n; i++ {
		hint := s.Snapshot().Path.Hops
		res := simInterval(rng, t0.Add(time.Duration(i)*10*time.Second), rounds, hint, func(k int) *netModel { return model(i, k) })
		s.Observe(res)
		if check != nil {
			check(i, s.Snapshot())
		}
	}
}

func addrs(prefix byte, n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{198, 18, prefix, byte(i + 1)})
	}
	return out
}
