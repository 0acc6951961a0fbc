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

	"github.com/traceroute-exporter/traceroute_exporter/bgp"
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
	// Routing is the BGP view; nil without BGP.
	Routing *Routing
	Logger  log.Logger

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
	pending  *pending   // a change waiting to be judged

	// BGP, when configured: the correlation of its changes with the
	// path's, the running settings and the current covering route.
	corr     correlator
	bgpOn    bool
	bgpSet   RoutingSettings
	bgpRoute *bgp.Route
}

// NewTarget returns the enrichment state of the target called name. With
// a store, its latest recorded change becomes Evidence.LastChange.
func (s *Sources) NewTarget(name string) *Target {
	t := &Target{name: name, src: s}
	ev := &Evidence{ASPath: []uint32{}}
	if s.Store != nil {
		cs, err := s.Store.Changes(name, time.Time{}, lastChangeLookback)
		if err != nil && !errors.Is(err, history.ErrNoTarget) {
			s.storeFailed("Cannot read the path history", name, err)
		}
		for _, c := range cs {
			if c.Kind != history.KindRouting {
				ev.LastChange = summarize(c)
				break
			}
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
	// AfterHops are the new path's responders when it was judged (the
	// change's AfterHops with the hops that answered since filled in).
	AfterHops []netip.Addr
}

// lastChangeLookback is how many of a target's latest events are read at
// start to find its latest path change among routing-only ones.
const lastChangeLookback = 20

// judgeWait is how many intervals after a change its judgement waits for
// the new path's silent hops to answer (routers that rate-limit their
// ICMP answer only some rounds), so the recorded path, its AS path and
// the verdict rest on the whole path rather than on the rounds that
// happened to confirm the change. With BGP, a change is also not judged
// before correlation_after has passed since it, so the BGP updates that
// reach the exporter after the trace saw the change go with it.
const judgeWait = 2

// pending is a confirmed change waiting to be judged.
type pending struct {
	c      pathstate.Change
	before history.Snapshot
	waited int
}

// Update folds the interval that turned prev into cur (with the changes it
// confirmed) into the evidence: annotates the path's hops and follows the
// AS path. A change is judged and recorded once the new path's hops are
// all known, or judgeWait intervals later, whichever comes first; the
// judged changes are returned. It runs off the probing loop; lookups
// never block (names not cached yet appear in a later interval).
func (t *Target) Update(prev, cur *pathstate.Snapshot, changes []pathstate.Change) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.snap.Load()
	next := *old
	next.Hops = t.annotate(cur.Hops)
	next.ASPath = ASPathOf(next.Hops)
	next.ASPathHash = asPathHash(next.ASPath)
	var tv bgp.View
	next.BGP, tv, t.bgpSet, t.bgpOn = t.src.Routing.view(cur.Address, next.ASPath, cur.Last.End)
	if t.bgpOn {
		t.corr.observe(cur.Address, tv)
		next.BGP.Changes = t.corr.total
		t.bgpRoute = tv.Route
	}

	var events []Event
	now := cur.Last.End
	if p := t.pending; p != nil {
		p.waited++
		if len(changes) > 0 || (complete(cur) || p.waited >= judgeWait) && !waitBGP(t.bgpOn, t.bgpSet, p.c.Time, now) {
			events = append(events, t.judge(&next, p, cur))
		}
	}
	for i, c := range changes {
		p := &pending{c: c, before: t.snapshot(c.Before.Hops, c.BeforeHops, &prev.Last, prev.Reached)}
		if i < len(changes)-1 || complete(cur) && !waitBGP(t.bgpOn, t.bgpSet, c.Time, now) {
			events = append(events, t.judge(&next, p, cur)) // a later change follows at once
			continue
		}
		t.pending = p
	}
	if cur.Path.Known() && (len(changes) > 0 || !prev.Path.Known() || cur.Last.End.Sub(t.recorded) >= recordEvery) {
		t.record(cur, next.Hops)
	}
	if t.bgpOn {
		var pt *time.Time
		if t.pending != nil {
			pt = &t.pending.c.Time
		}
		if cs := t.corr.routingOnly(now, t.bgpSet, pt); len(cs) > 0 {
			t.recordRouting(cs, cur)
		}
	}
	t.snap.Store(&next)
	return events
}

// complete reports whether every TTL of the path has a known responder.
func complete(s *pathstate.Snapshot) bool {
	for _, a := range s.Hops {
		if !a.IsValid() {
			return false
		}
	}
	return s.Path.Known()
}

// judge judges and records p with the path as cur now knows it.
func (t *Target) judge(next *Evidence, p *pending, cur *pathstate.Snapshot) Event {
	t.pending = nil
	after := t.snapshot(cur.Path.Hops, cur.Hops, &cur.Last, cur.Reached)
	crit := history.DefaultCriteria
	if t.src.Criteria != nil {
		crit = t.src.Criteria()
	}
	var bgpChanges []bgp.Change
	if t.bgpOn {
		bgpChanges = t.corr.forPath(p.c.Time, t.bgpSet)
		p.before.BGPASPathLength, after.BGPASPathLength = pathLen(t.bgpRoute), pathLen(t.bgpRoute)
		if len(bgpChanges) > 0 {
			p.before.BGPASPathLength = pathLen(bgpChanges[0].Before)
		}
	}
	// Unknown hops can hide an AS but never add or reorder one: with a
	// gap on either side the AS path changed only when neither sequence
	// fits inside the other, and it counts in the verdict only when both
	// paths are fully known.
	b, a := p.before, after
	gaps := hasGaps(b.Path) || hasGaps(a.Path)
	if (gaps && !compatible(b.ASPath, a.ASPath)) || (!gaps && !equalPath(b.ASPath, a.ASPath)) {
		next.ASPathChanges++
	}
	if gaps {
		b.ASPath, a.ASPath = nil, nil
	}
	ev := Event{Change: p.c, Verdict: history.Judge(b, a, crit), Reasons: history.Explain(b, a, crit), AfterHops: cur.Hops}
	if ev.Verdict == history.Worse {
		next.Degradations++
	}
	rec := history.Change{Time: p.c.Time, Target: t.name, Before: p.before, After: after,
		DiffTTLs: history.DiffTTLs(p.before.Path, after.Path), Verdict: ev.Verdict,
		Kind: history.KindPath, BGPChecked: t.bgpOn, BGP: historyBGP(bgpChanges)}
	if s := t.src.Store; s != nil {
		id, err := s.AddChange(rec)
		if err != nil {
			t.src.storeFailed("Cannot record a path change", t.name, err)
		}
		rec.ID = id
	}
	next.LastChange = summarize(rec)
	return ev
}

func hasGaps(p []history.Hop) bool {
	for _, h := range p {
		if !h.Addr.IsValid() {
			return true
		}
	}
	return false
}

// compatible reports whether one AS path is a subsequence of the other.
func compatible(a, b []uint32) bool {
	return subsequence(a, b) || subsequence(b, a)
}

func subsequence(short, long []uint32) bool {
	i := 0
	for _, x := range long {
		if i < len(short) && short[i] == x {
			i++
		}
	}
	return i == len(short)
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

// recordRouting records BGP changes no path change went with: the route
// covering the target changed and the path did not.
func (t *Target) recordRouting(cs []bgp.Change, cur *pathstate.Snapshot) {
	s := t.snapshot(cur.Path.Hops, cur.Hops, &cur.Last, cur.Reached)
	before, after := s, s
	before.BGPASPathLength, after.BGPASPathLength = pathLen(cs[0].Before), pathLen(cs[len(cs)-1].After)
	rec := history.Change{Time: cs[0].Time, Target: t.name, Before: before, After: after, Verdict: history.Neutral,
		Kind: history.KindRouting, BGPChecked: true, BGP: historyBGP(cs)}
	if t.src.Logger != nil {
		level.Info(t.src.Logger).Log("msg", "Routing changed, path did not", "target", t.name, "bgp", history.DescribeBGPChanges(rec.BGP))
	}
	if st := t.src.Store; st != nil {
		if _, err := st.AddChange(rec); err != nil {
			t.src.storeFailed("Cannot record a routing change", t.name, err)
		}
	}
}
