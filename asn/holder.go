package asn

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// Holder keeps the current DB and replaces it only when a new one opens
// successfully, so a reload (SIGHUP, /-/reload) with a broken or missing
// file keeps answering from the previous database. The zero Holder holds
// no DB and finds nothing. Lookup is safe for concurrent use with Reload
// and Set and never blocks on them.
type Holder struct {
	mu  sync.Mutex // serialises Reload and Set
	cur atomic.Pointer[DB]
}

// Reload opens path and, on success, makes it the current DB and returns
// it. On failure the current DB stays in place and the error is returned.
// An empty path clears the holder (enrichment disabled).
func (h *Holder) Reload(path string) (*DB, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if path == "" {
		h.cur.Store(nil)
		return nil, nil
	}
	db, err := Open(path)
	if err != nil {
		return nil, err
	}
	h.cur.Store(db)
	return db, nil
}

// Set makes db the current DB; nil clears the holder.
func (h *Holder) Set(db *DB) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur.Store(db)
}

// Current returns the current DB, nil when there is none.
func (h *Holder) Current() *DB { return h.cur.Load() }

// Lookup looks addr up in the current DB; false when there is none.
func (h *Holder) Lookup(addr netip.Addr) (Info, bool) {
	return h.cur.Load().Lookup(addr)
}
