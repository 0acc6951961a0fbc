package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// smallDisk is an ext4 filesystem of a few MiB in a file, mounted through
// a loop device for one test, with errors=remount-ro: a real disk that
// fills up, and that the kernel makes read-only after an error, as it
// does with a failing disk.
type smallDisk struct {
	img, dir, filler string
	mounted          bool
}

// newSmallDisk creates and mounts the filesystem in the test's temporary
// directory and unmounts it at cleanup. Call it before starting a process
// that writes there, so that the process has exited when it is unmounted.
func newSmallDisk(t testing.TB, size int64) *smallDisk {
	t.Helper()
	for _, tool := range []string{"mkfs.ext4", "e2fsck", "findmnt"} {
		testenv.Tool(t, tool)
	}
	tmp := t.TempDir()
	d := &smallDisk{img: filepath.Join(tmp, "disk.img"), dir: filepath.Join(tmp, "disk")}
	d.filler = filepath.Join(d.dir, "filler")
	if err := os.Mkdir(d.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(d.img)
	if err == nil {
		err = f.Truncate(size)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	d.run(t, "mkfs.ext4", "-q", "-F", "-m", "0", d.img)
	t.Cleanup(func() {
		if d.mounted {
			if out, err := exec.Command("umount", d.dir).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", d.dir, err, out)
			}
		}
	})
	d.mount(t)
	return d
}

func (d *smallDisk) run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (d *smallDisk) mount(t testing.TB) {
	t.Helper()
	d.run(t, "mount", "-o", "loop,errors=remount-ro", d.img, d.dir)
	d.mounted = true
}

// free returns the bytes the filesystem has left for files (ext4 keeps
// some for its own metadata).
func (d *smallDisk) free(t testing.TB) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}

// fill writes a file until the filesystem has no space left, and checks
// that it has none.
func (d *smallDisk) fill(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(d.filler, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{64 << 10, 4 << 10, 512, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling %s: %v", d.dir, err)
				}
				break
			}
		}
	}
	if err := f.Close(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	if n := d.free(t); n != 0 {
		t.Fatalf("%s still has %d bytes free after filling it", d.dir, n)
	}
}

// fail makes the kernel see an error on the filesystem (ext4's
// trigger_fs_error, for tests): with errors=remount-ro it aborts the
// journal and makes the filesystem read-only under every process that
// has a file open on it.
func (d *smallDisk) fail(t testing.TB) {
	t.Helper()
	dev := filepath.Base(d.run(t, "findmnt", "-n", "-o", "SOURCE", d.dir))
	if err := os.WriteFile("/sys/fs/ext4/"+dev+"/trigger_fs_error", []byte("traceroute_exporter fault test\n"), 0o200); err != nil {
		t.Fatal(err)
	}
	// Kernels since 6.12 show it as emergency_ro, before as ro.
	if opts := d.run(t, "findmnt", "-n", "-o", "OPTIONS", d.dir); !strings.HasPrefix(opts, "ro,") && !strings.Contains(opts, "emergency_ro") {
		t.Fatalf("%s not read-only after an error: %s", d.dir, opts)
	}
}

// repair does what an operator does once nothing uses the filesystem:
// unmount, check and mount again, and delete the filler. It checks and
// mounts a copy of the image: the failed filesystem lives on (read-only)
// as long as any mount namespace holds a copy of its mount, and one that
// another program on the host created meanwhile (a sandbox) may hold it
// for long; the next mount of the same image would get it back.
func (d *smallDisk) repair(t testing.TB) {
	t.Helper()
	d.run(t, "umount", d.dir)
	d.mounted = false
	img := d.img + ".repaired"
	d.run(t, "cp", "--sparse=always", d.img, img)
	d.img = img
	// 1: errors were corrected (the one the test triggered).
	if out, err := exec.Command("e2fsck", "-f", "-y", d.img).CombinedOutput(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("e2fsck: %v: %s", err, out)
		}
	}
	d.mount(t)
	if err := os.Remove(d.filler); err != nil {
		t.Fatal(err)
	}
}
