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
	// PathChanges counts confirmed changes since the target was
	// configured; PathSince is when the current path was first seen.
	PathChanges uint64
	PathSince   time.Time
	// ProbesSent and Replies count every probe and reply of the target.
	ProbesSent, Replies uint64
	// ResolveErrors counts failed DNS lookups of the target's host.
	ResolveErrors uint64
}

// Change is one confirmed path change, for the log and the history.
type Change struct {
	Time    time.Time
	Address netip.Addr
	// Before and After are the paths' identities; BeforeHops and
	// AfterHops the responders known at each of their TTLs.
	Before, After         Path
	BeforeHops, AfterHops []netip.Addr
}

// State is one target's state. Observe, SetAddress and ResolveFailed are
// called by the target's prober, Snapshot by any number of readers.
type State struct {
	mu   sync.Mutex // serializes writers and guards tr
	tr   tracker
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
	var changes []change
	if current {
		changes = s.tr.observe(rounds(r))
	}
	var out []Change
	for _, c := range changes {
		next.PathChanges++
		out = append(out, Change{Time: r.End, Address: r.Dst, Before: c.before.id, After: c.after.id,
			BeforeHops: c.before.seen, AfterHops: c.after.seen})
	}
	hops, reached := 0, false
	if v := s.tr.cur; v != nil {
		hops, reached = v.hops(), v.reached
		if !prev.Path.Known() || len(out) > 0 {
			next.PathSince = r.End
		}
		next.Path = Path{Hops: v.id.Hops, Addrs: append([]netip.Addr(nil), v.id.Addrs...)}
		next.PathHash = next.Path.Hash()
		next.Hops = append([]netip.Addr(nil), v.seen...)
		next.Reached = reached
	}
	in := Summarize(r, hops, reached)
	next.ProbesSent += uint64(in.Sent)
	next.Replies += uint64(in.Replies)
	if current {
		next.Observed = true
		next.Last = in
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
	s.tr = tracker{}
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
