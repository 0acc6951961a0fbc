// Package rdns keeps the reverse-DNS names of hop addresses in a bounded
// cache that never blocks its reader.
//
// [Cache.Name] answers from memory at once. On a miss, or when the entry
// has expired, it queues a background lookup (bounded queue, bounded
// number of workers, one lookup per address at a time, each with a
// timeout) and the name appears in a later call. An expired name is still
// returned while it is refreshed, so a hop's name label does not flicker.
// Go's resolver does not expose record TTLs, so names are kept for
// [Options.PositiveTTL] and failures for [Options.NegativeTTL]. The cache
// holds at most [Options.MaxEntries] addresses and evicts the least
// recently used.
package rdns

import (
	"container/list"
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Resolver does reverse lookups; *net.Resolver implements it.
type Resolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Defaults for the zero fields of Options.
const (
	DefaultMaxEntries  = 4096
	DefaultConcurrency = 4
	DefaultQueueSize   = 256
	DefaultTimeout     = 2 * time.Second
	DefaultPositiveTTL = time.Hour
	DefaultNegativeTTL = 5 * time.Minute
)

// Options configure a Cache; zero fields take the defaults above.
type Options struct {
	// Resolver does the lookups; net.DefaultResolver when nil.
	Resolver Resolver
	// MaxEntries bounds the number of cached addresses.
	MaxEntries int
	// Concurrency is the number of lookups running at once.
	Concurrency int
	// QueueSize bounds the lookups waiting for a worker; a miss that finds
	// the queue full is dropped (counted) and retried on a later call.
	QueueSize int
	// Timeout bounds one lookup.
	Timeout time.Duration
	// PositiveTTL is how long a name is used before it is refreshed.
	PositiveTTL time.Duration
	// NegativeTTL is how long a failure is kept before the address is
	// looked up again.
	NegativeTTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Stats are the cache's counters since New, and its current size.
type Stats struct {
	Hits      uint64 // Name answered from a fresh entry
	Stale     uint64 // Name answered from an expired entry (refresh queued)
	Misses    uint64 // Name found no entry
	Lookups   uint64 // lookups completed (successful or not)
	Failures  uint64 // lookups that failed (error, timeout or no name)
	NotFound  uint64 // failures where the address has no PTR record
	Dropped   uint64 // lookups not queued because the queue was full
	Evictions uint64 // entries evicted to respect MaxEntries
	Entries   int    // addresses cached now
	Pending   int    // lookups queued or running now
}

// Cache is a reverse-DNS name cache. Its methods are safe for concurrent
// use. Close stops the workers.
type Cache struct {
	opts   Options
	queue  chan netip.Addr
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	entries  map[netip.Addr]*list.Element // of *entry
	lru      list.List                    // front: most recently used
	inflight map[netip.Addr]struct{}      // queued or running
	idle     chan struct{}                // closed when inflight becomes empty
	closed   bool
	stats    Stats
}

type entry struct {
	addr    netip.Addr
	name    string // "" for a failure
	expires time.Time
}

// New starts a Cache and its workers.
func New(o Options) *Cache {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	o.MaxEntries = orDefault(o.MaxEntries, DefaultMaxEntries)
	o.Concurrency = orDefault(o.Concurrency, DefaultConcurrency)
	o.QueueSize = orDefault(o.QueueSize, DefaultQueueSize)
	o.Timeout = orDefault(o.Timeout, DefaultTimeout)
	o.PositiveTTL = orDefault(o.PositiveTTL, DefaultPositiveTTL)
	o.NegativeTTL = orDefault(o.NegativeTTL, DefaultNegativeTTL)
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Cache{
		opts:     o,
		queue:    make(chan netip.Addr, o.QueueSize),
		entries:  make(map[netip.Addr]*list.Element),
		inflight: make(map[netip.Addr]struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for range o.Concurrency {
		c.wg.Go(c.work)
	}
	return c
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Name returns the cached name of addr and whether there is one. It never
// blocks on a lookup: on a miss or an expired entry it queues a lookup
// (unless one is already pending) and returns what it has; an expired
// name is returned until the refresh replaces it. Invalid addresses have
// no name and are never looked up.
func (c *Cache) Name(addr netip.Addr) (string, bool) {
	if !addr.IsValid() {
		return "", false
	}
	addr = addr.WithZone("").Unmap()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[addr]
	if !ok {
		c.stats.Misses++
		c.schedule(addr)
		return "", false
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*entry)
	if c.opts.Now().Before(e.expires) {
		c.stats.Hits++
	} else {
		c.stats.Stale++
		c.schedule(addr)
	}
	return e.name, e.name != ""
}

// schedule queues a lookup of addr unless one is pending, the queue is
// full or the cache is closed. c.mu is held.
func (c *Cache) schedule(addr netip.Addr) {
	if _, ok := c.inflight[addr]; ok || c.closed {
		return
	}
	select {
	case c.queue <- addr:
	default:
		c.stats.Dropped++
		return
	}
	if len(c.inflight) == 0 {
		c.idle = make(chan struct{})
	}
	c.inflight[addr] = struct{}{}
}

// Stats returns the counters and sizes.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = len(c.entries)
	s.Pending = len(c.inflight)
	return s
}

// Wait blocks until no lookup is queued or running, or ctx ends. It is
// for tests and orderly shutdown; the exporter never needs it.
func (c *Cache) Wait(ctx context.Context) error {
	c.mu.Lock()
	if len(c.inflight) == 0 {
		c.mu.Unlock()
		return nil
	}
	idle := c.idle
	c.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the workers, cancelling running lookups, and waits for
// them. Name keeps answering from the cache but queues nothing more.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for addr := range c.inflight {
		c.release(addr) // queued, never run
	}
}
