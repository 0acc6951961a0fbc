package history

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// Memory is a Store held in memory: for tests, and for running with
// persistence disabled. It applies the same rules and the same encoding
// checks as Bolt and returns the same values.
type Memory struct {
	opts    Options
	mu      sync.Mutex
	targets map[string]*memTarget
	closed  bool
}

type memTarget struct {
	paths   map[uint64]Path
	changes []Change // increasing ID
	seq     uint64   // last change ID handed out
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store bounded by o (LockTimeout and
// Now are not used).
func NewMemory(o Options) *Memory {
	return &Memory{opts: o, targets: make(map[string]*memTarget)}
}

// target returns the named target, creating it when create is set; nil
// when it does not exist. m.mu is held.
func (m *Memory) target(name string, create bool) *memTarget {
	t := m.targets[name]
	if t == nil && create {
		t = &memTarget{paths: make(map[uint64]Path)}
		m.targets[name] = t
	}
	return t
}

// RecordPath implements Store.
func (m *Memory) RecordPath(target string, p Path, at time.Time) error {
	if target == "" {
		return ErrNoTarget
	}
	if _, err := encodePath(p); err != nil { // same checks as Bolt
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	t := m.target(target, true)
	var old *Path
	if o, ok := t.paths[p.ID]; ok {
		old = &o
	}
	stored, err := roundTrip(upsert(old, p, at), encodePath, decodePath)
	if err != nil {
		return err
	}
	t.paths[p.ID] = stored
	return nil
}

// roundTrip passes v through the stored encoding, so a Memory store
// returns exactly what a Bolt store would (times in UTC without monotonic
// reading, NaN for a non-finite loss).
func roundTrip[T any](v T, enc func(T) ([]byte, error), dec func([]byte) (T, error)) (T, error) {
	b, err := enc(v)
	if err != nil {
		var zero T
		return zero, err
	}
	return dec(b)
}

// AddChange implements Store.
func (m *Memory) AddChange(c Change) (uint64, error) {
	if c.Target == "" {
		return 0, ErrNoTarget
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	c.ID = 1
	if t := m.target(c.Target, false); t != nil {
		c.ID = t.seq + 1
	}
	stored, err := roundTrip(c, encodeChange, decodeChange)
	if err != nil {
		return 0, err
	}
	t := m.target(c.Target, true)
	t.seq = stored.ID
	t.changes = append(t.changes, stored)
	return stored.ID, nil
}

// Paths implements Store.
func (m *Memory) Paths(target string) ([]Path, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	t := m.target(target, false)
	if t == nil {
		return nil, nil
	}
	out := make([]Path, 0, len(t.paths))
	for _, p := range t.paths {
		out = append(out, clonePath(p))
	}
	sortPaths(out)
	return out, nil
}

// Changes implements Store.
func (m *Memory) Changes(target string, since time.Time, limit int) ([]Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	t := m.target(target, false)
	if t == nil {
		return nil, nil
	}
	var out []Change
	for _, c := range slices.Backward(t.changes) {
		if limit > 0 && len(out) == limit {
			break
		}
		if inWindow(c.Time, since) {
			out = append(out, cloneChange(c))
		}
	}
	return out, nil
}

// Targets implements Store.
func (m *Memory) Targets() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	return slices.Sorted(maps.Keys(m.targets)), nil
}

// DeleteTarget implements Store.
func (m *Memory) DeleteTarget(target string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.targets, target)
	return nil
}

// Prune implements Store.
func (m *Memory) Prune(now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	n := 0
	for _, t := range m.targets {
		for _, id := range prunePaths(slices.Collect(maps.Values(t.paths)), now, m.opts) {
			delete(t.paths, id)
			n++
		}
		keys := make([]changeKey, len(t.changes))
		for i, c := range t.changes {
			keys[i] = changeKey{id: c.ID, time: c.Time}
		}
		del := make(map[uint64]bool)
		for _, id := range pruneChanges(keys, now, m.opts) {
			del[id] = true
		}
		t.changes = slices.DeleteFunc(t.changes, func(c Change) bool { return del[c.ID] })
		n += len(del)
	}
	return n, nil
}

// BadRecords implements Store; a Memory store has none.
func (m *Memory) BadRecords() (uint64, error) { return 0, nil }

// Close implements Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
