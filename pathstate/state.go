package pathstate

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// Snapshot is an immutable view of one target, replaced after every
// interval. Readers get it with State.Snapshot and never lock.
type Snapshot struct {
	// Observed is false until the first interval has ended; only the
	// counters below are meaningful before that.
	Observed bool
	// Last is the summary of the last interval.
	Last Interval
	// Path is the current path, after wildcard merging, and PathHash its hash.
	Path     Path
	PathHash uint64
	// PathChanges counts changes since the target was configured;
	// PathSince is when the current path was first seen.
	PathChanges uint64
	PathSince   time.Time
	// ProbesSent and Replies count every probe and reply of the target.
	ProbesSent, Replies uint64
	// ResolveErrors counts failed DNS lookups of the target's host.
	ResolveErrors uint64
}

// State is one target's state. Observe and ResolveFailed are called by the
// target's prober, Snapshot by any number of readers.
type State struct {
	mu   sync.Mutex // serializes writers
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

// Observe folds one interval's result into the state. The first interval
// establishes the path without counting a change.
func (s *State) Observe(r tracer.Result) {
	in := Summarize(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.snap.Load()
	next := *prev
	next.Observed = true
	next.Last = in
	next.ProbesSent += uint64(in.Sent)
	next.Replies += uint64(in.Replies)
	next.Path = Next(prev.Path, in)
	next.PathHash = next.Path.Hash()
	switch {
	case !prev.Path.Known() && next.Path.Known():
		next.PathSince = in.End
	case Changed(prev.Path, next.Path):
		next.PathChanges++
		next.PathSince = in.End
	}
	s.snap.Store(&next)
}

// ResolveFailed counts a failed lookup of the target's host.
func (s *State) ResolveFailed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := *s.snap.Load()
	next.ResolveErrors++
	s.snap.Store(&next)
}
