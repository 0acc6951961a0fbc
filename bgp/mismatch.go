package bgp

// Mismatch tells whether the AS path seen by tracing is inconsistent with
// the AS path of the announced route covering the destination. The rule:
//
//  1. traced is the sequence of distinct consecutive known AS numbers of
//     the traced hops (hops whose address is in no AS are left out);
//     every occurrence of the local AS (the exporter's own network,
//     which the announced path does not include over iBGP and starts
//     with over eBGP only when the neighbor is in it) is removed.
//  2. announced is the route's AS path with prepends collapsed (an AS
//     repeated in a row counts once).
//  3. The paths are consistent when traced is a subsequence of
//     announced: every AS the packets were seen in is on the announced
//     path, in the announced order. Unknown or silent hops may hide
//     ASes, so a traced path shorter than the announced one is
//     consistent; an AS the announcement does not contain, or two ASes
//     in the opposite order, is a mismatch. That is what an origin
//     hijack, a route leak through another network or a forwarding
//     policy that disagrees with the routing look like.
//
// ok is false (no verdict) when either side is empty after step 1 and 2:
// nothing known was traced, or the route carries no AS path (iBGP within
// the local AS).
func Mismatch(traced, announced []uint32, localAS uint32) (mismatch, ok bool) {
	var t []uint32
	for _, a := range traced {
		if a != localAS && (len(t) == 0 || t[len(t)-1] != a) {
			t = append(t, a)
		}
	}
	var an []uint32
	for _, a := range announced {
		if len(an) == 0 || an[len(an)-1] != a {
			an = append(an, a)
		}
	}
	if len(t) == 0 || len(an) == 0 {
		return false, false
	}
	i := 0
	for _, a := range an {
		if i < len(t) && t[i] == a {
			i++
		}
	}
	return i < len(t), true
}
