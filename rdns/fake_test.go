package rdns_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/rdns"
)

// answer is what the fake resolver returns for one lookup.
type answer struct {
	names []string
	err   error
}

// fakeResolver answers from a table, or, when blocking, hands every call
// to the test through started and waits for the test's answer (or for the
// lookup's context to end).
type fakeResolver struct {
	mu       sync.Mutex
	answers  map[string]answer
	calls    map[string]int
	running  int
	peak     int
	blocking bool
	started  chan *call
}

// call is one blocked lookup.
type call struct {
	addr   string
	ctx    context.Context
	answer chan answer
}

func newFake(answers map[string]answer) *fakeResolver {
	return &fakeResolver{answers: answers, calls: map[string]int{}, started: make(chan *call)}
}

func (f *fakeResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	f.mu.Lock()
	f.calls[addr]++
	f.running++
	f.peak = max(f.peak, f.running)
	a, blocking := f.answers[addr], f.blocking
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	if !blocking {
		return a.names, a.err
	}
	c := &call{addr: addr, ctx: ctx, answer: make(chan answer)}
	select {
	case f.started <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case a := <-c.answer:
		return a.names, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakeResolver) set(addr string, a answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[addr] = a
}

func (f *fakeResolver) count(addr string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[addr]
}

// clock is a fake clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newCache starts a cache with the fake resolver and clock and closes it
// at the end of the test. Unless the test sets one, the lookup timeout is
// an hour, so that a blocked lookup ends only when the test releases it,
// however slowly the test runs.
func newCache(t *testing.T, f rdns.Resolver, clk *clock, o rdns.Options) *rdns.Cache {
	t.Helper()
	o.Resolver = f
	if o.Timeout == 0 {
		o.Timeout = time.Hour
	}
	if clk != nil {
		o.Now = clk.Now
	}
	c := rdns.New(o)
	t.Cleanup(c.Close)
	return c
}

// settle waits until every queued lookup has finished.
func settle(t *testing.T, c *rdns.Cache) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatalf("lookups did not finish: %v", err)
	}
}

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	addrC = netip.MustParseAddr("2001:db8::3")
)
