package prober

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Resolver looks up host names; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// maxLookup bounds one DNS lookup.
const maxLookup = 5 * time.Second

// lookupWorkers bounds the lookups running at once.
const lookupWorkers = 8

var errNoAddress = errors.New("no address of the configured family")

// pick returns the address to trace after a lookup answered: the current
// one while it is still among the answers (so a name whose answers rotate
// keeps one path), else the first answer.
func pick(cur netip.Addr, answers []netip.Addr) netip.Addr {
	for _, a := range answers {
		if a == cur {
			return cur
		}
	}
	return answers[0]
}

// subscriber is told the outcome of each lookup of its name. Its methods
// must not call back into the cache.
type subscriber interface {
	resolved(answers []netip.Addr)
	resolveFailed(err error)
}

// name is one cached host name of one family, shared by every target that
// uses it.
type name struct {
	network, host string
	subs          map[subscriber]struct{}
	due           time.Time
	index         int // in the heap; -1 when not queued
	running       bool
	answers       []netip.Addr // last good answer
}

// dnsCache resolves the names of named targets off the probing loop: one
// lookup per name every refresh interval however many targets share it, at
// most lookupWorkers at a time. A failed lookup is reported to the targets,
// which keep their last good address.
type dnsCache struct {
	res     Resolver
	refresh time.Duration

	mu    sync.Mutex
	names map[string]*name
	queue nameHeap
	kick  chan struct{}
	sem   chan struct{}
}

func newDNSCache(res Resolver, refresh time.Duration) *dnsCache {
	return &dnsCache{res: res, refresh: refresh, names: map[string]*name{},
		kick: make(chan struct{}, 1), sem: make(chan struct{}, lookupWorkers)}
}

// subscribe adds s to the targets of host; a new name is looked up at
// once, a known one tells s its last good answer at once.
func (d *dnsCache) subscribe(network, host string, s subscriber) {
	d.mu.Lock()
	key := network + "/" + host
	n := d.names[key]
	if n == nil {
		n = &name{network: network, host: host, subs: map[subscriber]struct{}{}, index: -1}
		d.names[key] = n
		heap.Push(&d.queue, n)
	}
	n.subs[s] = struct{}{}
	// Told under the lock, so a lookup finishing meanwhile cannot be
	// overtaken by these older answers.
	if n.answers != nil {
		s.resolved(n.answers)
	}
	d.mu.Unlock()
	d.wake()
}

// unsubscribe removes s; a name without targets is forgotten.
func (d *dnsCache) unsubscribe(network, host string, s subscriber) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := network + "/" + host
	n := d.names[key]
	if n == nil {
		return
	}
	delete(n.subs, s)
	if len(n.subs) == 0 {
		delete(d.names, key)
		if n.index >= 0 {
			heap.Remove(&d.queue, n.index)
		}
	}
}

func (d *dnsCache) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// run starts the lookups that are due until ctx ends.
func (d *dnsCache) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.mu.Lock()
		now := time.Now()
		var due []*name
		for d.queue.Len() > 0 && !d.queue[0].due.After(now) {
			n := heap.Pop(&d.queue).(*name)
			n.running = true
			due = append(due, n)
		}
		wait := time.Hour
		if d.queue.Len() > 0 {
			wait = d.queue[0].due.Sub(now)
		}
		d.mu.Unlock()
		for _, n := range due {
			select {
			case d.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				defer func() { <-d.sem }()
				d.lookup(ctx, n)
			}()
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-d.kick:
		}
	}
}

// lookup resolves one name, tells its targets, and queues it again.
func (d *dnsCache) lookup(ctx context.Context, n *name) {
	lctx, cancel := context.WithTimeout(ctx, maxLookup)
	addrs, err := d.res.LookupNetIP(lctx, n.network, n.host)
	cancel()
	if ctx.Err() != nil {
		return
	}
	var answers []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if (n.network == "ip6") == a.Is6() {
			answers = append(answers, a)
		}
	}
	if err == nil && len(answers) == 0 {
		err = fmt.Errorf("%s: %w", n.host, errNoAddress)
	}
	d.mu.Lock()
	n.running = false
	if err == nil {
		n.answers = answers
	}
	subs := make([]subscriber, 0, len(n.subs))
	for s := range n.subs {
		subs = append(subs, s)
	}
	if len(n.subs) > 0 && d.names[n.network+"/"+n.host] == n {
		n.due = time.Now().Add(d.refresh)
		heap.Push(&d.queue, n)
	}
	d.mu.Unlock()
	for _, s := range subs {
		if err != nil {
			s.resolveFailed(err)
		} else {
			s.resolved(answers)
		}
	}
	d.wake()
}

// nameHeap orders names by when they are due.
type nameHeap []*name

func (h nameHeap) Len() int           { return len(h) }
func (h nameHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h nameHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *nameHeap) Push(x any) {
	n := x.(*name)
	n.index = len(*h)
	*h = append(*h, n)
}
func (h *nameHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	old[len(old)-1] = nil
	n.index = -1
	*h = old[:len(old)-1]
	return n
}
