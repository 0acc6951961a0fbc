package pathstate

import (
	"math"
	"net/netip"
	"sort"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// RTT summarizes the round-trip times of the replies at one hop.
type RTT struct {
	// N is the number of replies; the other fields are zero when N is 0.
	N                      int
	Mean, Min, Max, Stddev time.Duration
}

// Responder is one address that answered at a hop, with its reply count.
type Responder struct {
	Addr    netip.Addr
	Replies int
}

// Hop is the statistics of one TTL over an interval.
type Hop struct {
	TTL int
	// Sent counts the probes of this TTL, including any the socket refused
	// (they count as lost); Replies the replies to them.
	Sent, Replies int
	// Loss is 1 - Replies/Sent, 0 when nothing was sent.
	Loss float64
	RTT  RTT
	// Responders are every address that answered at this TTL, most
	// replies first.
	Responders []Responder
}

// Interval is what one tracer result says about the path.
type Interval struct {
	Start, End time.Time
	// Hops is the destination's TTL, or where Destination Unreachable
	// stopped the trace, or else the last TTL that answered (0: none did).
	Hops int
	// Reached is true when the destination answered.
	Reached bool
	// Ended is true when the trace ended at Hops for a known reason
	// (reached, or Destination Unreachable); false means the hops beyond
	// Hops were merely silent.
	Ended bool
	// Certain is true when Ended and the TTL before Hops answered as a
	// router in a round that ended at Hops, so Hops is exact. A lost probe
	// at the destination's TTL makes the next TTL reach it, and such an
	// end only bounds the hop count from above.
	Certain bool
	// Unreachable holds the ICMP code of the Destination Unreachable that
	// ended the trace, or -1.
	Unreachable int
	// HopStats has one entry per TTL 1..Hops.
	HopStats []Hop
	// Path is the responder of each TTL 1..Hops that defines the current
	// path (invalid where the TTL was silent).
	Path []netip.Addr
	// Dest is the destination's own statistics (the hop at its TTL); when
	// it was not reached, Dest.Loss is 1.
	Dest Hop
	// Sent counts the probes that went out and Replies their replies;
	// SendFailed the probes the socket refused (they count as lost in the
	// per-hop loss, but not as sent).
	Sent, Replies, SendFailed int
}

// Summarize reduces one tracer result to per-hop statistics and the path.
//
// The path is taken from the most recent rounds only: those after the last
// round whose certain end (see Interval.Certain) was at another TTL. A
// route that changes in mid-interval therefore shows up once, as the new
// path, instead of as a mix of the two that would change again in the next
// interval. Within those rounds each TTL's path responder is the one that
// answered most often.
func Summarize(r tracer.Result) Interval {
	in := Interval{Start: r.Start, End: r.End, Unreachable: -1}
	ends := make([]int, r.Rounds) // per round: lowest TTL that ended the trace
	endKind := make([]tracer.Kind, r.Rounds)
	lastReply := 0
	for _, p := range r.Probes {
		if p.SendFailed {
			in.SendFailed++
			continue
		}
		in.Sent++
		if p.Kind == tracer.KindNone {
			continue
		}
		in.Replies++
		if p.TTL > lastReply {
			lastReply = p.TTL
		}
		if p.Kind == tracer.KindEchoReply || p.Kind == tracer.KindDestUnreachable {
			if ends[p.Round] == 0 || p.TTL < ends[p.Round] {
				ends[p.Round], endKind[p.Round] = p.TTL, p.Kind
			}
		}
	}
	first, last := segment(r, ends)
	switch {
	case last >= 0:
		in.Hops, in.Ended, in.Certain = ends[last], true, true
		in.Reached = endKind[last] == tracer.KindEchoReply
	default:
		// No round's end is certain: the lowest end is the best bound.
		for i, e := range ends {
			if e > 0 && (in.Hops == 0 || e < in.Hops) {
				in.Hops, in.Ended = e, true
				in.Reached = endKind[i] == tracer.KindEchoReply
			}
		}
	}
	if !in.Ended {
		in.Hops = lastReply
	}
	in.HopStats = make([]Hop, in.Hops)
	counts := make([]map[netip.Addr]int, in.Hops)
	for i := range in.HopStats {
		in.HopStats[i].TTL = i + 1
		counts[i] = map[netip.Addr]int{}
	}
	rtts := make([][]time.Duration, in.Hops)
	for _, p := range r.Probes {
		if p.TTL > in.Hops {
			continue
		}
		h := &in.HopStats[p.TTL-1]
		h.Sent++
		if p.Kind == tracer.KindNone {
			continue
		}
		h.Replies++
		rtts[p.TTL-1] = append(rtts[p.TTL-1], p.RTT)
		h.Responders = addResponder(h.Responders, p.From)
		if p.Round >= first {
			counts[p.TTL-1][p.From]++
		}
		if p.Kind == tracer.KindDestUnreachable && p.TTL == in.Hops && in.Ended && !in.Reached {
			in.Unreachable = int(p.Code)
		}
	}
	in.Path = make([]netip.Addr, in.Hops)
	for i := range in.HopStats {
		h := &in.HopStats[i]
		h.Loss = lossRatio(h.Sent, h.Replies)
		h.RTT = summarizeRTT(rtts[i])
		sortResponders(h.Responders)
		in.Path[i] = dominant(counts[i])
	}
	in.Dest = Hop{TTL: in.Hops, Sent: r.Rounds, Loss: 1}
	if in.Reached {
		in.Dest = in.HopStats[in.Hops-1]
	}
	return in
}

// segment finds the last round whose end is certain (the TTL before its
// end answered Time Exceeded) and the first round of the run of rounds
// that agree with it: the rounds after the last certain end at another
// TTL. It returns last = -1 when no end is certain.
func segment(r tracer.Result, ends []int) (first, last int) {
	routerAt := make([]map[int]bool, len(ends))
	for _, p := range r.Probes {
		if p.Kind == tracer.KindTimeExceeded {
			if routerAt[p.Round] == nil {
				routerAt[p.Round] = map[int]bool{}
			}
			routerAt[p.Round][p.TTL] = true
		}
	}
	certain := func(i int) bool { return ends[i] == 1 || (ends[i] > 1 && routerAt[i][ends[i]-1]) }
	last = -1
	for i := len(ends) - 1; i >= 0; i-- {
		if ends[i] == 0 || !certain(i) {
			continue
		}
		if last < 0 {
			last = i
		} else if ends[i] != ends[last] {
			return i + 1, last
		}
	}
	return 0, last
}

func addResponder(rs []Responder, a netip.Addr) []Responder {
	for i := range rs {
		if rs[i].Addr == a {
			rs[i].Replies++
			return rs
		}
	}
	return append(rs, Responder{Addr: a, Replies: 1})
}

func sortResponders(rs []Responder) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Replies != rs[j].Replies {
			return rs[i].Replies > rs[j].Replies
		}
		return rs[i].Addr.Less(rs[j].Addr)
	})
}

// dominant returns the address with most replies (ties: the lowest address).
func dominant(counts map[netip.Addr]int) netip.Addr {
	var best netip.Addr
	n := 0
	for a, c := range counts {
		if c > n || (c == n && a.Less(best)) {
			best, n = a, c
		}
	}
	return best
}

func lossRatio(sent, replies int) float64 {
	if sent == 0 {
		return 0
	}
	return 1 - float64(replies)/float64(sent)
}

// summarizeRTT returns mean, min, max and population standard deviation.
func summarizeRTT(ds []time.Duration) RTT {
	if len(ds) == 0 {
		return RTT{}
	}
	s := RTT{N: len(ds), Min: ds[0], Max: ds[0]}
	var sum float64
	for _, d := range ds {
		sum += float64(d)
		s.Min = min(s.Min, d)
		s.Max = max(s.Max, d)
	}
	mean := sum / float64(len(ds))
	var sq float64
	for _, d := range ds {
		sq += (float64(d) - mean) * (float64(d) - mean)
	}
	s.Mean = time.Duration(math.Round(mean))
	s.Stddev = time.Duration(math.Round(math.Sqrt(sq / float64(len(ds)))))
	return s
}
