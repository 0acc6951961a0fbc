package history

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
)

// bbolt reads the database through a shared memory mapping. A file
// truncated under the running process, or pages the disk can no longer
// read, make the goroutine that touches them fault (SIGBUS), which ends
// the whole process. Every transaction of the store therefore runs with
// panic-on-fault, turning such a fault into a panic that is recovered.
// The store is broken from then on: the faulting transaction may have
// left bbolt's locks held, so bbolt is never called again; every
// operation fails with an ErrCorrupt error, Close releases nothing (the
// process exit does), and the next start finds the damaged file and
// moves it aside (OpenBolt).

// faulted holds the error of the fault that broke a store.
type faulted struct{ err atomic.Pointer[error] }

// broken returns the error of the fault that broke the store, or nil.
func (f *faulted) broken() error {
	if p := f.err.Load(); p != nil {
		return *p
	}
	return nil
}

// guard runs fn with panic-on-fault. A memory fault breaks the store and
// is returned as an ErrCorrupt error; any other panic (bbolt's own, on a
// damaged page) is returned as one without breaking it, as the
// transaction has released its locks.
func (f *faulted) guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if isFault(r) {
			err = fmt.Errorf("history: %s: %w: memory fault reading the file (truncated or unreadable under the exporter); history disabled until restart: %v", path, ErrCorrupt, r)
			f.err.CompareAndSwap(nil, &err)
			return
		}
		err = fmt.Errorf("history: %s: %w: bbolt panicked: %v", path, ErrCorrupt, r)
	}()
	return fn()
}

// isFault reports whether a recovered value is a memory fault turned into
// a panic by panic-on-fault (a runtime.Error with the faulting address).
func isFault(r any) bool {
	_, ok := r.(interface{ Addr() uintptr })
	return ok
}
