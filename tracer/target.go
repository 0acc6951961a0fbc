package tracer

import (
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"
)

// Target is one traced destination, as the engine schedules it. The
// address and the hop-count hint may be set from any goroutine; the engine
// reads them at the start of each interval.
type Target struct {
	sched Schedule
	done  func(Result)
	addr  atomic.Pointer[netip.Addr]
	hint  atomic.Int32
	gone  atomic.Bool // removed: results still queued are dropped

	// Owned by the engine's loop.
	flow    flow
	removed bool
	start   time.Time // start of the next interval
	job     *job      // the interval in progress, if any
}

// NewTarget returns a target to trace on schedule s; done receives every
// finished interval, off the probing loop, one at a time per engine.
func NewTarget(s Schedule, done func(Result)) *Target {
	return &Target{sched: s, done: done}
}

// SetAddr sets the address traced from the next interval on; an invalid
// address pauses tracing.
func (t *Target) SetAddr(a netip.Addr) { t.addr.Store(&a) }

// Addr returns the address the target is traced at.
func (t *Target) Addr() netip.Addr {
	if p := t.addr.Load(); p != nil {
		return *p
	}
	return netip.Addr{}
}

// SetHint gives the hop count of the target's current path (0: unknown).
// Intervals then probe TTLs up to hint+1 instead of MaxHops until their own
// replies show the path is longer.
func (t *Target) SetHint(hops int) { t.hint.Store(int32(hops)) }

// flow is a target's Paris flow to one destination: every probe carries the
// same ICMP identifier and checksum; the sequence number tells them apart.
type flow struct {
	dst     netip.Addr
	id, seq uint16
}

// idTable hands out ICMP identifiers that are unique per destination (the
// probe key includes the destination, so two targets only need distinct
// identifiers when they trace the same address). Identifiers are random, so
// two exporters on one host rarely pick the same one for a destination.
type idTable map[netip.Addr]map[uint16]struct{}

// take returns a random identifier not in use towards dst.
func (ids idTable) take(dst netip.Addr) uint16 {
	used := ids[dst]
	if used == nil {
		used = map[uint16]struct{}{}
		ids[dst] = used
	}
	for {
		id := uint16(rand.Uint32())
		if _, ok := used[id]; !ok || len(used) >= 1<<16 {
			used[id] = struct{}{}
			return id
		}
	}
}

// release frees an identifier towards dst.
func (ids idTable) release(dst netip.Addr, id uint16) {
	if used := ids[dst]; used != nil {
		delete(used, id)
		if len(used) == 0 {
			delete(ids, dst)
		}
	}
}
