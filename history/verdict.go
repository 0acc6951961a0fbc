package history

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// The verdicts of a path change.
const (
	Worse   = "worse"
	Better  = "better"
	Neutral = "neutral"
)

// Criteria say how much a path change must move the destination's RTT and
// loss to count as worse or better.
type Criteria struct {
	// RTTRatio and RTTMargin: the RTT got worse when the new RTT exceeds
	// the old one both by the factor RTTRatio and by the absolute
	// RTTMargin (both, so neither a jitter of a few microseconds on a
	// short path nor a few milliseconds on a long one counts); better by
	// the mirror condition. RTTRatio is at least 1.
	RTTRatio  float64
	RTTMargin time.Duration
	// LossMargin: the loss got worse when the new loss ratio exceeds the
	// old one by more than LossMargin (a ratio, 0.05 = 5 points); better
	// by the mirror condition.
	LossMargin float64
}

// DefaultCriteria: RTT up by more than 20% and more than 5ms, loss up by
// more than 5 percentage points.
var DefaultCriteria = Criteria{RTTRatio: 1.2, RTTMargin: 5 * time.Millisecond, LossMargin: 0.05}

// Validate reports criteria that cannot be meant.
func (c Criteria) Validate() error {
	var errs []error
	if !(c.RTTRatio >= 1) {
		errs = append(errs, fmt.Errorf("rtt ratio %v: must be at least 1", c.RTTRatio))
	}
	if c.RTTMargin < 0 {
		errs = append(errs, fmt.Errorf("rtt margin %v: must not be negative", c.RTTMargin))
	}
	if !(c.LossMargin >= 0 && c.LossMargin < 1) {
		errs = append(errs, fmt.Errorf("loss margin %v: must be in [0, 1)", c.LossMargin))
	}
	return errors.Join(errs...)
}

// Judge compares the state before and after a path change and returns
// Worse, Better or Neutral. The criteria, each with its mirror image:
//
//   - reachability: the destination no longer answers (worse) or answers
//     again (better). The other criteria apply only when the destination
//     answered both before and after: the hop count and AS path of a trace
//     that never arrived say where it gave up, not how long the path is,
//     and its RTT and loss are not the destination's.
//   - hop count: more hops (worse) or fewer (better); skipped when either
//     count is 0 (unknown).
//   - AS path: more ASes (worse) or fewer (better); skipped when either AS
//     path is empty (no ASN database, or no hop known in it).
//   - BGP AS path: the AS path of the BGP route covering the target got
//     longer (worse) or shorter (better); skipped when either length is 0
//     (no BGP, or no route on that side).
//   - destination RTT: see Criteria.RTTRatio; skipped when either RTT is 0.
//   - destination loss: see Criteria.LossMargin; skipped when either is NaN.
//
// Any worse criterion makes the change worse, even if others improved
// (an alert should not be silenced by a shorter path that lost packets);
// otherwise any better criterion makes it better; otherwise neutral.
func Judge(before, after Snapshot, c Criteria) string {
	v := Neutral
	for _, f := range findings(before, after, c) {
		if f.worse {
			return Worse
		}
		v = Better
	}
	return v
}

// Explain lists the criteria that fired, as "worse: ..." and "better:
// ..." phrases, for logs and the API.
func Explain(before, after Snapshot, c Criteria) []string {
	var out []string
	for _, f := range findings(before, after, c) {
		verdict := Better
		if f.worse {
			verdict = Worse
		}
		out = append(out, verdict+": "+f.what)
	}
	return out
}

type finding struct {
	worse bool
	what  string
}

func findings(b, a Snapshot, c Criteria) []finding {
	var out []finding
	add := func(worse, better bool, format string, args ...any) {
		if worse || better {
			out = append(out, finding{worse: worse, what: fmt.Sprintf(format, args...)})
		}
	}
	if b.Reached != a.Reached {
		add(b.Reached, a.Reached, "destination reached %v -> %v", b.Reached, a.Reached)
		return out
	}
	if !a.Reached {
		return nil
	}
	if b.Hops > 0 && a.Hops > 0 {
		add(a.Hops > b.Hops, a.Hops < b.Hops, "hops %d -> %d", b.Hops, a.Hops)
	}
	if len(b.ASPath) > 0 && len(a.ASPath) > 0 {
		add(len(a.ASPath) > len(b.ASPath), len(a.ASPath) < len(b.ASPath), "AS path length %d -> %d", len(b.ASPath), len(a.ASPath))
	}
	if b.BGPASPathLength > 0 && a.BGPASPathLength > 0 {
		add(a.BGPASPathLength > b.BGPASPathLength, a.BGPASPathLength < b.BGPASPathLength, "BGP AS path length %d -> %d", b.BGPASPathLength, a.BGPASPathLength)
	}
	if b.DestRTT > 0 && a.DestRTT > 0 {
		add(rttUp(b.DestRTT, a.DestRTT, c), rttUp(a.DestRTT, b.DestRTT, c), "destination RTT %v -> %v", b.DestRTT, a.DestRTT)
	}
	if !math.IsNaN(b.DestLoss) && !math.IsNaN(a.DestLoss) {
		add(a.DestLoss-b.DestLoss > c.LossMargin, b.DestLoss-a.DestLoss > c.LossMargin, "destination loss %.3g -> %.3g", b.DestLoss, a.DestLoss)
	}
	return out
}

// rttUp tells whether to exceeds from by both the ratio and the margin.
func rttUp(from, to time.Duration, c Criteria) bool {
	return float64(to) > float64(from)*c.RTTRatio && to-from > c.RTTMargin
}

// DiffTTLs returns, in increasing order, the TTLs whose responder differs
// between two paths: a TTL present in only one of them (the hop count
// changed), or answered by different addresses in both. A hop that did not
// answer (zero Addr) on one side is a wildcard and differs from nothing,
// as in the exporter's path identity. Names and ASNs are not compared:
// they follow from the address.
func DiffTTLs(before, after []Hop) []int {
	b, a := byTTL(before), byTTL(after)
	var out []int
	for ttl, x := range b {
		y, ok := a[ttl]
		if !ok || (x.IsValid() && y.IsValid() && x != y) {
			out = append(out, ttl)
		}
	}
	for ttl := range a {
		if _, ok := b[ttl]; !ok {
			out = append(out, ttl)
		}
	}
	slices.Sort(out)
	return out
}
