package tracer

import (
	"container/heap"
	"time"
)

type eventKind uint8

const (
	evStart     eventKind = iota // start the next interval of a target
	evRound                      // send the next round of a job
	evRoundMore                  // go on sending a round the packet budget held back
	evExpire                     // the probes of one round reached their deadline
	evForget                     // stop remembering one round's expired probes
	evFinish                     // the job's span is over
	evMTUExpire                  // a path MTU probe's deadline
)

// event is one entry of the core's timing heap. There is one event per
// interval start, per round and per round's deadline, never one per probe
// (but for path MTU probes, which go one at a time).
type event struct {
	at     time.Time
	order  uint64 // insertion order, so equal times keep FIFO order
	kind   eventKind
	target *Target
	job    *job
	round  *round    // evRoundMore, evExpire, evForget
	mtu    *mtuProbe // evMTUExpire
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].order < h[j].order
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// timeline is a min-heap of events ordered by time, then insertion.
type timeline struct {
	h     eventHeap
	order uint64
}

func (t *timeline) push(e *event) {
	t.order++
	e.order = t.order
	heap.Push(&t.h, e)
}

// popDue removes and returns the earliest event due at or before now.
func (t *timeline) popDue(now time.Time) *event {
	if len(t.h) == 0 || t.h[0].at.After(now) {
		return nil
	}
	return heap.Pop(&t.h).(*event)
}

// next returns the time of the earliest event.
func (t *timeline) next() (time.Time, bool) {
	if len(t.h) == 0 {
		return time.Time{}, false
	}
	return t.h[0].at, true
}
