package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// view and update run fn in a transaction; a panic from bbolt on a page
// damaged after opening, or a memory fault on a file damaged under the
// process (fault.go), becomes an ErrCorrupt error instead of a crash.
func (b *Bolt) view(fn func(*bolt.Tx) error) error   { return b.run(b.db.View, fn) }
func (b *Bolt) update(fn func(*bolt.Tx) error) error { return b.run(b.db.Update, fn) }

func (b *Bolt) run(tx func(func(*bolt.Tx) error) error, fn func(*bolt.Tx) error) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if err := b.fault.broken(); err != nil {
		return err
	}
	err := b.fault.guard(b.path, func() error { return tx(fn) })
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// buckets returns the paths and changes buckets of target, creating them
// in a writable transaction when create is set; nils when absent.
func buckets(tx *bolt.Tx, target string, create bool) (paths, changes *bolt.Bucket, err error) {
	root := tx.Bucket(bucketTargets)
	if root == nil {
		return nil, nil, fmt.Errorf("%w: no targets bucket", ErrCorrupt)
	}
	t := root.Bucket([]byte(target))
	if t == nil {
		if !create {
			return nil, nil, nil
		}
		if t, err = root.CreateBucket([]byte(target)); err != nil {
			return nil, nil, fmt.Errorf("history: target %q: %w", target, err)
		}
	}
	if create {
		if paths, err = t.CreateBucketIfNotExists(bucketPaths); err != nil {
			return nil, nil, err
		}
		if changes, err = t.CreateBucketIfNotExists(bucketChanges); err != nil {
			return nil, nil, err
		}
		return paths, changes, nil
	}
	return t.Bucket(bucketPaths), t.Bucket(bucketChanges), nil
}

func key(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// badRecord counts a record that did not decode and keeps its error.
func (b *Bolt) badRecord(target, kind string, k []byte, err error) {
	b.bad.Add(1)
	id := fmt.Sprintf("%x", k)
	if len(k) == 8 {
		id = fmt.Sprint(binary.BigEndian.Uint64(k))
	}
	b.mu.Lock()
	b.lastBad = fmt.Errorf("history: %s: target %q %s %s skipped: %w", b.path, target, kind, id, err)
	b.mu.Unlock()
}

// BadRecords implements Store.
func (b *Bolt) BadRecords() (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bad.Load(), b.lastBad
}

// RecordPath implements Store. A stored record of the same ID that does
// not decode is counted and replaced as if the ID were new.
func (b *Bolt) RecordPath(target string, p Path, at time.Time) error {
	if target == "" {
		return ErrNoTarget
	}
	if _, err := encodePath(p); err != nil {
		return err
	}
	return b.update(func(tx *bolt.Tx) error {
		paths, _, err := buckets(tx, target, true)
		if err != nil {
			return err
		}
		k := key(p.ID)
		var old *Path
		if v := paths.Get(k); v != nil {
			if o, err := decodePath(v); err == nil {
				old = &o
			} else {
				b.badRecord(target, "path", k, err)
			}
		}
		enc, err := encodePath(upsert(old, p, at))
		if err != nil {
			return err
		}
		return paths.Put(k, enc)
	})
}

// AddChange implements Store.
func (b *Bolt) AddChange(c Change) (uint64, error) {
	if c.Target == "" {
		return 0, ErrNoTarget
	}
	if _, err := encodeChange(c); err != nil {
		return 0, err
	}
	err := b.update(func(tx *bolt.Tx) error {
		_, changes, err := buckets(tx, c.Target, true)
		if err != nil {
			return err
		}
		if c.ID, err = changes.NextSequence(); err != nil {
			return err
		}
		enc, err := encodeChange(c)
		if err != nil {
			return err
		}
		return changes.Put(key(c.ID), enc)
	})
	if err != nil {
		return 0, err
	}
	return c.ID, nil
}

// Paths implements Store.
func (b *Bolt) Paths(target string) ([]Path, error) {
	var out []Path
	err := b.view(func(tx *bolt.Tx) error {
		paths, _, err := buckets(tx, target, false)
		if err != nil || paths == nil {
			return err
		}
		return paths.ForEach(func(k, v []byte) error {
			p, err := decodePath(v)
			if err != nil {
				b.badRecord(target, "path", k, err)
				return nil
			}
			out = append(out, p)
			return nil
		})
	})
	sortPaths(out)
	return out, err
}

// Changes implements Store.
func (b *Bolt) Changes(target string, since time.Time, limit int) ([]Change, error) {
	var out []Change
	err := b.view(func(tx *bolt.Tx) error {
		_, changes, err := buckets(tx, target, false)
		if err != nil || changes == nil {
			return err
		}
		c := changes.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			ch, err := decodeChange(v)
			if err != nil {
				b.badRecord(target, "change", k, err)
				continue
			}
			if inWindow(ch.Time, since) {
				out = append(out, ch)
			}
		}
		return nil
	})
	return out, err
}

// Targets implements Store.
func (b *Bolt) Targets() ([]string, error) {
	var out []string
	err := b.view(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketTargets)
		if root == nil {
			return fmt.Errorf("%w: no targets bucket", ErrCorrupt)
		}
		return root.ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// DeleteTarget implements Store.
func (b *Bolt) DeleteTarget(target string) error {
	return b.update(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketTargets)
		if root == nil {
			return fmt.Errorf("%w: no targets bucket", ErrCorrupt)
		}
		if err := root.DeleteBucket([]byte(target)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
		return nil
	})
}

// Prune implements Store, in one transaction. Paths that do not decode
// are left alone; changes that do not decode are removed only by the cap.
func (b *Bolt) Prune(now time.Time) (int, error) {
	targets, err := b.Targets()
	if err != nil {
		return 0, err
	}
	n := 0
	err = b.update(func(tx *bolt.Tx) error {
		n = 0
		for _, target := range targets {
			paths, changes, err := buckets(tx, target, false)
			if err != nil {
				return err
			}
			if paths != nil {
				var ps []Path
				_ = paths.ForEach(func(k, v []byte) error {
					if p, err := decodePath(v); err == nil {
						ps = append(ps, p)
					} else {
						b.badRecord(target, "path", k, err)
					}
					return nil
				})
				for _, id := range prunePaths(ps, now, b.opts) {
					if err := paths.Delete(key(id)); err != nil {
						return err
					}
					n++
				}
			}
			if changes != nil {
				var keys []changeKey
				_ = changes.ForEach(func(k, v []byte) error {
					c, err := decodeChange(v)
					if err != nil {
						b.badRecord(target, "change", k, err)
					}
					if len(k) == 8 {
						keys = append(keys, changeKey{id: binary.BigEndian.Uint64(k), time: c.Time, bad: err != nil})
					}
					return nil
				})
				for _, id := range pruneChanges(keys, now, b.opts) {
					if err := changes.Delete(key(id)); err != nil {
						return err
					}
					n++
				}
			}
		}
		return nil
	})
	return n, err
}
