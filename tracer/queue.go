package tracer

import (
	"context"
	"sync"
)

// queue carries finished intervals from the loop to a delivery goroutine.
// push never blocks, so a slow consumer (a state update, a log writer)
// never delays a probe; the consumer calls each target's callback in
// order.
type queue struct {
	mu    sync.Mutex
	items []delivery
	kick  chan struct{}
}

type delivery struct {
	t *Target
	r Result
}

func newQueue() *queue { return &queue{kick: make(chan struct{}, 1)} }

func (q *queue) push(t *Target, r Result) {
	q.mu.Lock()
	q.items = append(q.items, delivery{t, r})
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// run delivers until ctx ends. A result of a target removed meanwhile is
// dropped.
func (q *queue) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		}
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.mu.Unlock()
		for _, d := range items {
			if d.t.done != nil && !d.t.gone.Load() {
				d.t.done(d.r)
			}
		}
	}
}
