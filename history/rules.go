package history

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// The rules both stores apply, as pure functions over records.

// upsert returns the stored form of p recorded at at, given the stored
// record old (nil when the ID is new).
func upsert(old *Path, p Path, at time.Time) Path {
	out := Path{ID: p.ID, Hops: slices.Clone(p.Hops), FirstSeen: at, LastSeen: at, TimesSeen: 1}
	if old != nil {
		out.FirstSeen = old.FirstSeen
		out.TimesSeen = old.TimesSeen + 1
		if len(out.Hops) == 0 {
			out.Hops = old.Hops
		}
	}
	return out
}

// sortPaths orders paths most recently seen first, then by ID.
func sortPaths(paths []Path) {
	slices.SortFunc(paths, func(x, y Path) int {
		return cmp.Or(y.LastSeen.Compare(x.LastSeen), cmp.Compare(x.ID, y.ID))
	})
}

// inWindow tells whether a change at t is listed for since.
func inWindow(t, since time.Time) bool {
	return since.IsZero() || !t.Before(since)
}

// prunePaths returns the IDs of the paths to remove from one target's
// paths (in any order) as of now: those not seen within the retention,
// then the least recently seen beyond MaxPaths. The most recently seen
// path is always kept.
func prunePaths(paths []Path, now time.Time, o Options) []uint64 {
	if len(paths) == 0 {
		return nil
	}
	paths = slices.Clone(paths)
	sortPaths(paths)
	keep := len(paths)
	if o.MaxPaths > 0 && keep > o.MaxPaths {
		keep = o.MaxPaths
	}
	if o.Retention > 0 {
		cutoff := now.Add(-o.Retention)
		for keep > 1 && paths[keep-1].LastSeen.Before(cutoff) {
			keep--
		}
	}
	var del []uint64
	for _, p := range paths[keep:] {
		del = append(del, p.ID)
	}
	return del
}

// changeKey is what pruning needs of a stored change: its ID, its time,
// and whether it decoded (an undecodable change has no time, so the
// retention never removes it; the cap, which goes by ID, does).
type changeKey struct {
	id   uint64
	time time.Time
	bad  bool
}

// pruneChanges returns the IDs of the changes to remove from one target's
// changes, given in increasing ID order, as of now: those older than the
// retention, then the oldest beyond MaxChanges.
func pruneChanges(keys []changeKey, now time.Time, o Options) []uint64 {
	var del []uint64
	kept := make([]changeKey, 0, len(keys))
	for _, k := range keys {
		if o.Retention > 0 && !k.bad && k.time.Before(now.Add(-o.Retention)) {
			del = append(del, k.id)
			continue
		}
		kept = append(kept, k)
	}
	if o.MaxChanges > 0 && len(kept) > o.MaxChanges {
		for _, k := range kept[:len(kept)-o.MaxChanges] {
			del = append(del, k.id)
		}
	}
	return del
}

// byTTL maps each TTL to its responder; the first hop of a TTL wins.
func byTTL(hops []Hop) map[int]netip.Addr {
	m := make(map[int]netip.Addr, len(hops))
	for _, h := range hops {
		if _, ok := m[h.TTL]; !ok {
			m[h.TTL] = h.Addr.WithZone("")
		}
	}
	return m
}

// cloneChange returns c with its own slices, so callers cannot alter a
// stored change (Memory) or share one between results.
func cloneChange(c Change) Change {
	c.Before, c.After = cloneSnapshot(c.Before), cloneSnapshot(c.After)
	c.DiffTTLs = slices.Clone(c.DiffTTLs)
	c.BGP = slices.Clone(c.BGP)
	return c
}

func cloneSnapshot(s Snapshot) Snapshot {
	s.Path = slices.Clone(s.Path)
	s.ASPath = slices.Clone(s.ASPath)
	return s
}

func clonePath(p Path) Path {
	p.Hops = slices.Clone(p.Hops)
	return p
}
