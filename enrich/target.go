package enrich

import (
	"errors"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/traceroute-exporter/traceroute_exporter/history"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
)

// recordEvery is how often a target's unchanged path is recorded again,
// so the history's last-seen time stays fresh without a write per interval.
const recordEvery = 5 * time.Minute

// Sources are the enrichment sources shared by every target. Any of ASN,
// Names and Store may be nil.
type Sources struct {
	ASN   ASNLookup
	Names NameLookup
	// Store keeps the path history; nil disables persistence.
	Store history.Store
	// Criteria returns the current verdict criteria (they follow reloads).
	Criteria func() history.Criteria
	Logger   log.Logger

	storeErrors atomic.Uint64
}

// StoreErrors counts history writes and reads that failed.
func (s *Sources) StoreErrors() uint64 { return s.storeErrors.Load() }

// Target is one target's enrichment state.
type Target struct {
	name string
	src  *Sources
	snap atomic.Pointer[Evidence]

	mu       sync.Mutex // serializes Update
	recorded time.Time  // when the current path was last recorded
}

// NewTarget returns the enrichment state of the target called name. With
// a store, its latest recorded change becomes Evidence.LastChange.
func (s *Sources) NewTarget(name string) *Target {
	t := &Target{name: name, src: s}
	ev := &Evidence{ASPath: []uint32{}}
	if s.Store != nil {
		cs, err := s.Store.Changes(name, time.Time{}, 1)
		switch {
		case err != nil && !errors.Is(err, history.ErrNoTarget):
			s.storeFailed("Cannot read the path history", name, err)
		case len(cs) == 1:
			c := cs[0]
			ev.LastChange = &ChangeSummary{ID: c.ID, Time: c.Time, Verdict: c.Verdict, FromHops: c.Before.Hops, ToHops: c.After.Hops}
		}
	}
	t.snap.Store(ev)
	return t
}

// Evidence returns the latest evidence.
func (t *Target) Evidence() *Evidence { return t.snap.Load() }

// Event is a confirmed path change as judged and recorded.
type Event struct {
	pathstate.Change
	Verdict string
	// Reasons explain the verdict, e.g. "worse: hops 5 -> 6".
	Reasons []string
}

// Update folds the interval that turned prev into cur (with the changes
// it confirmed) into the evidence: annotates the path's hops, follows the
// AS path, judges and records each change. It runs off the probing loop;
// lookups never block (names not cached yet appear in a later interval).
func (t *Target) Update(prev, cur *pathstate.Snapshot, changes []pathstate.Change) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.snap.Load()
	next := *old
	next.Hops = t.annotate(cur.Hops)
	next.ASPath = ASPathOf(next.Hops)
	if len(old.ASPath) > 0 && len(next.ASPath) > 0 && !equalPath(old.ASPath, next.ASPath) {
		next.ASPathChanges++
	}
	next.ASPathHash = asPathHash(next.ASPath)

	var events []Event
	for _, c := range changes {
		before := t.snapshot(c.Before.Hops, c.BeforeHops, &prev.Last, prev.Reached)
		after := t.snapshot(c.After.Hops, c.AfterHops, &cur.Last, cur.Reached)
		crit := history.DefaultCriteria
		if t.src.Criteria != nil {
			crit = t.src.Criteria()
		}
		ev := Event{Change: c, Verdict: history.Judge(before, after, crit), Reasons: history.Explain(before, after, crit)}
		if ev.Verdict == history.Worse {
			next.Degradations++
		}
		sum := &ChangeSummary{Time: c.Time, Verdict: ev.Verdict, FromHops: c.Before.Hops, ToHops: c.After.Hops}
		if s := t.src.Store; s != nil {
			id, err := s.AddChange(history.Change{Time: c.Time, Target: t.name, Before: before, After: after,
				DiffTTLs: history.DiffTTLs(before.Path, after.Path), Verdict: ev.Verdict})
			if err != nil {
				t.src.storeFailed("Cannot record a path change", t.name, err)
			}
			sum.ID = id
		}
		next.LastChange = sum
		events = append(events, ev)
	}
	if cur.Path.Known() && (len(changes) > 0 || !prev.Path.Known() || cur.Last.End.Sub(t.recorded) >= recordEvery) {
		t.record(cur, next.Hops)
	}
	t.snap.Store(&next)
	return events
}

// annotate looks up the AS and name of each hop's responder.
func (t *Target) annotate(hops []netip.Addr) []HopInfo {
	out := make([]HopInfo, len(hops))
	for i, a := range hops {
		if !a.IsValid() {
			continue
		}
		if t.src.ASN != nil {
			if info, ok := t.src.ASN.Lookup(a); ok {
				out[i].ASN, out[i].Org = info.ASN, info.Org
			}
		}
		if t.src.Names != nil {
			out[i].Name, _ = t.src.Names.Name(a)
		}
	}
	return out
}

// snapshot is one side of a change: the path's hops (annotated now) and
// the destination's numbers over the interval on that side.
func (t *Target) snapshot(hops int, addrs []netip.Addr, in *pathstate.Interval, reached bool) history.Snapshot {
	info := t.annotate(addrs)
	s := history.Snapshot{Hops: hops, ASPath: ASPathOf(info), Reached: reached && in.Reached, DestLoss: math.NaN()}
	for i, a := range addrs {
		s.Path = append(s.Path, history.Hop{TTL: i + 1, Addr: a, Name: info[i].Name, ASN: info[i].ASN})
	}
	if in.Dest.Sent > 0 {
		s.DestLoss = in.Dest.Loss
	}
	if s.Reached && in.Dest.RTT.N > 0 {
		s.DestRTT = in.Dest.RTT.Mean
	}
	return s
}

// record writes the current path to the history.
func (t *Target) record(cur *pathstate.Snapshot, info []HopInfo) {
	t.recorded = cur.Last.End
	s := t.src.Store
	if s == nil {
		return
	}
	p := history.Path{ID: cur.PathHash}
	for i, a := range cur.Hops {
		p.Hops = append(p.Hops, history.Hop{TTL: i + 1, Addr: a, Name: info[i].Name, ASN: info[i].ASN})
	}
	if err := s.RecordPath(t.name, p, cur.Last.End); err != nil {
		t.src.storeFailed("Cannot record a path", t.name, err)
	}
}

func (s *Sources) storeFailed(msg, target string, err error) {
	s.storeErrors.Add(1)
	if s.Logger != nil {
		level.Error(s.Logger).Log("msg", msg, "target", target, "err", err)
	}
}
