package history_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// TestBoltFileTruncatedUnderneath truncates the database file under an
// open store, as a careless operator or a broken disk can: bbolt reads it
// through a memory mapping, and reading past the new end used to end the
// process with SIGBUS. Every operation now fails with ErrCorrupt (the
// store stays broken: bbolt may hold the faulted transaction's locks),
// and Close returns.
func TestBoltFileTruncatedUnderneath(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
	}{
		// Nothing left: the fault is in bbolt's Begin, reading the meta
		// page, with its locks taken.
		{"to nothing", 0},
		// The meta pages left: the fault is in the transaction, reading
		// the buckets.
		{"to the meta pages", 2 * int64(os.Getpagesize())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "h.db")
			fill(t, path)
			s := openBolt(t, path)
			if err := os.Truncate(path, tc.size); err != nil {
				t.Fatal(err)
			}
			ops := map[string]func() error{
				"Paths":      func() error { _, err := s.Paths("tgt"); return err },
				"Changes":    func() error { _, err := s.Changes("tgt", time.Time{}, 0); return err },
				"RecordPath": func() error { return s.RecordPath("tgt", history.Path{ID: 9, Hops: hops("192.0.2.3")}, t0) },
				"AddChange":  func() error { _, err := s.AddChange(change("tgt", t0, history.Better)); return err },
				"Targets":    func() error { _, err := s.Targets(); return err },
			}
			for _, op := range []string{"Paths", "Changes", "RecordPath", "AddChange", "Targets", "Paths"} {
				done := make(chan error, 1)
				go func() { done <- ops[op]() }()
				select {
				case err := <-done:
					if !errors.Is(err, history.ErrCorrupt) {
						t.Errorf("%s on the truncated file: %v, want ErrCorrupt", op, err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%s on the truncated file still running after 5s", op)
				}
			}
			closed := make(chan error, 1)
			go func() { closed <- s.Close() }()
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatalf("Close still running after 5s")
			}
			// The file stays locked until the process exits; the next
			// start's OpenBolt is TestBoltOpenTruncated.
		})
	}
}

// TestBoltOpenTruncated opens a database file cut short after its meta
// pages: it is moved aside and a fresh one started, as a corrupt file is,
// where reading the missing pages used to end the process with SIGBUS.
func TestBoltOpenTruncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	fill(t, path)
	if err := os.Truncate(path, 2*int64(os.Getpagesize())); err != nil {
		t.Fatal(err)
	}
	s, moved, err := history.OpenBolt(path, history.Options{Now: fixedNow})
	if err != nil || moved == nil || !errors.Is(moved, history.ErrCorrupt) {
		t.Fatalf("OpenBolt = %v, %v; want the file moved aside as corrupt", moved, err)
	}
	defer s.Close()
	if ps, err := s.Paths("tgt"); err != nil || len(ps) != 0 {
		t.Errorf("fresh database: %d paths, %v", len(ps), err)
	}
	if err := s.RecordPath("tgt", history.Path{ID: 1, Hops: hops("192.0.2.1")}, t0); err != nil {
		t.Errorf("fresh database: %v", err)
	}
}
