package pathstate

import (
	"net/netip"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

const (
	kindEcho  = tracer.KindReached
	kindUnrch = tracer.KindDestUnreachable
)

// roundEv is what one round of probes says about the path.
type roundEv struct {
	// te is the Time Exceeded responder at each TTL (index TTL-1;
	// invalid: none).
	te []netip.Addr
	// replied tells, for each TTL probed, whether any reply came; probed
	// whether any probe of it went out (one held back by a budget or
	// refused by the socket is not evidence of anything).
	replied, probed []bool
	// end is the lowest TTL whose probe reached the destination (Echo
	// Reply) or was stopped by Destination Unreachable; 0 when none was.
	end     int
	endKind tracer.Kind
	endFrom netip.Addr
	// echo tells, for each TTL probed, whether the destination answered.
	echo []bool
}

// echoAt reports whether the destination answered the probe at ttl.
func (r *roundEv) echoAt(ttl int) bool { return ttl <= len(r.echo) && r.echo[ttl-1] }

// rounds splits a result into per-round evidence, in send order. Probes
// the socket refused are not evidence of anything.
func rounds(r tracer.Result) []roundEv {
	out := make([]roundEv, r.Rounds)
	width := make([]int, r.Rounds) // highest TTL probed per round
	total := 0
	for _, p := range r.Probes {
		if p.Round < len(out) && p.TTL > width[p.Round] {
			total += p.TTL - width[p.Round]
			width[p.Round] = p.TTL
		}
	}
	// One backing array per field for all rounds.
	te, replied, probed, echo := make([]netip.Addr, total), make([]bool, total), make([]bool, total), make([]bool, total)
	off := 0
	for i, w := range width {
		out[i].te, out[i].replied, out[i].echo = te[off:off+w:off+w], replied[off:off+w:off+w], echo[off:off+w:off+w]
		out[i].probed = probed[off : off+w : off+w]
		off += w
	}
	for _, p := range r.Probes {
		if p.Round >= len(out) || p.TTL < 1 || p.SendFailed {
			continue
		}
		rd := &out[p.Round]
		rd.probed[p.TTL-1] = true
		if p.Kind == tracer.KindNone {
			continue
		}
		rd.replied[p.TTL-1] = true
		switch p.Kind {
		case tracer.KindTimeExceeded:
			rd.te[p.TTL-1] = p.From
		case tracer.KindReached, tracer.KindDestUnreachable:
			rd.echo[p.TTL-1] = p.Kind == tracer.KindReached
			if rd.end == 0 || p.TTL < rd.end {
				rd.end, rd.endKind, rd.endFrom = p.TTL, p.Kind, p.From
			}
		}
	}
	return out
}

// viewFrom builds the path that a run of rounds shows: the lowest end of
// any round is the destination's TTL (or where Unreachable stopped the
// trace); without one, the highest TTL a router answered from. Each TTL's
// responder is the one that answered there most often. It returns nil
// when nothing answered.
func viewFrom(rs []roundEv) *view {
	var v view
	end, maxTE := 0, 0
	var endFrom netip.Addr
	for i := range rs {
		r := &rs[i]
		if r.end > 0 && (end == 0 || r.end < end) {
			end, endFrom, v.reached = r.end, r.endFrom, r.endKind == kindEcho
		}
	}
	for i := range rs {
		for t, a := range rs[i].te {
			if a.IsValid() && t+1 > maxTE && (end == 0 || t+1 < end) {
				maxTE = t + 1
			}
		}
	}
	hops := end
	if hops == 0 {
		hops = maxTE
	}
	if hops == 0 {
		return nil
	}
	v.seen = make([]netip.Addr, hops)
	for t := range v.seen {
		v.seen[t] = dominant(rs, t)
	}
	if end > 0 {
		v.seen[end-1] = endFrom
	}
	v.lo = min(maxTE, hops-1)
	v.id = Path{Hops: hops, Addrs: append([]netip.Addr(nil), v.seen...)}
	return &v
}

// dominant returns the router that answered most often at TTL index t
// (ties: the lowest address).
func dominant(rs []roundEv, t int) netip.Addr {
	var best netip.Addr
	n := 0
	counts := map[netip.Addr]int{}
	for i := range rs {
		if t < len(rs[i].te) && rs[i].te[t].IsValid() {
			a := rs[i].te[t]
			counts[a]++
			if c := counts[a]; c > n || (c == n && a.Less(best)) {
				best, n = a, c
			}
		}
	}
	return best
}
