package history_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/history"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// stores runs f against a fresh Memory and a fresh Bolt store with the
// same options.
func stores(t *testing.T, o history.Options, f func(t *testing.T, s history.Store)) {
	t.Run("memory", func(t *testing.T) {
		s := history.NewMemory(o)
		defer s.Close()
		f(t, s)
	})
	t.Run("bolt", func(t *testing.T) {
		s, moved, err := history.OpenBolt(filepath.Join(t.TempDir(), "data", "h.db"), o)
		if err != nil || moved != nil {
			t.Fatalf("OpenBolt = %v, %v", moved, err)
		}
		defer s.Close()
		f(t, s)
	})
}

func hops(addrs ...string) []history.Hop {
	out := make([]history.Hop, len(addrs))
	for i, a := range addrs {
		out[i].TTL = i + 1
		if a != "*" {
			out[i].Addr = netip.MustParseAddr(a)
		}
	}
	return out
}

func change(target string, at time.Time, verdict string) history.Change {
	return history.Change{
		Time:   at,
		Target: target,
		Before: history.Snapshot{Hops: 2, Path: hops("192.0.2.1", "198.51.100.9"), ASPath: []uint32{64500}, DestRTT: 10 * time.Millisecond, DestLoss: 0, Reached: true},
		After: history.Snapshot{Hops: 3, Path: hops("192.0.2.1", "*", "198.51.100.9"), ASPath: []uint32{64500, 64501},
			DestRTT: 30 * time.Millisecond, DestLoss: 0.25, Reached: true},
		DiffTTLs: []int{2, 3},
		Verdict:  verdict,
	}
}

func TestRecordPath(t *testing.T) {
	stores(t, history.Options{}, func(t *testing.T, s history.Store) {
		a := history.Path{ID: 1, Hops: hops("192.0.2.1", "198.51.100.9")}
		b := history.Path{ID: 2, Hops: hops("192.0.2.1", "*", "198.51.100.9")}
		named := history.Path{ID: 1, Hops: []history.Hop{{TTL: 1, Addr: netip.MustParseAddr("192.0.2.1"), Name: "gw.example", ASN: 64500}}}
		steps := []struct {
			name string
			p    history.Path
			at   time.Time
			want []history.Path
		}{
			{"first path", a, t0, []history.Path{{ID: 1, Hops: a.Hops, FirstSeen: t0, LastSeen: t0, TimesSeen: 1}}},
			{"second path", b, t0.Add(time.Minute), []history.Path{
				{ID: 2, Hops: b.Hops, FirstSeen: t0.Add(time.Minute), LastSeen: t0.Add(time.Minute), TimesSeen: 1},
				{ID: 1, Hops: a.Hops, FirstSeen: t0, LastSeen: t0, TimesSeen: 1},
			}},
			{"first again, with names", named, t0.Add(2 * time.Minute), []history.Path{
				{ID: 1, Hops: named.Hops, FirstSeen: t0, LastSeen: t0.Add(2 * time.Minute), TimesSeen: 2},
				{ID: 2, Hops: b.Hops, FirstSeen: t0.Add(time.Minute), LastSeen: t0.Add(time.Minute), TimesSeen: 1},
			}},
			{"no hops keeps the stored ones", history.Path{ID: 2, TimesSeen: 99, FirstSeen: t0.Add(-time.Hour)}, t0.Add(3 * time.Minute), []history.Path{
				{ID: 2, Hops: b.Hops, FirstSeen: t0.Add(time.Minute), LastSeen: t0.Add(3 * time.Minute), TimesSeen: 2},
				{ID: 1, Hops: named.Hops, FirstSeen: t0, LastSeen: t0.Add(2 * time.Minute), TimesSeen: 2},
			}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				if err := s.RecordPath("tgt", st.p, st.at); err != nil {
					t.Fatal(err)
				}
				got, err := s.Paths("tgt")
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, st.want) {
					t.Errorf("Paths =\n%+v\nwant\n%+v", got, st.want)
				}
			})
		}
		if ps, err := s.Paths("other"); err != nil || len(ps) != 0 {
			t.Errorf("Paths(other) = %v, %v; want none", ps, err)
		}
	})
}

func TestChanges(t *testing.T) {
	stores(t, history.Options{}, func(t *testing.T, s history.Store) {
		for i := range 5 {
			id, err := s.AddChange(change("a", t0.Add(time.Duration(i)*time.Minute), history.Worse))
			if err != nil || id != uint64(i+1) {
				t.Fatalf("AddChange = %d, %v; want %d", id, err, i+1)
			}
		}
		if id, err := s.AddChange(change("b", t0, history.Better)); err != nil || id != 1 {
			t.Fatalf("AddChange(b) = %d, %v; want 1 (IDs are per target)", id, err)
		}
		tests := []struct {
			name   string
			target string
			since  time.Time
			limit  int
			want   []uint64
		}{
			{"all newest first", "a", time.Time{}, 0, []uint64{5, 4, 3, 2, 1}},
			{"limit", "a", time.Time{}, 2, []uint64{5, 4}},
			{"since is inclusive", "a", t0.Add(3 * time.Minute), 0, []uint64{5, 4}},
			{"since and limit", "a", t0.Add(time.Minute), 3, []uint64{5, 4, 3}},
			{"since after all", "a", t0.Add(time.Hour), 0, nil},
			{"other target", "b", time.Time{}, 0, []uint64{1}},
			{"unknown target", "c", time.Time{}, 0, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Changes(tt.target, tt.since, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				var ids []uint64
				for _, c := range got {
					ids = append(ids, c.ID)
					if c.Target != tt.target {
						t.Errorf("change %d of target %q", c.ID, c.Target)
					}
				}
				if !reflect.DeepEqual(ids, tt.want) {
					t.Errorf("IDs = %v, want %v", ids, tt.want)
				}
			})
		}
		got, _ := s.Changes("a", time.Time{}, 1)
		want := change("a", t0.Add(4*time.Minute), history.Worse)
		want.ID = 5
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("change 5 =\n%+v\nwant\n%+v", got, want)
		}
	})
}

func TestTargetsAndDelete(t *testing.T) {
	stores(t, history.Options{}, func(t *testing.T, s history.Store) {
		s.RecordPath("b", history.Path{ID: 1}, t0)
		s.AddChange(change("a", t0, history.Neutral))
		s.AddChange(change("c", t0, history.Neutral))
		if got, err := s.Targets(); err != nil || !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
			t.Fatalf("Targets = %v, %v", got, err)
		}
		if err := s.DeleteTarget("a"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTarget("never"); err != nil {
			t.Errorf("DeleteTarget(unknown) = %v", err)
		}
		if got, _ := s.Targets(); !reflect.DeepEqual(got, []string{"b", "c"}) {
			t.Errorf("Targets = %v after deleting a", got)
		}
		if cs, _ := s.Changes("a", time.Time{}, 0); len(cs) != 0 {
			t.Errorf("changes of a deleted target: %v", cs)
		}
	})
}

func TestInvalidInput(t *testing.T) {
	stores(t, history.Options{}, func(t *testing.T, s history.Store) {
		if err := s.RecordPath("", history.Path{}, t0); !errors.Is(err, history.ErrNoTarget) {
			t.Errorf("RecordPath without target = %v", err)
		}
		if _, err := s.AddChange(history.Change{}); !errors.Is(err, history.ErrNoTarget) {
			t.Errorf("AddChange without target = %v", err)
		}
		if err := s.RecordPath("x", history.Path{Hops: []history.Hop{{TTL: 0}}}, t0); err == nil {
			t.Error("RecordPath accepted TTL 0")
		}
		c := change("x", t0, history.Worse)
		c.After.Path[0].TTL = 256
		if _, err := s.AddChange(c); err == nil {
			t.Error("AddChange accepted TTL 256")
		}
		if got, _ := s.Targets(); len(got) != 0 {
			t.Errorf("Targets = %v after rejected writes", got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Paths("x"); !errors.Is(err, history.ErrClosed) {
			t.Errorf("Paths after Close = %v, want ErrClosed", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
	})
}

// TestConcurrentUse writes and reads from several goroutines; run with
// -race. Change IDs stay unique and dense per target.
func TestConcurrentUse(t *testing.T) {
	stores(t, history.Options{MaxChanges: 1000}, func(t *testing.T, s history.Store) {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 10 {
					s.RecordPath("tgt", history.Path{ID: uint64(i % 3)}, t0.Add(time.Duration(i)*time.Second))
					if _, err := s.AddChange(change("tgt", t0, history.Neutral)); err != nil {
						t.Error(err)
					}
					s.Changes("tgt", time.Time{}, 5)
					if g == 0 && i == 5 {
						s.Prune(t0)
					}
				}
			})
		}
		wg.Wait()
		cs, err := s.Changes("tgt", time.Time{}, 0)
		if err != nil || len(cs) != 40 || cs[0].ID != 40 || cs[39].ID != 1 {
			t.Errorf("%d changes, %v; want IDs 40..1", len(cs), err)
		}
		if ps, _ := s.Paths("tgt"); len(ps) != 3 || ps[0].TimesSeen+ps[1].TimesSeen+ps[2].TimesSeen != 40 {
			t.Errorf("Paths = %+v, want 3 paths seen 40 times in all", ps)
		}
	})
}
