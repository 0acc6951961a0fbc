package collector

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
)

// The registry sorts every family's series by their label values,
// compared in the order of the label names. The cache keeps each group's
// series in that order across scrapes: sorted in full when the targets
// or the label set change, patched (resortGroup) when some targets'
// series change, untouched when only values do.

// ref is one series in a sorted group: series i of view entry e.
type ref struct{ e, i uint32 }

// sorter compares series as the registry orders them.
type sorter struct {
	lay     *layout
	entries []*entry
	a, b    []byte // scratch for rendered values
}

func (s *sorter) compare(x, y ref) int {
	ex, ey := s.entries[x.e], s.entries[y.e]
	for _, k := range s.lay.pos {
		if k >= 0 {
			if c := strings.Compare(ex.tv[k], ey.tv[k]); c != 0 {
				return c
			}
			continue
		}
		s.a = ex.appendLabel(s.a[:0], slabel(-1-k), int(x.i), false)
		s.b = ey.appendLabel(s.b[:0], slabel(-1-k), int(y.i), false)
		if c := bytes.Compare(s.a, s.b); c != 0 {
			return c
		}
	}
	return 0
}

// series appends the series of group g of entries[ei] that are exported.
func series(refs []ref, g group, entries []*entry, ei int) []ref {
	e := entries[ei]
	for i, n := 0, e.count(g); i < n; i++ {
		if e.member(g, i) && e.valid(g, i) {
			refs = append(refs, ref{uint32(ei), uint32(i)})
		}
	}
	return refs
}

// sortGroup returns the series of group g of entries in exposition order.
// Each series gets a byte key that sorts as its label values do: a value
// with its zero bytes doubled as 0 1 and ended by 0 0, and a run of
// target labels as the rank of the target among the others by that run
// (4 bytes, big-endian). The first 8 bytes ride along inline, so most
// comparisons never leave the slice being sorted.
func sortGroup(g group, lay *layout, entries []*entry) []ref {
	var refs []ref
	for ei := range entries {
		refs = series(refs, g, entries, ei)
	}
	ranks := make([][]uint32, len(lay.segs))
	for k, sg := range lay.segs {
		if sg.to > sg.from {
			ranks[k] = runRanks(entries, sg.from, sg.to)
		}
	}
	var arena, v []byte
	ends := make([]int, len(refs))
	for j, r := range refs {
		for k, sg := range lay.segs {
			if sg.to > sg.from {
				arena = binary.BigEndian.AppendUint32(arena, ranks[k][r.e])
				continue
			}
			v = entries[r.e].appendLabel(v[:0], sg.s, int(r.i), false)
			for _, c := range v {
				if arena = append(arena, c); c == 0 {
					arena = append(arena, 1)
				}
			}
			arena = append(arena, 0, 0)
		}
		ends[j] = len(arena)
	}
	type keyed struct {
		pre uint64
		key string
		r   ref
	}
	all := string(arena)
	ks := make([]keyed, len(refs))
	start := 0
	for j, r := range refs {
		key := all[start:ends[j]]
		var pre [8]byte
		copy(pre[:], key)
		ks[j], start = keyed{binary.BigEndian.Uint64(pre[:]), key, r}, ends[j]
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if a.pre != b.pre {
			if a.pre < b.pre {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	for j := range ks {
		refs[j] = ks[j].r
	}
	return refs
}

// runRanks ranks the entries by their target values from..to-1: equal
// values, equal rank.
func runRanks(entries []*entry, from, to int) []uint32 {
	idx := make([]int, len(entries))
	for i := range idx {
		idx[i] = i
	}
	run := func(i int) []string { return entries[i].tv[from:to] }
	slices.SortFunc(idx, func(a, b int) int { return slices.Compare(run(a), run(b)) })
	ranks := make([]uint32, len(entries))
	for k, i := range idx {
		if k > 0 && !slices.Equal(run(i), run(idx[k-1])) {
			ranks[i] = ranks[idx[k-1]] + 1
		} else if k > 0 {
			ranks[i] = ranks[idx[k-1]]
		}
	}
	return ranks
}

// resortGroup returns order (sorted for the same targets) with the
// series of the changed entries taken out and their current ones
// inserted where they belong: O(len(order)) copying, comparisons only
// for the inserted series. order itself is left as it was.
func resortGroup(g group, lay *layout, entries []*entry, order []ref, changed []int) []ref {
	gone := make([]bool, len(entries))
	var add []ref
	for _, ei := range changed {
		if !gone[ei] {
			gone[ei] = true
			add = series(add, g, entries, ei)
		}
	}
	s := &sorter{lay: lay, entries: entries}
	slices.SortFunc(add, s.compare)
	kept := make([]ref, 0, len(order))
	for _, r := range order {
		if !gone[r.e] {
			kept = append(kept, r)
		}
	}
	out := make([]ref, 0, len(kept)+len(add))
	for _, r := range add {
		n, _ := slices.BinarySearchFunc(kept, r, s.compare)
		out = append(append(out, kept[:n]...), r)
		kept = kept[n:]
	}
	return append(out, kept...)
}

// sameSeries reports whether group g of a and b (one target's entries,
// same label set) has the same series with the same label values, so an
// order sorted with a still holds for b.
func sameSeries(g group, a, b *entry) bool {
	n := a.count(g)
	if b.count(g) != n {
		return false
	}
	var va, vb []byte
	for i := range n {
		in := a.member(g, i) && a.valid(g, i)
		if in != (b.member(g, i) && b.valid(g, i)) {
			return false
		}
		if !in {
			continue
		}
		if g >= gHop && a.hops[i].flow != b.hops[i].flow {
			return false
		}
		for _, s := range groupLabels[g] {
			va, vb = a.appendLabel(va[:0], s, i, false), b.appendLabel(vb[:0], s, i, false)
			if !bytes.Equal(va, vb) {
				return false
			}
		}
	}
	return true
}
