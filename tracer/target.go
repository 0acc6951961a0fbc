package tracer

import (
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
	flows   []*flow // the flows to the current address; nil before the first
	removed bool
	start   time.Time // start of the next interval
	job     *job      // the interval in progress, if any
	// Path MTU: intervals started (for Schedule.PMTUEvery), the search in
	// progress and the last finished one not yet delivered.
	intervals int
	mtu       *mtuRun
	mtuDone   *MTUResult
}

// nflows is how many flows trace the target.
func (t *Target) nflows() int { return max(1, t.sched.Flows) }

// method is the target's probe method (ICMP unless the schedule says).
func (t *Target) method() Method {
	if t.sched.Method == nil {
		return ICMP
	}
	return t.sched.Method
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

// flow is a target's Paris flow to one destination: every probe keeps the
// same addresses, protocol, identifier (ICMP identifier or source port)
// and destination port; the sequence number tells them apart.
type flow struct {
	method  Method
	dst     netip.Addr
	src     netip.Addr // the source address (UDP and TCP checksums cover it)
	port    uint16     // destination port (UDP, TCP)
	id, seq uint16
	seqHigh uint32 // TCP: the constant high half of the sequence number
	// wireID, when not zero, is the ICMP identifier the socket puts on
	// the wire instead of id (datagram "ping" sockets).
	wireID uint16
	// hops is the responder last seen at each TTL (index TTL-1), and
	// tried the TTLs probed at least once, for the hop budget
	// (hopbudget.go); unused without one.
	hops  []netip.Addr
	tried [4]uint64
}

// wire is the flow identifier replies carry: the ICMP identifier on the
// wire, or the source port.
func (f *flow) wire() uint16 {
	if f.method.sock() == sockICMP {
		return f.icmpID()
	}
	return f.id
}

// icmpID is the ICMP identifier the flow's probes carry on the wire.
func (f *flow) icmpID() uint16 {
	if f.wireID != 0 {
		return f.wireID
	}
	return f.id
}

// nextSeq returns the flow's next usable sequence number.
func (f *flow) nextSeq() uint16 {
	for {
		seq := f.seq
		f.seq++
		if f.method.validSeq(seq) {
			return seq
		}
	}
}

// flowKey is what a flow identifier must be unique within: the probe key
// includes the destination and protocol, so two targets only need
// distinct identifiers when they trace the same address the same way.
type flowKey struct {
	dst   netip.Addr
	proto uint8
}

// idTable hands out flow identifiers unique per destination and protocol.
// They are random, so two exporters on one host rarely pick the same one.
type idTable map[flowKey]map[uint16]struct{}

// take returns a random identifier of method m not in use towards dst.
func (ids idTable) take(dst netip.Addr, m Method) uint16 {
	k := flowKey{dst, m.proto(dst.Is6())}
	used := ids[k]
	if used == nil {
		used = map[uint16]struct{}{}
		ids[k] = used
	}
	for tries := 0; tries < 64; tries++ {
		if id := m.newFlowID(); !has(used, id) {
			used[id] = struct{}{}
			return id
		}
	}
	// Crowded: scan the method's identifiers from a random one.
	lo, hi := m.flowIDs()
	n := int(hi) - int(lo) + 1
	start := int(m.newFlowID()) - int(lo)
	for i := 0; i < n; i++ {
		id := lo + uint16((start+i)%n)
		if !has(used, id) {
			used[id] = struct{}{}
			return id
		}
	}
	return m.newFlowID() // every identifier is taken: share one
}

func has(set map[uint16]struct{}, id uint16) bool {
	_, ok := set[id]
	return ok
}

// release frees an identifier of method m towards dst.
func (ids idTable) release(dst netip.Addr, m Method, id uint16) {
	k := flowKey{dst, m.proto(dst.Is6())}
	if used := ids[k]; used != nil {
		delete(used, id)
		if len(used) == 0 {
			delete(ids, k)
		}
	}
}
