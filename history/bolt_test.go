package history_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// fixedNow is the clock of the stores under test.
func fixedNow() time.Time { return t0 }

func openBolt(t *testing.T, path string) *history.Bolt {
	t.Helper()
	s, moved, err := history.OpenBolt(path, history.Options{Now: fixedNow})
	if err != nil || moved != nil {
		t.Fatalf("OpenBolt = %v, %v", moved, err)
	}
	return s
}

// fill writes two paths and three changes for "tgt" and closes the store.
func fill(t *testing.T, path string) {
	t.Helper()
	s := openBolt(t, path)
	defer s.Close()
	s.RecordPath("tgt", history.Path{ID: 7, Hops: hops("192.0.2.1", "*", "2001:db8::9")}, t0)
	s.RecordPath("tgt", history.Path{ID: 8, Hops: hops("192.0.2.2")}, t0.Add(time.Minute))
	s.RecordPath("tgt", history.Path{ID: 7}, t0.Add(2*time.Minute))
	for i := range 3 {
		if _, err := s.AddChange(change("tgt", t0.Add(time.Duration(i)*time.Minute), history.Worse)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBoltPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	fill(t, path)
	s := openBolt(t, path)
	defer s.Close()
	ps, err := s.Paths("tgt")
	if err != nil {
		t.Fatal(err)
	}
	want := []history.Path{
		{ID: 7, Hops: hops("192.0.2.1", "*", "2001:db8::9"), FirstSeen: t0, LastSeen: t0.Add(2 * time.Minute), TimesSeen: 2},
		{ID: 8, Hops: hops("192.0.2.2"), FirstSeen: t0.Add(time.Minute), LastSeen: t0.Add(time.Minute), TimesSeen: 1},
	}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("Paths after reopen =\n%+v\nwant\n%+v", ps, want)
	}
	cs, err := s.Changes("tgt", time.Time{}, 0)
	if err != nil || len(cs) != 3 {
		t.Fatalf("Changes after reopen = %d, %v", len(cs), err)
	}
	wantC := change("tgt", t0.Add(2*time.Minute), history.Worse)
	wantC.ID = 3
	if !reflect.DeepEqual(cs[0], wantC) {
		t.Errorf("newest change after reopen =\n%+v\nwant\n%+v", cs[0], wantC)
	}
	if id, err := s.AddChange(change("tgt", t0, history.Better)); err != nil || id != 4 {
		t.Errorf("AddChange after reopen = %d, %v; want 4", id, err)
	}
	if n, last := s.BadRecords(); n != 0 || last != nil {
		t.Errorf("BadRecords = %d, %v", n, last)
	}
}

// corruptions turn a valid database file into a broken one.
var corruptions = []struct {
	name string
	mod  func(valid []byte) []byte
}{
	{"text", func([]byte) []byte { return []byte("this is not a database\n") }},
	{"random 16KiB", func([]byte) []byte {
		b := make([]byte, 16<<10)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}},
	{"zeros", func([]byte) []byte { return make([]byte, 32<<10) }},
	{"truncated", func(v []byte) []byte { return v[:5000] }},
	{"meta checksums", func(v []byte) []byte {
		b := bytes.Clone(v)
		ps := int(binary.LittleEndian.Uint32(b[24:])) // meta page size
		b[16+40] ^= 0xff                              // meta 0 high-water mark
		b[ps+16+40] ^= 0xff                           // meta 1 high-water mark
		return b
	}},
	{"bucket pages, freelist intact", func(v []byte) []byte {
		b := bytes.Clone(v)
		ps := int(binary.LittleEndian.Uint32(b[24:]))
		keep := map[int]bool{}
		for m := range 2 { // the freelist page of either meta page
			keep[int(binary.LittleEndian.Uint64(b[m*ps+16+32:]))] = true
		}
		for i := 2 * ps; i < len(b); i++ {
			if !keep[i/ps] && i%ps >= 16 { // keep page headers, break contents
				b[i] ^= 0xa5
			}
		}
		return b
	}},
	{"data pages", func(v []byte) []byte {
		b := bytes.Clone(v)
		ps := int(binary.LittleEndian.Uint32(b[24:]))
		for i := 2 * ps; i < len(b); i++ {
			b[i] = byte(i * 7)
		}
		return b
	}},
}

func TestBoltCorruptMovedAside(t *testing.T) {
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "h.db")
			fill(t, path)
			valid, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bad := c.mod(valid)
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			s, moved, err := history.OpenBolt(path, history.Options{Now: fixedNow})
			if err != nil {
				t.Fatalf("OpenBolt = %v", err)
			}
			defer s.Close()
			if moved == nil || !errors.Is(moved, history.ErrCorrupt) {
				t.Fatalf("moved = %v, want a MovedAside wrapping ErrCorrupt", moved)
			}
			if want := path + ".corrupt-20250304T050607Z"; moved.To != want || moved.Path != path {
				t.Errorf("moved %s to %s, want %s to %s", moved.Path, moved.To, path, want)
			}
			if kept, err := os.ReadFile(moved.To); err != nil || !bytes.Equal(kept, bad) {
				t.Errorf("moved-aside file differs from the corrupt one (err %v)", err)
			}
			if ps, err := s.Paths("tgt"); err != nil || len(ps) != 0 {
				t.Errorf("fresh store has paths %v, %v", ps, err)
			}
			if err := s.RecordPath("tgt", history.Path{ID: 1}, t0); err != nil {
				t.Errorf("fresh store: %v", err)
			}
		})
	}
}

func TestBoltCorruptTwiceSameSecond(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	var tos []string
	for range 3 {
		os.WriteFile(path, []byte("garbage"), 0o600)
		s, moved, err := history.OpenBolt(path, history.Options{Now: fixedNow})
		if err != nil || moved == nil {
			t.Fatalf("OpenBolt = %v, %v", moved, err)
		}
		s.Close()
		tos = append(tos, filepath.Base(moved.To))
	}
	want := []string{"h.db.corrupt-20250304T050607Z", "h.db.corrupt-20250304T050607Z.1", "h.db.corrupt-20250304T050607Z.2"}
	if !reflect.DeepEqual(tos, want) {
		t.Errorf("moved to %v, want %v", tos, want)
	}
}

// TestBoltNotMovedAside covers the errors that leave the file alone.
func TestBoltNotMovedAside(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string) (cleanup func())
		is    error
		msg   string
	}{
		{"locked by another opener", func(t *testing.T, path string) func() {
			s := openBolt(t, path)
			return func() { s.Close() }
		}, history.ErrLocked, "another exporter"},
		{"another program's database", func(t *testing.T, path string) func() {
			rawUpdate(t, path, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("users")); return err })
			return func() {}
		}, history.ErrIncompatible, `bucket "users"`},
		{"newer schema", func(t *testing.T, path string) func() {
			fill(t, path)
			rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("version"), []byte("2")) })
			return func() {}
		}, history.ErrIncompatible, "schema version 2 is newer than 1"},
		{"path is a directory", func(t *testing.T, path string) func() {
			os.Mkdir(path, 0o700)
			return func() {}
		}, nil, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "h.db")
			defer tt.setup(t, path)()
			s, moved, err := history.OpenBolt(path, history.Options{LockTimeout: 20 * time.Millisecond, Now: fixedNow})
			if err == nil {
				s.Close()
			}
			if err == nil || moved != nil || !strings.Contains(err.Error(), tt.msg) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("OpenBolt = %v, %v; want an error %v containing %q", moved, err, tt.is, tt.msg)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "*.corrupt-*")); len(m) != 0 {
				t.Errorf("file moved aside: %v", m)
			}
		})
	}
}

// rawUpdate changes the database file with bbolt directly.
func rawUpdate(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// TestBoltBadRecords damages records inside a valid file: they are
// skipped and counted, the rest reads, and pruning copes.
func TestBoltBadRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	fill(t, path)
	key := func(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		tgt := tx.Bucket([]byte("targets")).Bucket([]byte("tgt"))
		if err := tgt.Bucket([]byte("changes")).Put(key(2), []byte("\x01{not json")); err != nil {
			return err
		}
		return tgt.Bucket([]byte("paths")).Put(key(8), []byte("\x02{}")) // a future version
	})
	s := openBolt(t, path)
	defer s.Close()
	cs, err := s.Changes("tgt", time.Time{}, 0)
	if err != nil || len(cs) != 2 || cs[0].ID != 3 || cs[1].ID != 1 {
		t.Fatalf("Changes = %+v, %v; want changes 3 and 1", cs, err)
	}
	ps, err := s.Paths("tgt")
	if err != nil || len(ps) != 1 || ps[0].ID != 7 {
		t.Fatalf("Paths = %+v, %v; want path 7", ps, err)
	}
	n, last := s.BadRecords()
	if n != 2 || !errors.Is(last, history.ErrBadRecord) || !strings.Contains(last.Error(), `target "tgt" path 8 skipped`) ||
		!strings.Contains(last.Error(), "unsupported record version 2") {
		t.Errorf("BadRecords = %d, %v", n, last)
	}
	// Recording path 8 again replaces the bad record.
	if err := s.RecordPath("tgt", history.Path{ID: 8}, t0); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.Paths("tgt"); len(ps) != 2 {
		t.Errorf("Paths after rewrite = %+v", ps)
	}
	// Retention never removes a record it cannot date; the cap does.
	s.Close()
	for _, o := range []history.Options{{Retention: time.Hour}, {MaxChanges: 1}} {
		s, moved, err := history.OpenBolt(path, o)
		if err != nil || moved != nil {
			t.Fatalf("OpenBolt = %v, %v", moved, err)
		}
		if o.MaxChanges > 0 {
			s.AddChange(change("tgt", t0, history.Neutral))
		}
		_, err = s.Prune(t0.Add(1000 * time.Hour))
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint64
		rawView(t, path, func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("targets")).Bucket([]byte("tgt")).Bucket([]byte("changes")).ForEach(func(k, _ []byte) error {
				ids = append(ids, binary.BigEndian.Uint64(k))
				return nil
			})
		})
		want := []uint64{2} // by retention: the bad one only
		if o.MaxChanges > 0 {
			want = []uint64{4} // by the cap: the newest
		}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("%+v: change records %v after Prune, want %v", o, ids, want)
		}
	}
}

// rawView reads the database file with bbolt directly.
func rawView(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(fn); err != nil {
		t.Fatal(err)
	}
}
