package rdns_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/rdns"
)

var _ rdns.Resolver = net.DefaultResolver

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		answer   answer
		want     string
		failure  bool
		notFound bool
	}{
		{name: "trailing dot trimmed", answer: answer{names: []string{"r1.example.net."}}, want: "r1.example.net"},
		{name: "no dot", answer: answer{names: []string{"r1.example.net"}}, want: "r1.example.net"},
		{name: "first non-empty name", answer: answer{names: []string{".", "r2.example.net.", "r3."}}, want: "r2.example.net"},
		{name: "no names", answer: answer{}, failure: true, notFound: true},
		{name: "nxdomain", answer: answer{err: &net.DNSError{Err: "no such host", IsNotFound: true}}, failure: true, notFound: true},
		{name: "timeout", answer: answer{err: &net.DNSError{Err: "i/o timeout", IsTimeout: true}}, failure: true},
		{name: "other error", answer: answer{err: errors.New("boom")}, failure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(map[string]answer{"192.0.2.1": tt.answer})
			c := newCache(t, f, newClock(), rdns.Options{})
			if n, ok := c.Name(addrA); ok || n != "" {
				t.Fatalf("first Name = %q, %v; want a miss", n, ok)
			}
			settle(t, c)
			n, ok := c.Name(addrA)
			if n != tt.want || ok != (tt.want != "") {
				t.Errorf("Name = %q, %v; want %q", n, ok, tt.want)
			}
			want := rdns.Stats{Hits: 1, Misses: 1, Lookups: 1, Entries: 1}
			if tt.failure {
				want.Failures = 1
			}
			if tt.notFound {
				want.NotFound = 1
			}
			if s := c.Stats(); s != want {
				t.Errorf("Stats = %+v, want %+v", s, want)
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	f := newFake(map[string]answer{
		"192.0.2.1":   {names: []string{"v4."}},
		"2001:db8::3": {names: []string{"v6."}},
	})
	c := newCache(t, f, newClock(), rdns.Options{})
	tests := []struct {
		name string
		addr netip.Addr
		want string
	}{
		{"ipv4", addrA, "v4"},
		{"mapped ipv4 is ipv4", netip.MustParseAddr("::ffff:192.0.2.1"), "v4"},
		{"ipv6", addrC, "v6"},
		{"zone ignored", netip.MustParseAddr("2001:db8::3%eth0"), "v6"},
		{"invalid", netip.Addr{}, ""},
	}
	for _, tt := range tests {
		c.Name(tt.addr)
	}
	settle(t, c)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n, _ := c.Name(tt.addr); n != tt.want {
				t.Errorf("Name(%v) = %q, want %q", tt.addr, n, tt.want)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls["192.0.2.1"] != 1 || f.calls["2001:db8::3"] != 1 || len(f.calls) != 2 {
		t.Errorf("resolver calls = %v, want one per address", f.calls)
	}
}

func TestTTLs(t *testing.T) {
	clk := newClock()
	f := newFake(map[string]answer{"192.0.2.1": {names: []string{"old."}}})
	c := newCache(t, f, clk, rdns.Options{PositiveTTL: time.Hour, NegativeTTL: time.Minute})
	steps := []struct {
		name    string
		advance time.Duration
		set     *answer // the resolver's answer from now on
		want    string
		lookups int // resolver calls so far, after settling
	}{
		{name: "miss", want: "", lookups: 1},
		{name: "cached", want: "old", lookups: 1},
		{name: "still fresh", advance: time.Hour - time.Second, want: "old", lookups: 1},
		{name: "expired: stale name while refreshing", advance: time.Second, set: &answer{names: []string{"new."}}, want: "old", lookups: 2},
		{name: "refreshed", want: "new", lookups: 2},
		{name: "transient failure keeps the name", advance: time.Hour, set: &answer{err: &net.DNSError{IsTimeout: true}}, want: "new", lookups: 3},
		{name: "kept only for the negative TTL", advance: time.Minute - time.Second, want: "new", lookups: 3},
		{name: "retried after the negative TTL", advance: time.Second, set: &answer{err: &net.DNSError{IsNotFound: true}}, want: "new", lookups: 4},
		{name: "not found drops the name", want: "", lookups: 4},
		{name: "negative entry cached", advance: time.Minute - time.Second, want: "", lookups: 4},
		{name: "negative entry expires", advance: time.Second, set: &answer{names: []string{"back."}}, want: "", lookups: 5},
		{name: "name back", want: "back", lookups: 5},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clk.Advance(s.advance)
			if s.set != nil {
				f.set("192.0.2.1", *s.set)
			}
			if n, _ := c.Name(addrA); n != s.want {
				t.Errorf("Name = %q, want %q", n, s.want)
			}
			settle(t, c)
			if got := f.count("192.0.2.1"); got != s.lookups {
				t.Errorf("%d lookups, want %d", got, s.lookups)
			}
		})
	}
	s := c.Stats()
	if s.Stale != 4 || s.Failures != 2 || s.NotFound != 1 || s.Lookups != 5 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestEviction(t *testing.T) {
	f := newFake(map[string]answer{})
	c := newCache(t, f, newClock(), rdns.Options{MaxEntries: 2})
	for _, a := range []netip.Addr{addrA, addrB} {
		c.Name(a)
		settle(t, c)
	}
	c.Name(addrA) // A is now the most recently used
	c.Name(addrC) // evicts B
	settle(t, c)
	if s := c.Stats(); s.Entries != 2 || s.Evictions != 1 {
		t.Fatalf("Stats = %+v, want 2 entries, 1 eviction", s)
	}
	for _, tt := range []struct {
		addr    netip.Addr
		lookups int
	}{{addrA, 1}, {addrC, 1}, {addrB, 2}} {
		c.Name(tt.addr)
		settle(t, c)
		if got := f.count(tt.addr.String()); got != tt.lookups {
			t.Errorf("%v: %d lookups, want %d", tt.addr, got, tt.lookups)
		}
	}
}

// TestConcurrent calls Name from many goroutines while lookups complete;
// run with -race.
func TestConcurrent(t *testing.T) {
	f := newFake(map[string]answer{})
	c := newCache(t, f, newClock(), rdns.Options{MaxEntries: 16, Concurrency: 3, QueueSize: 4})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				c.Name(netip.AddrFrom4([4]byte{192, 0, 2, byte(g*7 + i%40)}))
				if i%50 == 0 {
					c.Stats()
				}
			}
		})
	}
	wg.Wait()
	settle(t, c)
	if s := c.Stats(); s.Entries > 16 || s.Pending != 0 {
		t.Errorf("Stats = %+v, want at most 16 entries and nothing pending", s)
	}
	if err := c.Wait(context.Background()); err != nil {
		t.Error(err)
	}
}
