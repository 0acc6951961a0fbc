// Package history keeps the path history of every target across restarts:
// the distinct paths seen (with first seen, last seen, times seen) and the
// path change events, each with the state before and after and a verdict
// (worse, better, neutral).
//
// The [Store] interface has two implementations: [Bolt], a go.etcd.io/bbolt
// file (bolt.go, bolt_store.go), and [Memory], for tests and for running
// without persistence (memory.go). Both apply the same rules (rules.go):
// upsert of paths, newest-first change listing, retention by age and
// per-target caps. Records are stored in a versioned encoding (codec.go);
// a record that does not decode is skipped and counted, never fatal. A
// database file that cannot be opened because it is corrupt is moved aside,
// never deleted, and a fresh one is started ([OpenBolt]).
//
// verdict.go holds the pure comparison of two snapshots ([Judge]) and the
// list of TTLs whose responder changed ([DiffTTLs]).
package history

import (
	"errors"
	"net/netip"
	"time"
)

// DefaultPath is where the exporter keeps its database unless told
// otherwise; OpenBolt creates the directory.
const DefaultPath = "data/traceroute_exporter.db"

// Hop is one TTL of a path.
type Hop struct {
	// TTL is the hop's distance, 1 for the first router.
	TTL int
	// Addr is the responder; the zero Addr for a hop that did not answer.
	Addr netip.Addr
	// Name is the reverse-DNS name of Addr, if known.
	Name string
	// ASN is the autonomous system of Addr, 0 if unknown.
	ASN uint32
}

// Path is one distinct path to a target.
type Path struct {
	// ID identifies the path within its target; the caller derives it
	// from the hops (e.g. the path identity hash), so the same path
	// always has the same ID.
	ID uint64
	// Hops are the path's hops, by TTL.
	Hops []Hop
	// FirstSeen and LastSeen are the times of the first and the latest
	// RecordPath of this ID; TimesSeen is the number of those calls.
	FirstSeen, LastSeen time.Time
	TimesSeen           int
}

// Snapshot is the state of a target on one side of a change.
type Snapshot struct {
	// Hops is the hop count: the destination's TTL when reached.
	Hops int
	// Path is the hops with their responders, names and ASNs.
	Path []Hop
	// ASPath is the sequence of distinct consecutive known ASNs.
	ASPath []uint32
	// DestRTT is the destination's mean RTT over the interval; 0 if
	// unknown.
	DestRTT time.Duration
	// DestLoss is the destination's loss ratio over the interval, 0 to 1;
	// NaN if unknown.
	DestLoss float64
	// Reached tells whether the destination answered.
	Reached bool
	// BGPASPathLength is the length of the AS path of the BGP route
	// covering the target; 0 when unknown (no BGP, no route).
	BGPASPathLength int
}

// Change is one path change event of a target.
type Change struct {
	// ID numbers the target's changes from 1, in the order they were
	// added; assigned by AddChange.
	ID uint64
	// Time is when the change was seen.
	Time time.Time
	// Target is the target's name.
	Target string
	// Before and After are the last interval before the change and the
	// first after it.
	Before, After Snapshot
	// DiffTTLs are the TTLs whose responder differs (see DiffTTLs).
	DiffTTLs []int
	// Verdict is Worse, Better or Neutral (see Judge).
	Verdict string
	// Kind is KindPath or KindRouting; empty in records from before BGP
	// correlation (a path change).
	Kind string
	// BGPChecked tells whether BGP was correlated with the event; BGP
	// are the changes of the covering route it was correlated with.
	BGPChecked bool
	BGP        []BGPChange
}

// Store keeps the path history. Implementations are safe for concurrent
// use. Unknown targets have no paths and no changes (not an error).
type Store interface {
	// RecordPath upserts p under target: a new ID is stored with
	// FirstSeen = LastSeen = at and TimesSeen = 1; a known ID gets
	// LastSeen = at, TimesSeen+1 and p's hops (names and ASNs may have
	// been learnt since). p's own times and count are ignored.
	RecordPath(target string, p Path, at time.Time) error
	// AddChange stores c under c.Target with the target's next change ID
	// (c.ID is ignored) and returns that ID.
	AddChange(c Change) (uint64, error)
	// Paths returns the target's paths, most recently seen first.
	Paths(target string) ([]Path, error)
	// Changes returns the target's changes at or after since (all when
	// since is zero), newest first, at most limit of them (all when
	// limit <= 0).
	Changes(target string, since time.Time, limit int) ([]Change, error)
	// Targets returns the names of the targets with history, sorted.
	Targets() ([]string, error)
	// DeleteTarget removes all history of target.
	DeleteTarget(target string) error
	// Prune applies the retention and the per-target caps of the
	// Options as of now and returns the number of records removed.
	Prune(now time.Time) (int, error)
	// BadRecords returns the number of records skipped so far because
	// they did not decode (each read counts), and the latest such error.
	BadRecords() (uint64, error)
	// Close releases the store.
	Close() error
}

// Defaults for Options.
const (
	DefaultRetention   = 30 * 24 * time.Hour
	DefaultMaxPaths    = 100
	DefaultMaxChanges  = 1000
	DefaultLockTimeout = time.Second
)

// Options bound the history and configure the bbolt store.
type Options struct {
	// Retention is the age after which Prune removes changes and paths
	// not seen since; 0 keeps them forever. The most recently seen path
	// of a target is always kept, however old.
	Retention time.Duration
	// MaxPaths and MaxChanges cap the paths and changes kept per target
	// by Prune (the least recently seen paths and the oldest changes go
	// first); 0 means no cap.
	MaxPaths   int
	MaxChanges int
	// LockTimeout is how long OpenBolt waits for the file lock held by
	// another process; DefaultLockTimeout when 0.
	LockTimeout time.Duration
	// Now names moved-aside corrupt files; time.Now when nil.
	Now func() time.Time
}

// DefaultOptions returns the default retention, caps and lock timeout.
func DefaultOptions() Options {
	return Options{
		Retention:   DefaultRetention,
		MaxPaths:    DefaultMaxPaths,
		MaxChanges:  DefaultMaxChanges,
		LockTimeout: DefaultLockTimeout,
	}
}

// Errors returned by the stores, checked with errors.Is.
var (
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("history: store closed")
	// ErrNoTarget: RecordPath or AddChange without a target name.
	ErrNoTarget = errors.New("history: empty target name")
	// ErrBadRecord wraps every record decoding error.
	ErrBadRecord = errors.New("bad history record")
	// ErrCorrupt wraps the reason a database file is considered corrupt.
	ErrCorrupt = errors.New("corrupt history database")
	// ErrLocked: another process holds the database file.
	ErrLocked = errors.New("history database locked by another process")
	// ErrIncompatible: the file is a bbolt database of a newer version of
	// this program or of another program; it is left untouched.
	ErrIncompatible = errors.New("incompatible history database")
)
