package history_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/history"
)

func TestPrune(t *testing.T) {
	day := 24 * time.Hour
	// Paths 1..4 last seen 40, 20, 10 and 50 days before now (path 4,
	// the oldest, first, so it is not the newest by insertion); changes
	// 1..6 made 35, 31, 29, 3, 2 and 1 days before now.
	now := t0.Add(100 * day)
	seen := map[uint64]time.Duration{1: 40 * day, 2: 20 * day, 3: 10 * day, 4: 50 * day}
	changeAges := []time.Duration{35 * day, 31 * day, 29 * day, 3 * day, 2 * day, day}
	tests := []struct {
		name    string
		opts    history.Options
		removed int
		paths   []uint64 // most recently seen first
		changes []uint64 // newest first
	}{
		{name: "no limits", opts: history.Options{}, paths: []uint64{3, 2, 1, 4}, changes: []uint64{6, 5, 4, 3, 2, 1}},
		{name: "retention 30 days", opts: history.Options{Retention: 30 * day}, removed: 4,
			paths: []uint64{3, 2}, changes: []uint64{6, 5, 4, 3}},
		{name: "caps", opts: history.Options{MaxPaths: 2, MaxChanges: 3}, removed: 5,
			paths: []uint64{3, 2}, changes: []uint64{6, 5, 4}},
		{name: "retention and caps", opts: history.Options{Retention: 15 * day, MaxPaths: 3, MaxChanges: 2}, removed: 7,
			paths: []uint64{3}, changes: []uint64{6, 5}},
		{name: "newest path kept however old, retention inclusive", opts: history.Options{Retention: day}, removed: 8,
			paths: []uint64{3}, changes: []uint64{6}},
		{name: "defaults: 30 days", opts: history.DefaultOptions(), removed: 4,
			paths: []uint64{3, 2}, changes: []uint64{6, 5, 4, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stores(t, tt.opts, func(t *testing.T, s history.Store) {
				for _, id := range []uint64{4, 1, 2, 3} {
					if err := s.RecordPath("tgt", history.Path{ID: id, Hops: hops("192.0.2.1")}, now.Add(-seen[id])); err != nil {
						t.Fatal(err)
					}
				}
				for _, age := range changeAges {
					if _, err := s.AddChange(change("tgt", now.Add(-age), history.Worse)); err != nil {
						t.Fatal(err)
					}
				}
				s.AddChange(change("other", now, history.Neutral))
				n, err := s.Prune(now)
				if err != nil || n != tt.removed {
					t.Errorf("Prune = %d, %v; want %d removed", n, err, tt.removed)
				}
				ps, _ := s.Paths("tgt")
				var pids []uint64
				for _, p := range ps {
					pids = append(pids, p.ID)
				}
				cs, _ := s.Changes("tgt", time.Time{}, 0)
				var cids []uint64
				for _, c := range cs {
					cids = append(cids, c.ID)
				}
				if !reflect.DeepEqual(pids, tt.paths) || !reflect.DeepEqual(cids, tt.changes) {
					t.Errorf("after Prune: paths %v, changes %v; want %v, %v", pids, cids, tt.paths, tt.changes)
				}
				if oc, _ := s.Changes("other", time.Time{}, 0); len(oc) != 1 {
					t.Errorf("other target has %d changes, want 1", len(oc))
				}
				// IDs keep counting after pruning.
				if id, err := s.AddChange(change("tgt", now, history.Worse)); err != nil || id != 7 {
					t.Errorf("next change ID = %d, %v; want 7", id, err)
				}
			})
		})
	}
}
