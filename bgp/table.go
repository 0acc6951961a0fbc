package bgp

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// DefaultRecent is how many changes a tracked address keeps.
const DefaultRecent = 32

// Table holds the best route of every prefix and answers longest-match
// lookups over it while it changes. It also follows tracked addresses
// (the targets'): every update of a prefix that contains one is checked
// against the address's covering route, and a change of that route is
// counted and kept (the last DefaultRecent). The first route that covers
// a tracked address is learnt, not counted: a table filling after a start
// is no routing change. Safe for concurrent use.
//
// Lookups try the prefix lengths present in the table from the longest
// down, each a map lookup: at most 33 (IPv4) or 129 (IPv6) probes, and
// far fewer in a real table, which uses a few lengths.
type Table struct {
	mu     sync.RWMutex
	routes map[netip.Prefix]*Route
	// lens counts the prefixes of each length, per family (0: IPv4).
	lens [2][129]int
	// tracked addresses, and the same sorted, so the addresses inside a
	// prefix are one run of it.
	tracked map[netip.Addr]*tracked
	sorted  []netip.Addr
}

// tracked is what a Table keeps of one tracked address.
type tracked struct {
	cur *Route
	// had: a route has covered the address since it was first tracked;
	// until then, the first route is learnt, not counted as a change
	// (the table filling after a start or a session coming up).
	had     bool
	changes uint64
	recent  []Change
	used    time.Time
}

// View is a tracked address's covering route and its changes.
type View struct {
	// Route is the current covering route; nil when none covers the
	// address.
	Route *Route
	// Changes counts the changes of the covering route since the address
	// was first tracked; the first route to cover it is not a change.
	Changes uint64
	// Recent are the latest changes, oldest first.
	Recent []Change
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{routes: map[netip.Prefix]*Route{}, tracked: map[netip.Addr]*tracked{}}
}

func fam(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 0
	}
	return 1
}

// Update sets the best route of prefix p to r at time at; a nil r
// withdraws it. It returns whether the table changed.
func (t *Table) Update(p netip.Prefix, r *Route, at time.Time) bool {
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked()
	if !p.IsValid() {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.routes[p]
	if r != nil {
		c := *r
		c.Prefix, c.ASPath = p, slices.Clone(r.ASPath)
		r = &c
	}
	if old.Same(r) {
		if r != nil {
			t.routes[p] = r // the neighbor may differ
		}
		return false
	}
	switch {
	case r == nil:
		delete(t.routes, p)
		t.lens[fam(p)][p.Bits()]--
	case old == nil:
		t.routes[p] = r
		t.lens[fam(p)][p.Bits()]++
	default:
		t.routes[p] = r
	}
	t.follow(p, at)
	return true
}

// follow re-evaluates the tracked addresses inside p after p changed.
func (t *Table) follow(p netip.Prefix, at time.Time) {
	i, _ := slices.BinarySearchFunc(t.sorted, p.Addr(), netip.Addr.Compare)
	for ; i < len(t.sorted) && p.Contains(t.sorted[i]); i++ {
		tr := t.tracked[t.sorted[i]]
		now := t.lookup(t.sorted[i])
		if tr.cur.Same(now) || !tr.had {
			tr.cur, tr.had = now, now != nil
			continue
		}
		tr.changes++
		tr.recent = append(tr.recent, Change{Time: at, Before: tr.cur, After: now})
		if n := len(tr.recent); n > DefaultRecent {
			tr.recent = slices.Delete(tr.recent, 0, n-DefaultRecent)
		}
		tr.cur = now
	}
}

// Lookup returns the best route of the longest prefix covering a.
func (t *Table) Lookup(a netip.Addr) (Route, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	r := t.lookup(a.Unmap())
	if r == nil {
		return Route{}, false
	}
	return *r, true
}

// lookup is Lookup under the lock; the route is shared, never altered.
func (t *Table) lookup(a netip.Addr) *Route {
	f := 0
	if !a.Is4() {
		f = 1
	}
	for bits := a.BitLen(); bits >= 0; bits-- {
		if t.lens[f][bits] == 0 {
			continue
		}
		p, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		if r, ok := t.routes[p]; ok {
			return r
		}
	}
	return nil
}

// Track starts following a (if it is not followed yet) and returns its
// view; at marks it used, for Forget.
func (t *Table) Track(a netip.Addr, at time.Time) View {
	a = a.Unmap().WithZone("")
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.tracked[a]
	if !ok {
		tr = &tracked{cur: t.lookup(a)}
		tr.had = tr.cur != nil
		t.tracked[a] = tr
		i, _ := slices.BinarySearchFunc(t.sorted, a, netip.Addr.Compare)
		t.sorted = slices.Insert(t.sorted, i, a)
	}
	tr.used = at
	return View{Route: tr.cur, Changes: tr.changes, Recent: slices.Clone(tr.recent)}
}

// Forget stops following the addresses last tracked before cutoff and
// returns how many it dropped.
func (t *Table) Forget(cutoff time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	t.sorted = slices.DeleteFunc(t.sorted, func(a netip.Addr) bool {
		if t.tracked[a].used.Before(cutoff) {
			delete(t.tracked, a)
			n++
			return true
		}
		return false
	})
	return n
}

// Len returns the number of IPv4 and IPv6 prefixes in the table.
func (t *Table) Len() (v4, v6 int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for b := range t.lens[0] {
		v4 += t.lens[0][b]
		v6 += t.lens[1][b]
	}
	return v4, v6
}

// Clear withdraws every route at time at (a speaker stopped: its routes
// are gone); tracked addresses see the withdrawals as changes.
func (t *Table) Clear(at time.Time) {
	t.mu.RLock()
	prefixes := make([]netip.Prefix, 0, len(t.routes))
	for p := range t.routes {
		prefixes = append(prefixes, p)
	}
	t.mu.RUnlock()
	for _, p := range prefixes {
		t.Update(p, nil, at)
	}
}

// Routes returns a copy of every route in the table, IPv4 prefixes
// first, each family in address then length order.
func (t *Table) Routes() []Route {
	t.mu.RLock()
	out := make([]Route, 0, len(t.routes))
	for _, r := range t.routes {
		c := *r
		c.ASPath = slices.Clone(r.ASPath)
		out = append(out, c)
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b Route) int {
		if a.Prefix.Addr().Is4() != b.Prefix.Addr().Is4() {
			if a.Prefix.Addr().Is4() {
				return -1
			}
			return 1
		}
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	return out
}
