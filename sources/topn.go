package sources

import (
	"net/netip"
	"sort"
	"time"
)

// TopN keeps the busiest destinations of a flow source by bytes over a
// sliding window, with hysteresis so the list does not churn:
//
//   - a destination enters the list when its rank is at most N;
//   - it leaves when its rank is above N + Margin (no traffic in the
//     window counts as last), and only after it has been on the list for
//     at least MinTime.
//
// The window is kept as Buckets buckets of Window/Buckets each; traffic
// is counted in the bucket of its arrival and the oldest bucket drops out
// as time passes. A destination is an address, or with Prefix its /24
// (IPv4) or /48 (IPv6) network, traced at its busiest address in the
// window. Time is passed in, so the rule is tested without waiting.
type TopN struct {
	N, Margin int
	Window    time.Duration
	MinTime   time.Duration
	Prefix    bool
	// Buckets is how many parts the window is counted in (default 12).
	Buckets int

	buckets []bucket
	members map[netip.Prefix]*member // the destinations on the list
}

// member is a destination on the list: since when, and the address last
// traced for it.
type member struct {
	since time.Time
	addr  netip.Addr
}

type bucket struct {
	start time.Time
	bytes map[netip.Addr]uint64
}

// Add counts bytes sent to dst at now.
func (t *TopN) Add(now time.Time, dst netip.Addr, bytes uint64) {
	dst = dst.Unmap().WithZone("")
	if !dst.IsValid() {
		return
	}
	t.expire(now)
	width := t.width()
	start := now.Truncate(width)
	if n := len(t.buckets); n == 0 || t.buckets[n-1].start.Before(start) {
		t.buckets = append(t.buckets, bucket{start: start, bytes: map[netip.Addr]uint64{}})
	}
	b := &t.buckets[len(t.buckets)-1]
	b.bytes[dst] += bytes
}

func (t *TopN) width() time.Duration {
	n := t.Buckets
	if n <= 0 {
		n = 12
	}
	return max(t.Window/time.Duration(n), time.Nanosecond)
}

// expire drops buckets that ended before the window reaching back from
// now.
func (t *TopN) expire(now time.Time) {
	from := now.Add(-t.Window)
	i := 0
	for i < len(t.buckets) && !t.buckets[i].start.Add(t.width()).After(from) {
		i++
	}
	t.buckets = t.buckets[i:]
}

// key is the destination an address counts for.
func (t *TopN) key(a netip.Addr) netip.Prefix {
	bits := a.BitLen()
	if t.Prefix {
		bits = 24
		if a.Is6() {
			bits = 48
		}
	}
	p, _ := a.Prefix(bits)
	return p
}

// Ranked is one destination of the list.
type Ranked struct {
	// Dest is the address, or the /24 or /48 network.
	Dest netip.Prefix
	// Addr is the address to trace: the destination's busiest address.
	Addr netip.Addr
	// Bytes in the window, and Rank (1 = busiest).
	Bytes uint64
	Rank  int
}

// Update applies the hysteresis rule at now and returns the list, by
// rank.
func (t *TopN) Update(now time.Time) []Ranked {
	t.expire(now)
	if t.members == nil {
		t.members = map[netip.Prefix]*member{}
	}
	total := map[netip.Prefix]uint64{}
	perAddr := map[netip.Addr]uint64{}
	for _, b := range t.buckets {
		for a, n := range b.bytes {
			total[t.key(a)] += n
			perAddr[a] += n
		}
	}
	busiest := map[netip.Prefix]netip.Addr{}
	for a, n := range perAddr {
		k := t.key(a)
		if cur, ok := busiest[k]; !ok || n > perAddr[cur] || n == perAddr[cur] && a.Less(cur) {
			busiest[k] = a
		}
	}
	ranked := make([]Ranked, 0, len(total))
	for k, n := range total {
		ranked = append(ranked, Ranked{Dest: k, Addr: busiest[k], Bytes: n})
	}
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].Bytes != ranked[j].Bytes {
			return ranked[i].Bytes > ranked[j].Bytes
		}
		return ranked[i].Dest.Addr().Less(ranked[j].Dest.Addr())
	})
	rank := map[netip.Prefix]int{}
	for i := range ranked {
		ranked[i].Rank = i + 1
		rank[ranked[i].Dest] = i + 1
	}
	for k, m := range t.members {
		r, seen := rank[k]
		if (!seen || r > t.N+t.Margin) && now.Sub(m.since) >= t.MinTime {
			delete(t.members, k)
		}
	}
	var out []Ranked
	for _, r := range ranked {
		m, on := t.members[r.Dest]
		if !on && r.Rank <= t.N {
			m, on = &member{since: now}, true
			t.members[r.Dest] = m
		}
		if on {
			m.addr = r.Addr
			out = append(out, r)
		}
	}
	// Members without traffic left in the window stay until MinTime,
	// last, at the address last traced for them.
	var quiet []Ranked
	for k, m := range t.members {
		if _, seen := rank[k]; !seen {
			quiet = append(quiet, Ranked{Dest: k, Addr: m.addr, Rank: len(ranked) + 1})
		}
	}
	sort.Slice(quiet, func(i, j int) bool { return quiet[i].Dest.Addr().Less(quiet[j].Dest.Addr()) })
	return append(out, quiet...)
}
