package pathstate

// The rules by which a path change is declared (also in the README):
//
//   - A round conflicts with the current path when a TTL is answered by
//     another router, a router answers at or beyond the TTL at which the
//     destination answered, or the trace ends (Echo Reply or Unreachable)
//     at or before a TTL a router answered from. Silence never conflicts:
//     a lost probe, a rate-limited or silent router is a wildcard.
//   - A conflict opens a candidate: the rounds from the first conflicting
//     one on. A later round that contradicts the candidate but not the
//     current path discards it.
//   - The change is confirmed, and counted once, when two rounds conflict
//     (they may lie in different intervals), or one conflicts and two
//     rounds show the destination answering at the TTL after its own while
//     the probe at its TTL got no reply at all, or softConfirm such rounds
//     come without the destination answering at its TTL in between (a path
//     that got longer behind a silent router; see softConfirm for why loss
//     alone practically never does that).
//   - The new path is built from the candidate's rounds only, never mixed
//     with the old one; if it is one of the recent paths, that path's
//     identity is taken again, so a route that flips back hashes as before.

// softConfirm is the run of rounds, each with an Echo Reply at the TTL
// after the destination's and no reply at its TTL, that confirms a longer
// path without any conflicting reply. When the destination has not moved,
// both probes fail or succeed alike, so each informative round is such a
// round with probability at most 1/2 (about 0.39 with 40% loss in each
// direction); a run of 16 happens by chance about once in 3 million runs.
// A real lengthening with no loss is found after 16 rounds: within two
// intervals of the default 10 probes.
const softConfirm = 16

// recentPaths is how many earlier paths are kept to recognise a return.
const recentPaths = 4

// tracker follows one target's path across rounds and intervals.
type tracker struct {
	cur  *view
	cand []roundEv
	hard int // rounds of cand that conflict with cur
	// hardAt is the index in cand of the first conflicting round: a path
	// confirmed by conflicts is built from there on, so rounds before the
	// switch (soft evidence from loss on the old path) never mix in.
	hardAt int
	soft   int // consecutive rounds with the destination only beyond its TTL
	recent []*view
}

// change is one confirmed path change.
type change struct {
	before, after *view
}

// observe folds one interval's rounds into the tracker and returns the
// changes confirmed. Before the first path is known, the first interval
// with any reply establishes it, which is not a change.
func (tr *tracker) observe(rs []roundEv) []change {
	if tr.cur == nil {
		tr.cur = viewFrom(rs)
		return nil
	}
	var out []change
	for i := range rs {
		if c := tr.step(&rs[i]); c != nil {
			out = append(out, *c)
		}
	}
	return out
}

// step folds one round in.
func (tr *tracker) step(r *roundEv) *change {
	cur := tr.cur
	conflict := cur.conflicts(r)
	soft := !conflict && cur.softLonger(r)
	switch {
	case soft:
		tr.soft++
	case r.end > 0 && r.end <= cur.hops():
		tr.soft = 0
	}
	if len(tr.cand) > 0 {
		if !conflict && !soft {
			if cv := viewFrom(tr.cand); cv != nil && cv.conflicts(r) {
				tr.reset() // r supports the current path against the candidate
			}
		}
		if tr.soft == 0 && tr.hard == 0 {
			tr.reset()
		}
	}
	switch {
	case conflict:
		if tr.hard == 0 {
			tr.hardAt = len(tr.cand)
		}
		tr.hard++
		tr.cand = append(tr.cand, *r)
	case soft:
		tr.cand = append(tr.cand, *r)
	case len(tr.cand) > 0:
		tr.cand = append(tr.cand, *r)
		cur.refine(r)
	default:
		cur.refine(r)
	}
	if tr.hard >= 2 || (tr.hard >= 1 && tr.soft >= 2) || tr.soft >= softConfirm {
		return tr.confirm()
	}
	return nil
}

// confirm replaces the current path with the candidate's.
func (tr *tracker) confirm() *change {
	rs := tr.cand
	if tr.hard > 0 {
		rs = rs[tr.hardAt:]
	}
	next := viewFrom(rs)
	tr.reset()
	if next == nil || next.sameAs(tr.cur) {
		return nil
	}
	for _, old := range tr.recent {
		if old.sameAs(next) {
			// The path came back: take its identity again, with what is
			// now known of its responders.
			id := old.id
			for i := range next.seen {
				if !next.seen[i].IsValid() {
					next.seen[i] = old.seen[i]
				}
			}
			next.id = Path{Hops: id.Hops, Addrs: append(id.Addrs[:0:0], id.Addrs...)}
			next.lo = max(next.lo, old.lo)
			break
		}
	}
	prev := tr.cur
	tr.remember(prev)
	tr.cur = next
	return &change{before: prev, after: next.clone()}
}

func (tr *tracker) remember(v *view) {
	for i, old := range tr.recent {
		if old.id.Hash() == v.id.Hash() {
			tr.recent = append(tr.recent[:i], tr.recent[i+1:]...)
			break
		}
	}
	tr.recent = append([]*view{v.clone()}, tr.recent...)
	if len(tr.recent) > recentPaths {
		tr.recent = tr.recent[:recentPaths]
	}
}

func (tr *tracker) reset() {
	tr.cand, tr.hard, tr.hardAt, tr.soft = nil, 0, 0, 0
}
