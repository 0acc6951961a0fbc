package asn

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"sort"
)

// table is the lookup structure of a TSV database: sorted, non-overlapping
// ranges per family, each pointing into a table of distinct (ASN, Org)
// pairs. An IPv4 range takes 12 bytes and an IPv6 range 36, so half a
// million ranges fit in a few megabytes.
type table struct {
	v4    []range4
	v6    []range6
	infos []Info
}

type range4 struct {
	lo, hi uint32
	info   uint32 // index into table.infos
}

type range6 struct {
	lo, hi [16]byte
	info   uint32
}

func (t *table) len() int { return len(t.v4) + len(t.v6) }

// lookup finds the range holding addr by binary search: the last range
// starting at or before addr holds it if it ends at or after it.
func (t *table) lookup(addr netip.Addr) (Info, bool) {
	if addr.Is4() {
		a := addr.As4()
		k := binary.BigEndian.Uint32(a[:])
		i := sort.Search(len(t.v4), func(i int) bool { return t.v4[i].lo > k }) - 1
		if i < 0 || k > t.v4[i].hi {
			return Info{}, false
		}
		return t.infos[t.v4[i].info], true
	}
	k := addr.As16()
	i := sort.Search(len(t.v6), func(i int) bool { return bytes.Compare(t.v6[i].lo[:], k[:]) > 0 }) - 1
	if i < 0 || bytes.Compare(k[:], t.v6[i].hi[:]) > 0 {
		return Info{}, false
	}
	return t.infos[t.v6[i].info], true
}

// builder collects ranges in file order and builds a table from them.
type builder struct {
	v4    []pending4
	v6    []pending6
	infos []Info
	index map[Info]uint32
}

type pending4 struct {
	range4
	line int
}

type pending6 struct {
	range6
	line int
}

// overlap is a range dropped because it overlaps the one kept from
// another line.
type overlap struct{ line, with int }

// add records one range; lo and hi are of the same family, lo <= hi.
func (b *builder) add(lo, hi netip.Addr, in Info, line int) {
	if b.index == nil {
		b.index = make(map[Info]uint32)
	}
	idx, ok := b.index[in]
	if !ok {
		in.Org = string([]byte(in.Org)) // do not pin the line it came from
		idx = uint32(len(b.infos))
		b.infos = append(b.infos, in)
		b.index[in] = idx
	}
	if lo.Is4() {
		l, h := lo.As4(), hi.As4()
		b.v4 = append(b.v4, pending4{range4{binary.BigEndian.Uint32(l[:]), binary.BigEndian.Uint32(h[:]), idx}, line})
		return
	}
	b.v6 = append(b.v6, pending6{range6{lo.As16(), hi.As16(), idx}, line})
}

// build sorts the ranges and drops every range that overlaps one kept
// before it (in address order), reporting it. The result never has two
// ranges covering the same address, which binary search relies on.
func (b *builder) build() (*table, []overlap) {
	var over []overlap
	slices.SortFunc(b.v4, func(x, y pending4) int {
		return cmp.Or(cmp.Compare(x.lo, y.lo), cmp.Compare(x.hi, y.hi), cmp.Compare(x.line, y.line))
	})
	v4 := make([]range4, 0, len(b.v4))
	last := -1
	for _, r := range b.v4 {
		if len(v4) > 0 && r.lo <= v4[len(v4)-1].hi {
			over = append(over, overlap{r.line, last})
			continue
		}
		v4, last = append(v4, r.range4), r.line
	}
	slices.SortFunc(b.v6, func(x, y pending6) int {
		return cmp.Or(bytes.Compare(x.lo[:], y.lo[:]), bytes.Compare(x.hi[:], y.hi[:]), cmp.Compare(x.line, y.line))
	})
	v6 := make([]range6, 0, len(b.v6))
	for _, r := range b.v6 {
		if len(v6) > 0 && bytes.Compare(r.lo[:], v6[len(v6)-1].hi[:]) <= 0 {
			over = append(over, overlap{r.line, last})
			continue
		}
		v6, last = append(v6, r.range6), r.line
	}
	slices.SortFunc(over, func(x, y overlap) int { return cmp.Compare(x.line, y.line) })
	return &table{v4: v4, v6: v6, infos: slices.Clip(b.infos)}, over
}
