package pathstate

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// Snapshot is an immutable view of one target, replaced after every
// interval. Readers get it with State.Snapshot and never lock.
//
// Everything per hop derives from one path: Path.Hops is the hop count,
// Path (and PathHash) its identity, Hops the responder known at each of
// its TTLs, and Last.HopStats the statistics of those same TTLs.
type Snapshot struct {
	// Observed is false until the first interval has ended; only the
	// counters below are meaningful before that.
	Observed bool
	// Address is the address being traced (invalid until resolved), and
	// AddressChanges counts how often it changed.
	Address        netip.Addr
	AddressChanges uint64
	// Last is the statistics of the last interval.
	Last Interval
	// Path is the current path's identity and PathHash its hash; Path.Hops
	// is the hop count. Reached tells whether the path's last hop is the
	// destination.
	Path     Path
	PathHash uint64
	Reached  bool
	// Hops is the responder known at each TTL of the path: the identity's,
	// or one seen since at a TTL that was a wildcard.
	Hops []netip.Addr
	// Flows holds each flow's path and statistics when the target is
	// traced by more than one flow (the fields above are then flow 0's,
	// except PathHash, the hash of the set of the flows' paths); nil for
	// one flow. PathFlows counts the distinct paths among the flows.
	Flows     []FlowPath
	PathFlows int
	// PathChanges counts confirmed changes since the target was
	// configured (with several flows, intervals in which the set of the
	// flows' paths changed); PathSince is when the current path was first
	// seen.
	PathChanges uint64
	PathSince   time.Time
	// ProbesSent and Replies count every probe and reply of the target.
	ProbesSent, Replies uint64
	// ResolveErrors counts failed DNS lookups of the target's host.
	ResolveErrors uint64
	// MTU is the latest path MTU search's result; nil before the first
	// (or when discovery is off).
	MTU *MTU
}

// Change is one confirmed path change of one flow, for the log and the
// history.
type Change struct {
	Time    time.Time
	Address netip.Addr
	// Flow is the index of the flow whose path changed (0 for a target
	// traced by one flow).
	Flow int
	// Before and After are the paths' identities; BeforeHops and
	// AfterHops the responders known at each of their TTLs.
	Before, After         Path
	BeforeHops, AfterHops []netip.Addr
}

// State is one target's state. Observe, SetAddress and ResolveFailed are
// called by the target's prober, Snapshot by any number of readers.
type State struct {
	mu   sync.Mutex // serializes writers and guards trs
	trs  []tracker  // one per flow
	snap atomic.Pointer[Snapshot]
}

// NewState returns the state of a target that has not been traced yet.
func NewState() *State {
	s := &State{}
	s.snap.Store(&Snapshot{})
	return s
}

// Snapshot returns the latest snapshot.
func (s *State) Snapshot() *Snapshot { return s.snap.Load() }

// Observe folds one interval's result into the state and returns the path
// changes it confirmed. A result for another address than the current one
// (an interval that began before the address changed) only counts its
// probes.
func (s *State) Observe(r tracer.Result) []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.snap.Load()
	next := *prev
	current := !prev.Address.IsValid() || r.Dst == prev.Address
	per := splitFlows(r)
	if len(s.trs) != len(per) {
		s.trs = make([]tracker, len(per))
	}
	var out []Change
	flows := make([]FlowPath, len(per))
	for k, fr := range per {
		if current {
			for _, c := range s.trs[k].observe(rounds(fr)) {
				out = append(out, Change{Time: r.End, Address: r.Dst, Flow: k, Before: c.before.id, After: c.after.id,
					BeforeHops: c.before.seen, AfterHops: c.after.seen})
			}
		}
		flows[k] = flowPath(s.trs[k].cur, fr)
	}
	f0 := flows[0]
	if f0.Path.Known() {
		if !prev.Path.Known() || len(out) > 0 {
			next.PathSince = r.End
		}
		next.Path, next.Hops, next.Reached = f0.Path, f0.Hops, f0.Reached
	}
	next.PathHash = setHash(flows)
	switch {
	case len(per) == 1:
		next.PathChanges += uint64(len(out))
	case len(out) > 0 && next.PathHash != prev.PathHash:
		next.PathChanges++ // the set of the flows' paths changed: one change
	}
	next.Flows, next.PathFlows = nil, distinctPaths(flows)
	if len(per) > 1 {
		next.Flows = flows
	}
	for _, f := range flows {
		next.ProbesSent += uint64(f.Last.Sent)
		next.Replies += uint64(f.Last.Replies)
	}
	if current {
		next.Observed = true
		next.Last = f0.Last
		if r.MTU != nil {
			next.MTU = newMTU(*r.MTU, next.Hops, r.End)
		}
	}
	s.snap.Store(&next)
	return out
}

// SetAddress records the address the target is traced at. A new address
// starts a new path identity (the old path is forgotten, which is not a
// path change) and counts as an address change unless it is the first.
// It reports whether the address changed.
func (s *State) SetAddress(a netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.snap.Load()
	if prev.Address == a {
		return false
	}
	next := *prev
	if prev.Address.IsValid() {
		next.AddressChanges++
	}
	next.Address = a
	next.Observed = false
	next.Last = Interval{}
	next.Path, next.PathHash, next.Hops, next.Reached = Path{}, 0, nil, false
	next.PathSince = time.Time{}
	next.MTU = nil // another path
	s.trs = nil
	s.snap.Store(&next)
	return true
}

// ResolveFailed counts a failed lookup of the target's host.
func (s *State) ResolveFailed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := *s.snap.Load()
	next.ResolveErrors++
	s.snap.Store(&next)
}
