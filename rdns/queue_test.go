package rdns_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/rdns"
)

// TestDeduplicated asks for one address many times while its lookup is
// running: one lookup only, and Name never blocks.
func TestDeduplicated(t *testing.T) {
	f := newFake(map[string]answer{})
	f.blocking = true
	c := newCache(t, f, newClock(), rdns.Options{})
	c.Name(addrA)
	call := <-f.started
	for range 5 {
		if _, ok := c.Name(addrA); ok {
			t.Fatal("name before the lookup finished")
		}
	}
	if s := c.Stats(); s.Pending != 1 || s.Misses != 6 {
		t.Errorf("Stats = %+v, want 1 pending, 6 misses", s)
	}
	call.answer <- answer{names: []string{"a."}}
	settle(t, c)
	if n, ok := c.Name(addrA); !ok || n != "a" || f.count("192.0.2.1") != 1 {
		t.Errorf("Name = %q, %v after %d lookups; want \"a\" after 1", n, ok, f.count("192.0.2.1"))
	}
}

// TestConcurrencyBound queues five lookups for two workers and releases
// them one by one: never more than two run at once.
func TestConcurrencyBound(t *testing.T) {
	f := newFake(map[string]answer{})
	f.blocking = true
	c := newCache(t, f, newClock(), rdns.Options{Concurrency: 2, QueueSize: 8})
	for i := range 5 {
		c.Name(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
	}
	if s := c.Stats(); s.Pending != 5 {
		t.Fatalf("Stats = %+v, want 5 pending", s)
	}
	running := []*call{<-f.started, <-f.started}
	for done := 0; done < 5; done++ {
		running[0].answer <- answer{names: []string{running[0].addr + ".example."}}
		running = running[1:]
		if done < 3 {
			running = append(running, <-f.started)
		}
	}
	settle(t, c)
	f.mu.Lock()
	peak := f.peak
	f.mu.Unlock()
	if peak != 2 {
		t.Errorf("at most %d lookups ran at once, want 2", peak)
	}
	if s := c.Stats(); s.Entries != 5 || s.Lookups != 5 || s.Pending != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

// TestQueueFull fills the one-slot queue behind a busy worker: the next
// miss is dropped and counted, and queued again on a later call.
func TestQueueFull(t *testing.T) {
	f := newFake(map[string]answer{})
	f.blocking = true
	c := newCache(t, f, newClock(), rdns.Options{Concurrency: 1, QueueSize: 1})
	c.Name(addrA)
	first := <-f.started // the worker holds A; the queue is empty
	c.Name(addrB)        // queued
	c.Name(addrC)        // dropped
	if s := c.Stats(); s.Dropped != 1 || s.Pending != 2 {
		t.Fatalf("Stats = %+v, want 1 dropped, 2 pending", s)
	}
	first.answer <- answer{}
	(<-f.started).answer <- answer{}
	settle(t, c)
	c.Name(addrC)
	call := <-f.started
	if call.addr != "2001:db8::3" {
		t.Fatalf("lookup of %s, want 2001:db8::3", call.addr)
	}
	call.answer <- answer{names: []string{"c."}}
	settle(t, c)
	if n, _ := c.Name(addrC); n != "c" {
		t.Errorf("Name = %q, want \"c\"", n)
	}
}

// deadlineResolver waits for the end of every lookup's context and
// records how far its deadline was (negative: already past).
type deadlineResolver struct {
	mu   sync.Mutex
	left []time.Duration
	none int // lookups without a deadline
}

func (d *deadlineResolver) LookupAddr(ctx context.Context, _ string) ([]string, error) {
	dl, ok := ctx.Deadline()
	d.mu.Lock()
	if ok {
		d.left = append(d.left, time.Until(dl))
	} else {
		d.none++
	}
	d.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestTimeout gives every lookup a deadline; one that outlives it fails
// and is counted.
func TestTimeout(t *testing.T) {
	d := &deadlineResolver{}
	c := newCache(t, d, newClock(), rdns.Options{Timeout: time.Millisecond})
	c.Name(addrA)
	settle(t, c) // returns once the deadline has cut the lookup short
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.none != 0 || len(d.left) != 1 || d.left[0] > time.Millisecond {
		t.Errorf("time left before the deadline: %v (%d without one), want one lookup with at most 1ms", d.left, d.none)
	}
	if s := c.Stats(); s.Failures != 1 || s.NotFound != 0 || s.Lookups != 1 {
		t.Errorf("Stats = %+v, want one failed lookup", s)
	}
}

// TestClose cancels a running lookup, drops queued ones, and stops new
// lookups; Name still answers from the cache.
func TestClose(t *testing.T) {
	f := newFake(map[string]answer{})
	f.blocking = true
	o := rdns.Options{Resolver: f, Concurrency: 1, QueueSize: 4, Timeout: time.Hour}
	c := rdns.New(o)
	c.Name(addrA)
	call := <-f.started
	c.Name(addrB) // queued
	c.Close()
	if !errors.Is(call.ctx.Err(), context.Canceled) {
		t.Errorf("running lookup's context: %v, want canceled", call.ctx.Err())
	}
	if err := c.Wait(context.Background()); err != nil {
		t.Error(err)
	}
	c.Name(addrC)
	if s := c.Stats(); s.Pending != 0 || s.Lookups != 0 || s.Entries != 0 || s.Misses != 3 {
		t.Errorf("Stats = %+v, want nothing pending or stored, 3 misses", s)
	}
	c.Close() // idempotent
}

func TestDefaults(t *testing.T) {
	c := rdns.New(rdns.Options{}) // net.DefaultResolver; never asked here
	defer c.Close()
	if n, ok := c.Name(netip.Addr{}); ok || n != "" {
		t.Errorf("Name(invalid) = %q, %v", n, ok)
	}
	if s := c.Stats(); s != (rdns.Stats{}) {
		t.Errorf("Stats = %+v, want zero", s)
	}
}
