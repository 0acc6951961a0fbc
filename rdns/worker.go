package rdns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
)

// work runs queued lookups until Close.
func (c *Cache) work() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case addr := <-c.queue:
			c.resolve(addr)
		}
	}
}

// resolve looks addr up with the timeout and stores the outcome.
func (c *Cache) resolve(addr netip.Addr) {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.Timeout)
	names, err := c.opts.Resolver.LookupAddr(ctx, addr.String())
	cancel()
	c.finish(addr, firstName(names), err)
}

// firstName returns the first non-empty name without its trailing dot.
func firstName(names []string) string {
	for _, n := range names {
		if n = strings.TrimSuffix(n, "."); n != "" {
			return n
		}
	}
	return ""
}

// finish records a lookup's outcome and releases the address for the
// next lookup. A name is kept for PositiveTTL. A failure is kept for
// NegativeTTL: an address without a PTR record (NXDOMAIN, or no name)
// then has no name; after a transient failure (timeout, server failure)
// a previously known name is kept, so a flaky resolver does not blank
// the labels. Outcomes of lookups cut short by Close are dropped.
func (c *Cache) finish(addr netip.Addr, name string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.release(addr)
	if c.ctx.Err() != nil {
		return
	}
	c.stats.Lookups++
	now := c.opts.Now()
	expires := now.Add(c.opts.PositiveTTL)
	if err != nil || name == "" {
		c.stats.Failures++
		expires = now.Add(c.opts.NegativeTTL)
		var de *net.DNSError
		if err == nil || (errors.As(err, &de) && de.IsNotFound) {
			c.stats.NotFound++
		} else if el, ok := c.entries[addr]; ok {
			name = el.Value.(*entry).name
		}
	}
	if el, ok := c.entries[addr]; ok {
		e := el.Value.(*entry)
		e.name, e.expires = name, expires
		c.lru.MoveToFront(el)
		return
	}
	c.entries[addr] = c.lru.PushFront(&entry{addr: addr, name: name, expires: expires})
	for len(c.entries) > c.opts.MaxEntries {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*entry).addr)
		c.stats.Evictions++
	}
}

// release marks addr's lookup done and wakes Wait when none is left.
// c.mu is held.
func (c *Cache) release(addr netip.Addr) {
	if _, ok := c.inflight[addr]; !ok {
		return
	}
	delete(c.inflight, addr)
	if len(c.inflight) == 0 {
		close(c.idle)
	}
}
