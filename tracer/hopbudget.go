package tracer

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"time"
)

// The hop budget keeps the routers every target shares (the first hops)
// from being asked for more ICMP errors than they answer. A Linux router
// sends at most one ICMP error a second to one address, in bursts of six
// (net.ipv4.icmp_ratelimit, 1000 ms; IPv6 scales net.ipv6.icmp.ratelimit
// by the route's prefix length, about four a second for a /64): with
// thousands of targets, the router at TTL 1 receives thousands of
// TTL-limited probes a second and sheds nearly all of its Time Exceeded
// replies, which would read as loss at that hop.
//
// So every router gets a token bucket. A probe whose TTL is expected to
// expire at a router whose bucket is empty (or, while more probes ask for
// the router than its rate, that loses the draw for its token) is not
// sent: it is counted (Stats.HopProbesSkipped) and left out of the
// interval's Probes, so it is neither sent nor lost, and the path
// evidence sees a wildcard. The router's statistics come from the probes
// that went out: it is sampled across the targets instead of hammered.
//
// The router a probe will reach is the one that answered the flow at that
// TTL before (in an earlier round or interval). When the flow has not
// seen one there yet, it is guessed along the chain of routers the flow
// knows: the routers seen by any flow one TTL beyond the flow's router at
// the TTL before (for TTL 1, beyond the same source), up to hopFanout of
// them (the branches of a load balancer), all charged, so a guess never
// asks a router for more than its rate. A TTL with neither is not
// limited. Nor is a guess where some flow's destination answered at that
// place of the chain (after the last router the targets of a network
// share), unless the flow has seen a router answer beyond it: its own
// destination may be there.
//
// The destination is never held back: a TTL at or beyond the one where
// it answered the flow always goes out, and so does a flow's first probe
// at each TTL (charged all the same), so every TTL is probed at least
// once and no guess can hide where the destination is. The hop count and
// the destination's loss and RTT stay exact. After a start with many
// targets, that asks the shared routers once per target: the first
// probes sent beyond the budget are discovery probes (Probe.Discovery),
// evidence of the path but not samples of the hop, since the router is
// expected to shed their answers.

// hopBucket is one router's token bucket, and the rate at which probes
// ask for it (decaying over hopDemandWindow).
type hopBucket struct {
	tokens, demand float64
	last           time.Time
}

// hopBudget holds the routers' buckets and what the flows learnt of the
// routers on their paths. It is pure (the caller gives the time) and
// owned by the core's loop; a nil *hopBudget limits nothing.
type hopBudget struct {
	rate, burst float64
	buckets     map[netip.Addr]hopBucket
	// rnd returns a number in [0, 1): which probes get a router's tokens
	// (nil: the first that comes, for tests).
	rnd func() float64
	// holdFirst holds back a flow's first probe at a TTL too (for tests:
	// the control of the rule that it always goes out).
	holdFirst bool
	// next maps a router (or a flow's root, for TTL 1) to the routers
	// most recently seen one TTL beyond it.
	next  map[netip.Addr]hopNext
	swept time.Time
}

// hopSweepEvery is how often buckets that have refilled and were not
// asked for a while are forgotten.
const hopSweepEvery = time.Minute

// hopDemandWindow is the time constant over which a router's demand (the
// probes a second that would expire at it) is averaged.
const hopDemandWindow = 10 * time.Second

// hopNextMax bounds the guesses kept; past it they are all forgotten.
const hopNextMax = 1 << 16

// newHopBudget returns the hop budget: rate ICMP errors a second asked of
// one router, in bursts of at most burst; nil (no limit) when rate is 0.
func newHopBudget(rate float64, burst int) *hopBudget {
	if rate <= 0 {
		return nil
	}
	return &hopBudget{rate: rate, burst: float64(max(1, burst)), rnd: rand.Float64,
		buckets: map[netip.Addr]hopBucket{}, next: map[netip.Addr]hopNext{}}
}

// hopBurstOf is the hop budget's burst: as configured, or five seconds'
// worth (at least one), one second less than a Linux router's, so that
// its bucket keeps a token to spare for the jitter of the network.
func hopBurstOf(o Options) int {
	if o.HopRateBurst > 0 {
		return o.HopRateBurst
	}
	return max(1, int(5*o.HopRateLimit))
}

// root is where a flow's chain of routers starts: its source address, or
// the unspecified address of its family.
func root(f *flow) netip.Addr {
	switch {
	case f.src.IsValid():
		return f.src
	case f.dst.Is4():
		return netip.IPv4Unspecified()
	default:
		return netip.IPv6Unspecified()
	}
}

// known is the responder the flow last saw at ttl; invalid when none.
func known(f *flow, ttl int) netip.Addr {
	if ttl <= len(f.hops) {
		return f.hops[ttl-1]
	}
	return netip.Addr{}
}

// hopDest stands, among the routers seen one TTL beyond a router, for a
// flow's destination: no router answers from the limited broadcast
// address.
var hopDest = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// routers returns the routers a probe of f with this TTL is expected to
// expire at: the one the flow saw answer there, or else every candidate
// along the chain of routers other flows saw beyond the flow's known
// ones (a load balancer's branches are all charged, so a wrong guess
// never asks one of them for more than its rate). The set is empty when
// the probe is not limited: the TTL is unknown, or it reaches the
// destination, or may: some flow's destination answered at that place
// of the chain, and the flow has seen no router beyond this TTL.
func (b *hopBudget) routers(f *flow, ttl int) hopSet {
	var cur hopSet
	if b == nil || ttl < 1 {
		return cur
	}
	if a := known(f, ttl); a.IsValid() {
		if a != f.dst {
			cur.add(a)
		}
		return cur
	}
	gap := ttl < lastRouter(f) // the flow's path goes on through a router
	cur.add(root(f))
	for t := 1; t <= ttl; t++ {
		var nxt hopSet
		if a := known(f, t); a.IsValid() {
			nxt.add(a)
		} else {
			for _, p := range cur.list() {
				x := b.next[p]
				for _, a := range x {
					nxt.add(a)
				}
			}
		}
		if nxt.has(hopDest) {
			if !gap {
				return hopSet{}
			}
			nxt.remove(hopDest)
		}
		if nxt.n == 0 || nxt.has(f.dst) {
			return hopSet{}
		}
		cur = nxt
	}
	return cur
}

// lastRouter is the highest TTL at which a router answered the flow; 0
// when none did.
func lastRouter(f *flow) int {
	for t := len(f.hops); t > 0; t-- {
		if a := f.hops[t-1]; a.IsValid() && a != f.dst {
			return t
		}
	}
	return 0
}

// allow decides whether a probe that would expire at the routers rs may
// go at now (it spends no token: see spend); every one of them must have
// a token. An empty set is never limited. When more probes ask for a
// router than its rate, each is let through with the chance rate/demand
// while it has a token, so that the samples are spread evenly over the
// targets that share it: rounds recur with fixed periods, and a token
// taken by whichever probe comes first would go to the same few targets
// for long stretches.
func (b *hopBudget) allow(rs *hopSet, now time.Time) bool {
	if b == nil || rs.n == 0 {
		return true
	}
	if now.Sub(b.swept) >= hopSweepEvery {
		b.sweep(now)
	}
	ok, demand := true, 0.0
	for _, r := range rs.list() {
		k, found := b.buckets[r]
		if !found {
			k = hopBucket{tokens: b.burst, last: now}
		}
		k = b.refill(k, now)
		k.demand += 1 / hopDemandWindow.Seconds()
		b.buckets[r] = k
		ok = ok && k.tokens >= 1
		demand = max(demand, k.demand)
	}
	if !ok {
		return false
	}
	return demand <= b.rate || b.rnd == nil || b.rnd() < b.rate/demand
}

// tried reports whether f has sent a probe with this TTL before. The
// first one always goes out (see spend), so that every TTL of a flow is
// probed at least once: a guess cannot hide the flow's destination. When
// the budget had no token for it, it is a discovery probe (Probe), kept
// out of the hop's statistics.
func (b *hopBudget) tried(f *flow, ttl int) bool {
	return b != nil && (b.holdFirst || f.tried[ttl/64&3]&(1<<(ttl%64)) != 0)
}

// untry forgets that f has probed the TTLs above ttl.
func untry(f *flow, ttl int) {
	for w := range f.tried {
		switch lo := w * 64; {
		case lo > ttl:
			f.tried[w] = 0
		case lo+64 > ttl+1:
			f.tried[w] &= 1<<(ttl+1-lo) - 1
		}
	}
}

// spend takes a token of every router of rs at now, as f sends a probe
// with this TTL: after allow let it go, or as its first with the TTL,
// which goes out even when a bucket is empty (it stays at 0, as the
// router's own does when it sheds).
func (b *hopBudget) spend(f *flow, ttl int, rs *hopSet, now time.Time) {
	if b == nil {
		return
	}
	f.tried[ttl/64&3] |= 1 << (ttl % 64)
	for _, r := range rs.list() {
		k, ok := b.buckets[r]
		if !ok {
			k = hopBucket{tokens: b.burst, last: now}
		}
		k = b.refill(k, now)
		k.tokens = max(0, k.tokens-1)
		b.buckets[r] = k
	}
}

// refill returns k with the tokens earned up to now, and its demand
// decayed to now.
func (b *hopBudget) refill(k hopBucket, now time.Time) hopBucket {
	if d := now.Sub(k.last); d > 0 {
		k.tokens = min(b.burst, k.tokens+d.Seconds()*b.rate)
		k.demand *= math.Exp(-d.Seconds() / hopDemandWindow.Seconds())
		k.last = now
	}
	return k
}

// sweep forgets the buckets that are full again by now and not asked for
// in the last hopSweepEvery (a forgotten one is as good as full, its
// demand about 0).
func (b *hopBudget) sweep(now time.Time) {
	b.swept = now
	for r, k := range b.buckets {
		if now.Sub(k.last) >= hopSweepEvery && b.refill(k, now).tokens >= b.burst {
			delete(b.buckets, r)
		}
	}
	if len(b.next) > hopNextMax {
		clear(b.next)
	}
}

// learn records that from answered a probe of f with this TTL: the
// destination (probes at this TTL and beyond reach it, and are never
// limited), or a router that sent an ICMP error (Time Exceeded or
// Destination Unreachable). Another responder than the flow knew there
// is a route change: the flow forgets what lies beyond and probes those
// TTLs once more, so a destination now nearer is found where a router
// was. Either is then also a guess one TTL beyond
// the flow's router at the TTL before (a destination as hopDest), and
// the flow's router or destination at the TTL after a guess beyond it.
func (b *hopBudget) learn(f *flow, ttl int, from netip.Addr, kind Kind) {
	if b == nil || ttl < 1 || !from.IsValid() {
		return
	}
	router := kind == KindTimeExceeded || kind == KindDestUnreachable
	if from != f.dst && !router {
		return
	}
	if old := known(f, ttl); old.IsValid() && old != from {
		// The route changed at ttl: what the flow knew beyond is stale
		// (a router there may now be the destination), so it probes
		// every TTL beyond once more.
		f.hops = f.hops[:ttl]
		untry(f, ttl)
	}
	if ttl > len(f.hops) {
		f.hops = append(f.hops, make([]netip.Addr, ttl-len(f.hops))...)
	}
	f.hops[ttl-1] = from
	if from == f.dst {
		f.hops = f.hops[:ttl]
		from = hopDest
	}
	// Replies of one round come in any order: link from to the routers
	// the flow knows on both sides.
	prev := root(f)
	if ttl > 1 {
		prev = f.hops[ttl-2]
	}
	if prev.IsValid() && prev != f.dst {
		b.link(prev, from)
	}
	if from == hopDest {
		return
	}
	if a := known(f, ttl+1); a == f.dst && a.IsValid() {
		b.link(from, hopDest)
	} else if a.IsValid() {
		b.link(from, a)
	}
}

// link records that router b was seen one TTL beyond a.
func (b *hopBudget) link(a, r netip.Addr) {
	x := b.next[a]
	if x[0] == r {
		return
	}
	x.push(r)
	b.next[a] = x
}
