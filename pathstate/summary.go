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
	// (they count as lost) and none the hop budget held back or sent only
	// for discovery (tracer.Probe.Discovery); Replies the replies to them.
	Sent, Replies int
	// Loss is 1 - Replies/Sent, 0 when nothing was sent.
	Loss float64
	// ForwardLoss is the share of probes at this TTL lost in a round in
	// which every later TTL of the path was lost too: loss that persists
	// to the destination, as mtr's documentation teaches to read it. A
	// router that rate-limits its own ICMP replies has loss but no
	// forward loss.
	ForwardLoss float64
	RTT         RTT
	// Responders are every address that answered at this TTL, most
	// replies first.
	Responders []Responder
	// MPLS and Interface are the last label stack and interface the hop's
	// ICMP extensions gave in the interval (empty: none).
	MPLS, Interface string
	// Unreachable is the ICMP code of the last Destination Unreachable
	// that answered at this TTL in the interval, or -1.
	Unreachable int
}

// Interval is the statistics of one interval of tracing, per TTL of the
// target's path.
type Interval struct {
	Start, End time.Time
	// Dst is the address traced.
	Dst netip.Addr
	// Reached is true when the destination answered in this interval.
	Reached bool
	// Unreachable holds the ICMP code of a Destination Unreachable that
	// ended the trace at the path's last hop, or -1.
	Unreachable int
	// HopStats has one entry per TTL 1..hops of the path.
	HopStats []Hop
	// Dest is the destination's own statistics: the Echo Replies at the
	// path's last TTL. When the path does not reach the destination,
	// Dest.Loss is 1.
	Dest Hop
	// Sent counts the probes that went out and Replies their replies;
	// SendFailed the probes the socket refused (they count as lost in the
	// per-hop loss, but not as sent).
	Sent, Replies, SendFailed int
}

// Summarize reduces one tracer result to per-hop statistics over TTLs
// 1..hops (the hop count of the target's path; probes beyond it are the
// tracer's look-ahead and are not reported per hop). reached says whether
// the path's last hop is the destination.
func Summarize(r tracer.Result, hops int, reached bool) Interval {
	in := Interval{Start: r.Start, End: r.End, Dst: r.Dst, Unreachable: -1}
	in.HopStats = make([]Hop, hops)
	for i := range in.HopStats {
		in.HopStats[i].TTL, in.HopStats[i].Unreachable = i+1, -1
	}
	rtts := make([][]time.Duration, hops)
	var dest []time.Duration
	in.Dest = Hop{TTL: hops}
	for _, p := range r.Probes {
		if p.SendFailed {
			in.SendFailed++
		} else {
			in.Sent++
		}
		if p.Kind != tracer.KindNone {
			in.Replies++
		}
		if p.Kind == tracer.KindReached {
			in.Reached = true
		}
		if p.TTL < 1 || p.TTL > hops || p.Discovery {
			// Discovery probes went out beyond the hop budget: evidence
			// of the path, not samples of the hop (its router may well
			// shed their answers).
			continue
		}
		h := &in.HopStats[p.TTL-1]
		h.Sent++
		if p.TTL == hops {
			in.Dest.Sent++
		}
		if p.Kind == tracer.KindNone {
			continue
		}
		h.Replies++
		if p.MPLS != "" {
			h.MPLS = p.MPLS
		}
		if p.Interface != "" {
			h.Interface = p.Interface
		}
		if p.Kind == tracer.KindDestUnreachable {
			h.Unreachable = int(p.Code)
		}
		rtts[p.TTL-1] = append(rtts[p.TTL-1], p.RTT)
		h.Responders = addResponder(h.Responders, p.From)
		if p.TTL == hops && p.Kind == tracer.KindReached {
			in.Dest.Replies++
			dest = append(dest, p.RTT)
		}
		if p.TTL == hops && p.Kind == tracer.KindDestUnreachable && !reached {
			in.Unreachable = int(p.Code)
		}
	}
	fwd := forwardLost(r, hops)
	for i := range in.HopStats {
		h := &in.HopStats[i]
		h.Loss = lossRatio(h.Sent, h.Replies)
		if h.Sent > 0 {
			h.ForwardLoss = float64(fwd[i]) / float64(h.Sent)
		}
		h.RTT = summarizeRTT(rtts[i])
		sortResponders(h.Responders)
	}
	in.Dest.Loss = lossRatio(in.Dest.Sent, in.Dest.Replies)
	in.Dest.RTT = summarizeRTT(dest)
	if !reached {
		in.Dest = Hop{TTL: hops, Sent: in.Dest.Sent, Loss: 1}
	}
	return in
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

// forwardLost counts, per TTL 1..hops, the probes lost in rounds where
// every later TTL up to hops was lost as well. A round that did not probe
// up to hops (the path got longer meanwhile) says nothing about the TTLs
// it did not reach, and a refused probe counts as lost, as in Loss.
func forwardLost(r tracer.Result, hops int) []int {
	out := make([]int, hops)
	if hops == 0 {
		return out
	}
	limit := make([]int, r.Rounds)    // highest TTL probed, per round
	answered := make([]int, r.Rounds) // highest TTL <= hops that answered, per round
	for _, p := range r.Probes {
		if p.Round >= r.Rounds || p.TTL < 1 {
			continue
		}
		limit[p.Round] = max(limit[p.Round], p.TTL)
		if p.Kind != tracer.KindNone && p.TTL <= hops {
			answered[p.Round] = max(answered[p.Round], p.TTL)
		}
	}
	for _, p := range r.Probes {
		if p.Round >= r.Rounds || p.TTL < 1 || p.TTL > hops || limit[p.Round] < hops {
			continue
		}
		if p.Kind == tracer.KindNone && p.TTL > answered[p.Round] && !p.Discovery {
			out[p.TTL-1]++
		}
	}
	return out
}
