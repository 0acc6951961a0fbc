package pathstate

import (
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// FlowPath is one flow's path and its statistics over the last interval.
type FlowPath struct {
	// Path is the flow's path identity; Hops the responder known at each
	// of its TTLs; Reached whether its last hop is the destination.
	Path    Path
	Hops    []netip.Addr
	Reached bool
	// Last is the statistics of the flow's probes in the last interval.
	Last Interval
}

// MaxHops is the hop count of the longest of the target's flows' paths
// (the path's hop count for one flow).
func (s *Snapshot) MaxHops() int {
	n := s.Path.Hops
	for _, f := range s.Flows {
		n = max(n, f.Path.Hops)
	}
	return n
}

// splitFlows returns one result per flow, each with only that flow's
// probes; a result of one flow is returned as it is.
func splitFlows(r tracer.Result) []tracer.Result {
	n := max(1, r.Flows)
	if n == 1 {
		return []tracer.Result{r}
	}
	out := make([]tracer.Result, n)
	for k := range out {
		out[k] = r
		out[k].Flows, out[k].Probes = 1, make([]tracer.Probe, 0, len(r.Probes)/n+1)
	}
	for _, p := range r.Probes {
		if p.Flow >= 0 && p.Flow < n {
			out[p.Flow].Probes = append(out[p.Flow].Probes, p)
		}
	}
	return out
}

// flowPath is what a flow's tracker and interval say.
func flowPath(v *view, r tracer.Result) FlowPath {
	var f FlowPath
	hops := 0
	if v != nil {
		f.Path = Path{Hops: v.id.Hops, Addrs: append([]netip.Addr(nil), v.id.Addrs...)}
		f.Hops = append([]netip.Addr(nil), v.seen...)
		f.Reached, hops = v.reached, v.hops()
	}
	f.Last = Summarize(r, hops, f.Reached)
	return f
}

// setHash identifies the set of the flows' paths: for one flow its path's
// hash; for several, a 52-bit FNV-1a over the distinct paths' hashes in
// order, so the same set of branches hashes alike whichever flow takes
// which. 0 while no flow's path is known.
func setHash(flows []FlowPath) uint64 {
	if len(flows) == 1 {
		if flows[0].Path.Known() {
			return flows[0].Path.Hash()
		}
		return 0
	}
	hs := distinct(flows)
	if len(hs) == 0 {
		return 0
	}
	h := fnv.New64a()
	for _, x := range hs {
		h.Write([]byte(strconv.FormatUint(x, 16)))
		h.Write([]byte{'|'})
	}
	return h.Sum64() & (1<<hashBits - 1)
}

// distinct returns the sorted distinct hashes of the known flow paths.
func distinct(flows []FlowPath) []uint64 {
	var hs []uint64
	for _, f := range flows {
		if f.Path.Known() {
			hs = append(hs, f.Path.Hash())
		}
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// distinctPaths counts the distinct known paths among the flows.
func distinctPaths(flows []FlowPath) int { return len(distinct(flows)) }
