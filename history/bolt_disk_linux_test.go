package history_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/history"
	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// TestBoltFullDisk runs the store on a real filesystem that fills up (a
// 1 MiB tmpfs, as root): bbolt writes into the free pages of its file
// while it has some, and a write that needs the file to grow fails with
// ENOSPC and stores nothing; what was stored before stays readable, also
// after reopening, and writes succeed again once there is space.
func TestBoltFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("needs root to mount a tmpfs; skipped with -short")
	}
	testenv.Root(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "trxhistory", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	path := filepath.Join(dir, "h.db")
	s := openBolt(t, path)
	umounted := false
	t.Cleanup(func() {
		s.Close()
		if !umounted {
			exec.Command("umount", dir).Run()
		}
	})
	target := func(i int) string { return fmt.Sprintf("target-%03d", i) }
	record := func(i int) error {
		return s.RecordPath(target(i), history.Path{ID: uint64(i + 1), Hops: hops("192.0.2.1", "*", "2001:db8::9")}, t0)
	}
	for i := range 10 {
		if err := record(i); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddChange(change(target(i), t0, history.Worse)); err != nil {
			t.Fatal(err)
		}
	}
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for _, err = f.Write(make([]byte, 4096)); err == nil; _, err = f.Write(make([]byte, 4096)) {
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v", err)
	}

	// Write new targets until one fails: the file must grow at the latest
	// when its free pages are used up.
	stored, failed := 10, -1
	for i := 10; i < 500 && failed < 0; i++ {
		switch err := record(i); {
		case err == nil:
			stored++
		case errors.Is(err, syscall.ENOSPC):
			failed = i
		default:
			t.Fatalf("%s on a full disk: %v, want ENOSPC", target(i), err)
		}
	}
	if failed < 0 {
		t.Fatalf("490 paths written on a full disk without an error")
	}
	t.Logf("on the full disk: %d paths more written into free pages, then ENOSPC", stored-10)
	check := func(s *history.Bolt) {
		t.Helper()
		for i := 0; i < stored; i++ {
			if ps, err := s.Paths(target(i)); err != nil || len(ps) != 1 {
				t.Errorf("%s: %d paths, %v; want 1", target(i), len(ps), err)
			}
		}
		for i := range 10 {
			if cs, err := s.Changes(target(i), time.Time{}, 0); err != nil || len(cs) != 1 {
				t.Errorf("%s: %d changes, %v; want 1", target(i), len(cs), err)
			}
		}
		if ps, err := s.Paths(target(failed)); err != nil || len(ps) != 0 {
			t.Errorf("%s, whose write failed: %d paths, %v; want none", target(failed), len(ps), err)
		}
	}
	check(s)
	if _, err := s.AddChange(change(target(0), t0, history.Worse)); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("AddChange on the full disk: %v, want ENOSPC", err)
	}

	// Space again: the same write succeeds; reopened, everything is there.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := record(failed); err != nil {
		t.Fatalf("%s once there is space: %v", target(failed), err)
	}
	stored++
	s.Close()
	s = openBolt(t, path)
	failed = stored + 1 // never written
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v: %s", err, out)
	}
	umounted = true
}
