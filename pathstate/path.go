package pathstate

import (
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
)

// hashBits is the width of a path hash: 52 bits fit a float64's mantissa,
// so the hash survives the trip through a Prometheus sample exactly.
const hashBits = 52

// Path is a path's identity: its hop count and the responder of each TTL.
// An invalid address is a wildcard: no reply identified that TTL when the
// path was established. The identity is fixed when a path is established
// or a change is confirmed; responders seen later at a wildcard TTL are
// kept beside it (Snapshot.Hops) and do not change it, so the hash moves
// exactly when a change is counted.
type Path struct {
	Hops  int
	Addrs []netip.Addr
}

// Known reports whether the path has been established.
func (p Path) Known() bool { return p.Hops > 0 }

// Hash returns a stable 52-bit hash of the hop count and responders
// (FNV-1a over their text form, with "*" for a wildcard). The same path
// hashes to the same value on every machine and across restarts.
func (p Path) Hash() uint64 {
	h := fnv.New64a()
	h.Write([]byte(strconv.Itoa(p.Hops)))
	for _, a := range p.Addrs {
		h.Write([]byte{'|'})
		if a.IsValid() {
			h.Write([]byte(a.String()))
		} else {
			h.Write([]byte{'*'})
		}
	}
	return h.Sum64() & (1<<hashBits - 1)
}

// String lists the responders, "*" for a wildcard, separated by spaces.
func (p Path) String() string { return addrList(p.Addrs) }

func addrList(as []netip.Addr) string {
	var b strings.Builder
	for i, a := range as {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a.IsValid() {
			b.WriteString(a.String())
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// view is the tracker's knowledge of one path: its identity, the
// responder currently known at each TTL (the identity's, or one seen later
// at a wildcard TTL), whether the destination answered on it, and the
// highest TTL a router answered from on it (the destination lies beyond).
type view struct {
	id      Path
	seen    []netip.Addr
	reached bool
	lo      int
}

func (v *view) hops() int { return v.id.Hops }

// conflicts reports whether round r is evidence that the path is not v:
// a TTL answered by another router, a router answering at or beyond the
// TTL at which the destination answered, or the trace ending (Echo Reply
// or Unreachable) at or before a TTL a router answered from.
func (v *view) conflicts(r *roundEv) bool {
	for t, a := range r.te {
		ttl := t + 1
		if !a.IsValid() {
			continue
		}
		if v.reached && ttl >= v.hops() {
			return true
		}
		if ttl <= len(v.seen) && v.seen[t].IsValid() && v.seen[t] != a {
			return true
		}
	}
	return r.end > 0 && r.end <= v.lo
}

// softLonger reports whether r suggests the destination moved beyond v's
// hop count h: the probe at TTL h went out and got no reply at all while
// the one at h+1 got an Echo Reply. Loss alone produces such rounds too
// (the two probes are equally likely to fail when the destination is at
// h), so only a long run of them counts (see softConfirm). A TTL whose
// probe was never sent (held back by a budget, refused by the socket) is
// a wildcard, not such evidence.
func (v *view) softLonger(r *roundEv) bool {
	h := v.hops()
	return v.reached && r.end > h && h+1 <= len(r.replied) && r.probed[h-1] && !r.replied[h-1] && r.echoAt(h+1)
}

// refine folds a round consistent with v into it: responders at wildcard
// TTLs, a higher router TTL, and a better known end. Refinements are not
// changes: the identity's hop count only moves when the destination's
// distance becomes better known (it answers where it was silent, or at a
// TTL below an earlier upper bound that no router contradicts).
func (v *view) refine(r *roundEv) {
	for t, a := range r.te {
		if a.IsValid() && t < len(v.seen) && !v.seen[t].IsValid() {
			v.seen[t] = a
		}
		if a.IsValid() && t+1 > v.lo && (!v.reached || t+1 < v.hops()) {
			v.lo = t + 1
		}
	}
	switch {
	case r.end > 0 && !v.reached && r.endKind == kindEcho:
		v.resize(r.end)
		v.reached = true
		v.seen[r.end-1], v.id.Addrs[r.end-1] = r.endFrom, r.endFrom
	case r.end > 0 && v.reached && r.end > v.lo && r.end < v.hops():
		v.resize(r.end)
		v.seen[r.end-1], v.id.Addrs[r.end-1] = r.endFrom, r.endFrom
	case !v.reached && v.lo > v.hops():
		v.resize(v.lo)
		v.seen[v.lo-1], v.id.Addrs[v.lo-1] = r.te[v.lo-1], r.te[v.lo-1]
	}
}

// resize sets the hop count, keeping the responders of the TTLs kept.
func (v *view) resize(hops int) {
	grow := func(as []netip.Addr) []netip.Addr {
		out := make([]netip.Addr, hops)
		copy(out, as)
		return out
	}
	v.id = Path{Hops: hops, Addrs: grow(v.id.Addrs)}
	v.seen = grow(v.seen)
	if v.lo >= hops {
		v.lo = hops - 1
	}
}

// sameAs reports whether w describes the same path as v: the same hop
// count and no TTL answered by different routers.
func (v *view) sameAs(w *view) bool {
	if v.hops() != w.hops() || v.reached != w.reached {
		return false
	}
	for i := range v.seen {
		if v.seen[i].IsValid() && w.seen[i].IsValid() && v.seen[i] != w.seen[i] {
			return false
		}
	}
	return true
}

func (v *view) clone() *view {
	c := *v
	c.id.Addrs = append([]netip.Addr(nil), v.id.Addrs...)
	c.seen = append([]netip.Addr(nil), v.seen...)
	return &c
}
