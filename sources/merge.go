package sources

import (
	"fmt"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// Build turns a source's items into its targets: each item with the
// source's defaults applied and validated, duplicates (same name) after
// the first dropped, and at most MaxTargets kept, in the source's order.
// An invalid item fails the whole list, so the caller keeps the last good
// one. dropped is how many targets the cap left out.
func Build(src config.TargetSource, items []Item) (ts []config.Target, dropped int, err error) {
	seen := map[string]bool{}
	for i, it := range items {
		t, err := src.Target(it.Host, it.Port, it.Labels)
		if err != nil {
			return nil, 0, fmt.Errorf("target %d (%s): %w", i, it.Host, err)
		}
		if seen[t.Name] {
			continue
		}
		seen[t.Name] = true
		if len(ts) == src.MaxTargets {
			dropped++
			continue
		}
		ts = append(ts, t)
	}
	return ts, dropped, nil
}

// Merge returns the targets to run: the static targets, then each
// source's targets whose name no earlier target took (static targets win
// a clash, then sources in configuration order), of which only those
// shard owns. clashes counts the discovered targets left out per source
// because their name was taken.
func Merge(static []config.Target, lists [][]config.Target, shard Shard) (out []config.Target, clashes []int) {
	taken := map[string]bool{}
	clashes = make([]int, len(lists))
	add := func(t config.Target) {
		taken[t.Name] = true
		if shard.Owns(t.Name) {
			out = append(out, t)
		}
	}
	for _, t := range static {
		add(t)
	}
	for i, l := range lists {
		for _, t := range l {
			if taken[t.Name] {
				clashes[i]++
				continue
			}
			add(t)
		}
	}
	return out, clashes
}
