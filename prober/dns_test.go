package prober

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/enrich"
)

func TestPick(t *testing.T) {
	a, b, c := ip("198.18.7.1"), ip("198.18.7.2"), ip("198.18.7.3")
	cases := []struct {
		name    string
		cur     netip.Addr
		answers []netip.Addr
		want    netip.Addr
	}{
		{"no address yet: the first answer", netip.Addr{}, []netip.Addr{b, a}, b},
		{"current address first", a, []netip.Addr{a, b}, a},
		{"current address rotated to second", a, []netip.Addr{b, a}, a},
		{"current address last of three", a, []netip.Addr{c, b, a}, a},
		{"current address gone: the first answer", a, []netip.Addr{c, b}, c},
		{"current address gone, one answer left", a, []netip.Addr{b}, b},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := pick(tc.cur, tc.answers); got != tc.want {
				t.Errorf("pick(%v, %v) = %v, want %v", tc.cur, tc.answers, got, tc.want)
			}
		})
	}
}

// refresh does what dnsCache.run does when the name key is due: take it
// off the queue and look it up, here on the test's goroutine.
func refresh(t *testing.T, d *dnsCache, key string) {
	t.Helper()
	d.mu.Lock()
	n := d.names[key]
	if n == nil || n.index < 0 {
		d.mu.Unlock()
		t.Fatalf("%s is not queued for a lookup", key)
	}
	heap.Remove(&d.queue, n.index)
	n.running = true
	d.mu.Unlock()
	d.lookup(context.Background(), n)
}

// TestRunnerFollowsDNSAnswers feeds a named target's lookups one by one
// through the cache and checks the address traced after each.
func TestRunnerFollowsDNSAnswers(t *testing.T) {
	a, b, c := ip("198.18.7.1"), ip("198.18.7.2"), ip("198.18.7.3")
	x6, y6 := ip("2001:db8::1"), ip("2001:db8::2")
	fail := []netip.Addr(nil)
	none := netip.Addr{}
	cases := []struct {
		name    string
		family  string
		lookups [][]netip.Addr // answers of each lookup; nil fails it
		want    []netip.Addr   // address traced after each lookup
		changes uint64         // address changes
		errs    uint64         // resolve errors
	}{{
		name: "rotating answers keep the address", family: "ip4",
		lookups: [][]netip.Addr{{a, b}, {b, a}, {a, b}, {b, a}},
		want:    []netip.Addr{a, a, a, a},
	}, {
		name: "growing answers keep the address", family: "ip4",
		lookups: [][]netip.Addr{{a}, {b, a}, {c, b, a}},
		want:    []netip.Addr{a, a, a},
	}, {
		name: "answers that drop the address switch once", family: "ip4",
		lookups: [][]netip.Addr{{a, b}, {b, a}, {b}, {c, b}, {b, c}},
		want:    []netip.Addr{a, a, b, b, b}, changes: 1,
	}, {
		name: "failed lookups keep the last good address", family: "ip4",
		lookups: [][]netip.Addr{{a, b}, fail, fail, {b, a}},
		want:    []netip.Addr{a, a, a, a}, errs: 2,
	}, {
		name: "a failed first lookup leaves the target without an address", family: "ip4",
		lookups: [][]netip.Addr{fail, {b}},
		want:    []netip.Addr{none, b}, errs: 1,
	}, {
		name: "answers of the other family only are a failure", family: "ip4",
		lookups: [][]netip.Addr{{a}, {x6, y6}, {a}},
		want:    []netip.Addr{a, a, a}, errs: 1,
	}, {
		name: "an ip4 target ignores ip6 answers", family: "ip4",
		lookups: [][]netip.Addr{{x6, b, a}, {a, x6, b}},
		want:    []netip.Addr{b, b},
	}, {
		name: "an ip6 target ignores ip4 answers", family: "ip6",
		lookups: [][]netip.Addr{{a, y6, x6}, {x6, b, y6}, {a, x6}},
		want:    []netip.Addr{y6, y6, x6}, changes: 1,
	}, {
		name: "ip4-mapped answers count as ip4", family: "ip4",
		lookups: [][]netip.Addr{{ip("::ffff:198.18.7.1")}, {b, a}},
		want:    []netip.Addr{a, a},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.family + "/x.example"
			res := newFakeResolver()
			d := newDNSCache(res, time.Hour)
			cfg := target("x", "x.example")
			cfg.Family = tc.family
			logs := &recLogger{}
			r := newRunner(cfg, (&enrich.Sources{}).NewTarget("x"), logs)
			d.subscribe(tc.family, "x.example", r)
			for i, answers := range tc.lookups {
				res.set(key, answers...)
				refresh(t, d, key)
				if got := r.target.Addr(); got != tc.want[i] {
					t.Fatalf("after lookup %d answering %v: traced at %v, want %v", i+1, answers, got, tc.want[i])
				}
				if got := r.state.Snapshot().Address; got != tc.want[i] {
					t.Fatalf("after lookup %d: snapshot address %v, want %v", i+1, got, tc.want[i])
				}
			}
			if n := res.count(key); n != len(tc.lookups) {
				t.Errorf("%d lookups of %s, want %d", n, key, len(tc.lookups))
			}
			s := r.state.Snapshot()
			if s.AddressChanges != tc.changes || s.ResolveErrors != tc.errs || s.PathChanges != 0 {
				t.Errorf("%d address changes, %d resolve errors, %d path changes; want %d, %d, 0",
					s.AddressChanges, s.ResolveErrors, s.PathChanges, tc.changes, tc.errs)
			}
			// Each address change is logged once; keeping the address is
			// silent.
			if got := logs.with("Target address changed"); uint64(len(got)) != tc.changes {
				t.Errorf("logged address changes %v, want %d", got, tc.changes)
			}
			if got := logs.with("Cannot resolve target host; tracing the last good address", "Cannot resolve target host; not traced until it resolves"); uint64(len(got)) != tc.errs {
				t.Errorf("logged lookup failures %v, want %d", got, tc.errs)
			}
		})
	}
}

// recSub records what the cache tells it.
type recSub struct {
	mu      sync.Mutex
	answers [][]netip.Addr
	errs    []error
}

func (s *recSub) resolved(a []netip.Addr) {
	s.mu.Lock()
	s.answers = append(s.answers, a)
	s.mu.Unlock()
}

func (s *recSub) resolveFailed(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

func (s *recSub) told() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.answers) + len(s.errs)
}

func (s *recSub) last() []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.answers) == 0 {
		return nil
	}
	return s.answers[len(s.answers)-1]
}

func TestLookupFiltersFamily(t *testing.T) {
	res := newFakeResolver()
	mixed := []netip.Addr{ip("2001:db8::1"), ip("198.18.7.1"), ip("::ffff:198.18.7.2"), ip("2001:db8::2")}
	res.set("ip4/mixed.example", mixed...)
	res.set("ip6/mixed.example", mixed...)
	res.set("ip4/v6only.example", ip("2001:db8::1"))
	cases := []struct {
		network, host string
		want          []netip.Addr // nil: the lookup fails
	}{
		{"ip4", "mixed.example", []netip.Addr{ip("198.18.7.1"), ip("198.18.7.2")}},
		{"ip6", "mixed.example", []netip.Addr{ip("2001:db8::1"), ip("2001:db8::2")}},
		{"ip4", "v6only.example", nil},
	}
	for _, tc := range cases {
		t.Run(tc.network+"/"+tc.host, func(t *testing.T) {
			d := newDNSCache(res, time.Hour)
			s := &recSub{}
			d.subscribe(tc.network, tc.host, s)
			refresh(t, d, tc.network+"/"+tc.host)
			if tc.want == nil {
				if len(s.errs) != 1 || !errors.Is(s.errs[0], errNoAddress) || len(s.answers) != 0 {
					t.Fatalf("told answers %v and errors %v, want one errNoAddress", s.answers, s.errs)
				}
				return
			}
			if len(s.answers) != 1 || !slices.Equal(s.answers[0], tc.want) || len(s.errs) != 0 {
				t.Fatalf("told answers %v and errors %v, want %v", s.answers, s.errs, tc.want)
			}
		})
	}
}

func TestSubscriberOfCachedNameIsToldAtOnce(t *testing.T) {
	a := ip("198.18.7.1")
	res := newFakeResolver()
	res.set("ip4/x.example", a)
	d := newDNSCache(res, time.Hour)
	first, second := &recSub{}, &recSub{}
	d.subscribe("ip4", "x.example", first)
	refresh(t, d, "ip4/x.example")
	d.subscribe("ip4", "x.example", second)
	if got := second.last(); !slices.Equal(got, []netip.Addr{a}) {
		t.Fatalf("a target subscribing to a cached name was told %v, want [%v] at once", got, a)
	}
	if n := res.count("ip4/x.example"); n != 1 {
		t.Errorf("%d lookups, want 1", n)
	}
	// A failed lookup tells both, and the name's last good answer stays for
	// a third target.
	res.set("ip4/x.example")
	refresh(t, d, "ip4/x.example")
	if len(first.errs) != 1 || len(second.errs) != 1 {
		t.Fatalf("errors told: %v and %v, want one each", first.errs, second.errs)
	}
	third := &recSub{}
	d.subscribe("ip4", "x.example", third)
	if got := third.last(); !slices.Equal(got, []netip.Addr{a}) {
		t.Fatalf("after a failed lookup a new target was told %v, want the last good [%v]", got, a)
	}
}

func TestUnsubscribeDuringLookup(t *testing.T) {
	res := newFakeResolver()
	res.set("ip4/x.example", ip("198.18.7.1"))
	d := newDNSCache(res, time.Hour)
	stays, leaves := &recSub{}, &recSub{}
	d.subscribe("ip4", "x.example", stays)
	d.subscribe("ip4", "x.example", leaves)

	// One of two leaves: the name is still looked up for the other.
	d.unsubscribe("ip4", "x.example", leaves)
	refresh(t, d, "ip4/x.example")
	if stays.told() != 1 || leaves.told() != 0 {
		t.Fatalf("told the remaining target %d times and the one that left %d, want 1 and 0", stays.told(), leaves.told())
	}

	// The last leaves while its lookup runs: nobody is told and the name is
	// not queued again.
	d.mu.Lock()
	n := d.names["ip4/x.example"]
	heap.Remove(&d.queue, n.index)
	n.running = true
	d.mu.Unlock()
	d.unsubscribe("ip4", "x.example", stays)
	d.lookup(context.Background(), n)
	if stays.told() != 1 {
		t.Errorf("a target that left was told the answer of a lookup still running")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.names) != 0 || d.queue.Len() != 0 {
		t.Errorf("after the last target left: %d names, %d queued; want none", len(d.names), d.queue.Len())
	}
}

// TestCacheSharesOneLookupPerRefresh runs the cache's loop: a name shared
// by several targets is looked up once, and once again per refresh; the
// same host in the other family is a name of its own.
func TestCacheSharesOneLookupPerRefresh(t *testing.T) {
	res := newFakeResolver()
	res.set("ip4/shared.example", ip("198.18.7.1"), ip("198.18.7.2"))
	res.set("ip6/shared.example", ip("2001:db8::1"))
	d := newDNSCache(res, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.run(ctx)

	subs := make([]*recSub, 5)
	for i := range subs {
		subs[i] = &recSub{}
		d.subscribe("ip4", "shared.example", subs[i])
	}
	v6 := &recSub{}
	d.subscribe("ip6", "shared.example", v6)
	toldAll := func(n int) func() bool {
		return func() bool {
			for _, s := range subs {
				if s.told() != n {
					return false
				}
			}
			return true
		}
	}
	eventually(t, "every target to be told", toldAll(1))
	eventually(t, "the ip6 target to be told", func() bool { return v6.told() == 1 })
	if n4, n6 := res.count("ip4/shared.example"), res.count("ip6/shared.example"); n4 != 1 || n6 != 1 {
		t.Fatalf("lookups: %d ip4 and %d ip6, want 1 each for 5 ip4 targets and 1 ip6 target", n4, n6)
	}

	// Make the ip4 name due now, as if its refresh interval had passed.
	d.mu.Lock()
	n := d.names["ip4/shared.example"]
	if n.index < 0 {
		d.mu.Unlock()
		t.Fatal("the name is not queued for its next refresh")
	}
	n.due = time.Now()
	heap.Fix(&d.queue, n.index)
	d.mu.Unlock()
	d.wake()
	eventually(t, "every target to be told again", toldAll(2))
	if n4, n6 := res.count("ip4/shared.example"), res.count("ip6/shared.example"); n4 != 2 || n6 != 1 {
		t.Fatalf("after one refresh: %d ip4 and %d ip6 lookups, want 2 and 1", n4, n6)
	}
}

// TestCacheStopsLookingUpForgottenNames: once the last target of a name
// has left, the loop looks it up no more, while it keeps refreshing others.
func TestCacheStopsLookingUpForgottenNames(t *testing.T) {
	res := newFakeResolver()
	res.set("ip4/gone.example", ip("198.18.7.1"))
	res.set("ip4/kept.example", ip("198.18.7.2"))
	d := newDNSCache(res, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.run(ctx)

	gone := &recSub{}
	d.subscribe("ip4", "gone.example", gone)
	eventually(t, "gone.example to be refreshed", func() bool { return res.count("ip4/gone.example") >= 3 })
	d.mu.Lock()
	n := d.names["ip4/gone.example"]
	d.mu.Unlock()
	d.unsubscribe("ip4", "gone.example", gone)
	eventually(t, "the last lookup of gone.example to end", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return !n.running
	})
	d.mu.Lock()
	names, queued := len(d.names), d.queue.Len()
	d.mu.Unlock()
	if names != 0 || queued != 0 {
		t.Fatalf("%d names and %d queued after the last target left, want none", names, queued)
	}
	before := res.count("ip4/gone.example")

	// The loop keeps working for another name; the forgotten one is not
	// looked up meanwhile.
	kept := &recSub{}
	d.subscribe("ip4", "kept.example", kept)
	eventually(t, "kept.example to be refreshed", func() bool { return res.count("ip4/kept.example") >= 5 })
	if after := res.count("ip4/gone.example"); after != before {
		t.Fatalf("gone.example looked up %d more times after its last target left", after-before)
	}
}

func TestCacheBoundsConcurrentLookups(t *testing.T) {
	res := newFakeResolver()
	res.gate = make(chan struct{})
	d := newDNSCache(res, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.run(ctx)

	names := 3 * lookupWorkers
	subs := make([]*recSub, names)
	for i := range subs {
		host := fmt.Sprintf("h%d.example", i)
		res.set("ip4/"+host, ip(fmt.Sprintf("198.18.8.%d", i+1)))
		subs[i] = &recSub{}
		d.subscribe("ip4", host, subs[i])
	}
	inflight := func() int {
		res.mu.Lock()
		defer res.mu.Unlock()
		return res.inflight
	}
	eventually(t, "the lookups to start", func() bool { return inflight() >= lookupWorkers })
	for range names {
		res.release(t) // one lookup answers
	}
	for i, s := range subs {
		eventually(t, fmt.Sprintf("target %d to be told", i), func() bool { return s.told() == 1 })
	}
	res.mu.Lock()
	defer res.mu.Unlock()
	if res.maxInflight != lookupWorkers {
		t.Fatalf("%d lookups ran at once, want at most (and, with %d names due, exactly) %d", res.maxInflight, names, lookupWorkers)
	}
}

// blockingSub holds its first resolved call until released, as a target
// whose goroutine is descheduled (or whose log writer is slow) would.
type blockingSub struct {
	recSub
	entered, release chan struct{}
	once             sync.Once
}

func (s *blockingSub) resolved(a []netip.Addr) {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.entered)
		<-s.release
	}
	s.recSub.resolved(a)
}

// TestSubscribeCannotBeOvertakenByNewerAnswers guards the order in which a
// new target learns a name's answers: subscribe tells it the cached
// answers under the cache's lock, so a lookup that ends meanwhile waits
// and tells it the newer answers last. (When subscribe told them after
// unlocking, the target could be told the newer answers first and then
// trace an address the name no longer has until the next refresh.)
func TestSubscribeCannotBeOvertakenByNewerAnswers(t *testing.T) {
	old, fresh := ip("198.18.7.1"), ip("198.18.7.2")
	res := newFakeResolver()
	res.set("ip4/x.example", old)
	d := newDNSCache(res, time.Hour)
	d.subscribe("ip4", "x.example", &recSub{})
	refresh(t, d, "ip4/x.example") // cached: [old]

	late := &blockingSub{entered: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.subscribe("ip4", "x.example", late) // tells late [old], held
	}()
	<-late.entered
	// Meanwhile the name's refresh answers [fresh].
	res.set("ip4/x.example", fresh)
	refreshed := make(chan struct{})
	go func() {
		defer close(refreshed)
		refresh(t, d, "ip4/x.example")
	}()
	select {
	case <-refreshed:
		t.Fatal("a refresh told its answers while a new target was still being told older ones")
	case <-time.After(200 * time.Millisecond):
	}
	close(late.release)
	<-done
	<-refreshed
	if got := late.last(); !slices.Equal(got, []netip.Addr{fresh}) {
		t.Fatalf("a target that subscribed during a refresh was last told %v, want the newer answer [%v]", got, fresh)
	}
}
