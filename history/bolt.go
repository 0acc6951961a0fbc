package history

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// schemaVersion is the layout of the bbolt file: a "meta" bucket with the
// key "version", and a "targets" bucket holding one bucket per target,
// each with a "paths" bucket (path ID -> record) and a "changes" bucket
// (change ID -> record), IDs as 8-byte big-endian keys.
const schemaVersion = 1

var (
	bucketMeta    = []byte("meta")
	bucketTargets = []byte("targets")
	bucketPaths   = []byte("paths")
	bucketChanges = []byte("changes")
	keyVersion    = []byte("version")
)

// Bolt is a Store in a bbolt database file. Opening takes the file's
// lock, so one file serves one process.
type Bolt struct {
	db     *bolt.DB
	path   string
	opts   Options
	closed atomic.Bool
	fault  faulted

	bad     atomic.Uint64
	mu      sync.Mutex // guards lastBad
	lastBad error
}

var _ Store = (*Bolt)(nil)

// MovedAside tells that the database file was unusable and was renamed,
// and that the store starts with an empty history. It is a warning: the
// store returned with it works.
type MovedAside struct {
	// Path is the database path, To where the unusable file now is.
	Path, To string
	// Err is why the file was unusable; it wraps ErrCorrupt.
	Err error
}

// Error describes the move.
func (m *MovedAside) Error() string {
	return fmt.Sprintf("history: %s was unusable and was moved to %s; starting an empty history: %v", m.Path, m.To, m.Err)
}

// Unwrap returns the reason.
func (m *MovedAside) Unwrap() error { return m.Err }

// OpenBolt opens or creates the database at path, creating its directory.
// A file that is not a valid bbolt database, fails bbolt's consistency
// check or makes bbolt panic is corrupt: it is renamed to
// "<path>.corrupt-<UTC time>" (never deleted), a fresh database is
// created, and the returned *MovedAside says so. Errors that say nothing
// about the file's content are returned as they are and leave it alone:
// the lock held by another process past o.LockTimeout (ErrLocked),
// permission and other I/O errors, a database of a newer version or
// another program (ErrIncompatible).
func OpenBolt(path string, o Options) (*Bolt, *MovedAside, error) {
	if path == "" {
		return nil, nil, errors.New("history: empty database path")
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, nil, fmt.Errorf("history: %w", err)
	}
	db, err := openChecked(path, o.LockTimeout)
	if err == nil {
		return &Bolt{db: db, path: path, opts: o}, nil, nil
	}
	if !errors.Is(err, ErrCorrupt) {
		return nil, nil, err
	}
	to, rerr := moveAside(path, o.Now())
	if rerr != nil {
		return nil, nil, fmt.Errorf("%w; moving it aside failed: %w", err, rerr)
	}
	moved := &MovedAside{Path: path, To: to, Err: err}
	if db, err = openChecked(path, o.LockTimeout); err != nil {
		return nil, nil, fmt.Errorf("history: fresh database after moving the corrupt one aside: %w", err)
	}
	return &Bolt{db: db, path: path, opts: o}, moved, nil
}

// openChecked opens path, runs bbolt's consistency check and sets up or
// checks the schema. Any panic from bbolt on a damaged file, and a memory
// fault reading a file shorter than its pages say (fault.go), is turned
// into an ErrCorrupt error. After a fault the half-open database is left
// as it is (bbolt may hold its locks): its descriptor and lock go with
// the renamed file.
func openChecked(path string, timeout time.Duration) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			what := "bbolt panicked"
			if isFault(r) {
				what = "memory fault reading the file (truncated?)"
			} else if db != nil {
				closeQuietly(db)
			}
			db, err = nil, fmt.Errorf("history: %s: %w: %s: %v", path, ErrCorrupt, what, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return nil, classifyOpenError(path, err)
	}
	if err := checkConsistency(db); err != nil {
		closeQuietly(db)
		return nil, fmt.Errorf("history: %s: %w: %w", path, ErrCorrupt, err)
	}
	if err := initSchema(db); err != nil {
		closeQuietly(db)
		return nil, fmt.Errorf("history: %s: %w", path, err)
	}
	return db, nil
}

// classifyOpenError tells a corrupt file from a lock held elsewhere and
// from I/O errors, which bbolt reports as *fs.PathError or errno.
func classifyOpenError(path string, err error) error {
	var (
		pe    *fs.PathError
		errno syscall.Errno
	)
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("history: %s: %w (is another exporter using it?): %w", path, ErrLocked, err)
	case errors.As(err, &pe), errors.As(err, &errno):
		return fmt.Errorf("history: %w", err)
	default:
		return fmt.Errorf("history: %s: %w: %w", path, ErrCorrupt, err)
	}
}

// checkConsistency runs bbolt's page-level check over the whole file and
// returns up to five of the problems it reports.
func checkConsistency(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			if len(errs) < 5 {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// initSchema creates the buckets of an empty file, or checks the version
// of an existing one.
func initSchema(db *bolt.DB) error {
	return db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			var foreign []byte
			_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				foreign = name
				return errStop
			})
			if foreign != nil {
				return fmt.Errorf("%w: not a traceroute_exporter history (it has a bucket %q)", ErrIncompatible, foreign)
			}
			var err error
			if meta, err = tx.CreateBucket(bucketMeta); err != nil {
				return err
			}
			if err := meta.Put(keyVersion, []byte(strconv.Itoa(schemaVersion))); err != nil {
				return err
			}
		}
		v, err := strconv.Atoi(string(meta.Get(keyVersion)))
		if err != nil || v < 1 {
			return fmt.Errorf("%w: schema version %q", ErrCorrupt, meta.Get(keyVersion))
		}
		if v > schemaVersion {
			return fmt.Errorf("%w: schema version %d is newer than %d", ErrIncompatible, v, schemaVersion)
		}
		_, err = tx.CreateBucketIfNotExists(bucketTargets)
		return err
	})
}

var errStop = errors.New("stop")

// moveAside renames the file at path to path.corrupt-<UTC time>, adding
// a counter if that name is taken, and returns the new name.
func moveAside(path string, now time.Time) (string, error) {
	base := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	to := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
			break
		}
		to = base + "." + strconv.Itoa(i)
	}
	if err := os.Rename(path, to); err != nil {
		return "", err
	}
	return to, nil
}

func closeQuietly(db *bolt.DB) {
	defer func() { _ = recover() }()
	_ = db.Close()
}

// Close implements Store. A store broken by a memory fault (fault.go)
// is only marked closed: bbolt may still hold the locks of the faulted
// transaction.
func (b *Bolt) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	if err := b.fault.broken(); err != nil {
		return err
	}
	return b.db.Close()
}

// Path returns the database file's path.
func (b *Bolt) Path() string { return b.path }
