package collector

import (
	"slices"
	"sync"
)

// cache keeps the entries of the last scrape's targets and each group's
// series in exposition order. It holds nothing of a target that has gone:
// every scrape keeps exactly the entries of the targets it was given.
type cache struct {
	mu      sync.Mutex
	lay     *layouts
	entries []*entry
	order   [nGroups][]ref
	dirty   [nGroups]bool // order must be sorted again
	// changed are the entries (same targets as order's) whose series
	// of a group changed since order was sorted.
	changed [nGroups][]int
	// off rebuilds every entry and order on every scrape (benchmarks).
	off bool
}

// view is one scrape's consistent picture: immutable entries and orders
// (a later scrape builds new ones), so it is read without the lock.
type view struct {
	lay     *layouts
	entries []*entry
	order   [nGroups][]ref // sorted: only when asked for
}

// update brings the cache to targets and returns the scrape's view; with
// sorted, the orders are brought up to date too. Entries whose target
// still has the same snapshot, evidence and labels are reused; an order
// is sorted again only when some target's series of that group (or the
// set of targets) changed, not when only values did.
func (c *cache) update(targets []Target, sorted bool) view {
	static := staticLabelNames(targets)
	withFlow := false
	for _, t := range targets {
		withFlow = withFlow || t.Snapshot != nil && len(t.Snapshot.Flows) > 1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off || c.lay == nil || c.lay.withFlow != withFlow || !slices.Equal(c.lay.static, static) {
		c.lay, c.entries = newLayouts(static, withFlow), nil
	}
	same := len(targets) == len(c.entries) // the same targets in the same order
	for i := 0; same && i < len(targets); i++ {
		same = c.entries[i].tv[c.lay.target] == targets[i].Name
	}
	var byName map[string]*entry
	if !same {
		c.dirty, c.changed = [nGroups]bool{true, true, true, true, true, true}, [nGroups][]int{}
		byName = make(map[string]*entry, len(c.entries))
		for _, e := range c.entries {
			byName[e.tv[c.lay.target]] = e
		}
	}
	entries := make([]*entry, len(targets))
	for i, t := range targets {
		old := byName[t.Name]
		if same {
			old = c.entries[i]
		}
		if old != nil && old.snap == t.Snapshot && old.evid == t.Evidence && c.sameLabels(old, t) {
			entries[i] = old
			continue
		}
		e := newEntry(t, c.lay)
		for g := range nGroups {
			switch {
			case c.dirty[g]:
			case !same || !slices.Equal(old.tv, e.tv):
				c.dirty[g] = true
			case !sameSeries(g, old, e):
				c.changed[g] = append(c.changed[g], i)
			}
		}
		entries[i] = e
	}
	c.entries = entries
	v := view{lay: c.lay, entries: entries}
	if !sorted {
		for g := range nGroups { // keep nothing that grows with unsorted scrapes
			c.dirty[g], c.changed[g] = c.dirty[g] || len(c.changed[g]) > 0, nil
		}
		return v
	}
	for g := range nGroups {
		switch lay := &c.lay.group[g]; {
		case c.dirty[g] || c.off:
			c.order[g] = sortGroup(g, lay, entries)
		case len(c.changed[g]) > 0:
			c.order[g] = resortGroup(g, lay, entries, c.order[g], c.changed[g])
		}
		c.dirty[g], c.changed[g] = false, nil
	}
	v.order = c.order
	return v
}

// sameLabels reports whether t still has the label values e was built for.
func (c *cache) sameLabels(e *entry, t Target) bool {
	for k, n := range c.lay.tnames {
		v := t.Labels[n]
		if k == c.lay.target {
			v = t.Name
		}
		if v != e.tv[k] {
			return false
		}
	}
	return true
}
