package pathstate

import (
	"hash/fnv"
	"net/netip"
	"strconv"
)

// hashBits is the width of a path hash: 52 bits fit a float64's mantissa,
// so the hash survives the trip through a Prometheus sample exactly.
const hashBits = 52

// Path is a path's identity: its hop count and the responder of each TTL.
// An invalid address is a wildcard: no TTL ever answered there.
type Path struct {
	Hops  int
	Addrs []netip.Addr
}

// Known reports whether the path has been established.
func (p Path) Known() bool { return p.Hops > 0 }

// Next returns the path after interval in, given the previous path prev.
//
// Silent TTLs are wildcards: a TTL with no reply keeps prev's responder,
// and when the trace did not end for a known reason (the destination did
// not answer and no Destination Unreachable came), silent TTLs at the end
// keep prev's hop count, and so does an end that is not certain (see
// Interval.Certain). A lost probe or a silent hop therefore never
// changes the path. An interval in which nothing answered leaves it as is.
func Next(prev Path, in Interval) Path {
	if in.Hops == 0 {
		return prev
	}
	hops := in.Hops
	switch {
	case !in.Ended && prev.Hops > hops:
		hops = prev.Hops
	case in.Ended && !in.Certain && prev.Known():
		// Lost probes at the destination's TTL: the end is only a bound.
		hops = prev.Hops
	}
	next := Path{Hops: hops, Addrs: make([]netip.Addr, hops)}
	for i := range next.Addrs {
		switch {
		case i < len(in.Path) && in.Path[i].IsValid():
			next.Addrs[i] = in.Path[i]
		case i < len(prev.Addrs):
			next.Addrs[i] = prev.Addrs[i]
		}
	}
	return next
}

// Changed reports whether next is a different path from prev: another hop
// count, or a TTL answered by another address. A TTL that answers for the
// first time (a wildcard filled in) is not a change.
func Changed(prev, next Path) bool {
	if !prev.Known() {
		return false
	}
	if prev.Hops != next.Hops {
		return true
	}
	for i, a := range next.Addrs {
		if a.IsValid() && prev.Addrs[i].IsValid() && a != prev.Addrs[i] {
			return true
		}
	}
	return false
}

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
