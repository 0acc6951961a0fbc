package prober

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// op is one call the prober made on the tracer.
type op struct {
	add    bool
	target *tracer.Target
}

func (o op) String() string {
	if o.add {
		return fmt.Sprintf("Add(%p)", o.target)
	}
	return fmt.Sprintf("Remove(%p)", o.target)
}

func add(t *tracer.Target) op    { return op{add: true, target: t} }
func remove(t *tracer.Target) op { return op{target: t} }

// fakeTracer records the targets it is asked to add and remove; it never
// sends anything.
type fakeTracer struct {
	mu  sync.Mutex
	ops []op
}

func (f *fakeTracer) Add(t *tracer.Target)    { f.record(add(t)) }
func (f *fakeTracer) Remove(t *tracer.Target) { f.record(remove(t)) }

func (f *fakeTracer) record(o op) {
	f.mu.Lock()
	f.ops = append(f.ops, o)
	f.mu.Unlock()
}

// take returns the calls made since the last take.
func (f *fakeTracer) take() []op {
	f.mu.Lock()
	defer f.mu.Unlock()
	ops := f.ops
	f.ops = nil
	return ops
}

var errNoSuchHost = errors.New("no such host")

// fakeResolver answers from a map keyed "network/host" (a missing key is a
// failed lookup), counts lookups per key and the most run at once. While
// gate is set, each lookup waits for a value from it before answering.
type fakeResolver struct {
	gate chan struct{}

	mu                    sync.Mutex
	answers               map[string][]netip.Addr
	calls                 map[string]int
	inflight, maxInflight int
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{answers: map[string][]netip.Addr{}, calls: map[string]int{}}
}

// set makes lookups of key answer addrs; with no addrs they fail.
func (r *fakeResolver) set(key string, addrs ...netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(addrs) == 0 {
		delete(r.answers, key)
		return
	}
	r.answers[key] = addrs
}

// release lets one gated lookup answer, failing the test when none starts
// within 5 s.
func (r *fakeResolver) release(t *testing.T) {
	t.Helper()
	select {
	case r.gate <- struct{}{}:
	case <-time.After(5 * time.Second):
		t.Fatal("no lookup started")
	}
}

func (r *fakeResolver) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[key]
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	key := network + "/" + host
	r.mu.Lock()
	r.calls[key]++
	r.inflight++
	r.maxInflight = max(r.maxInflight, r.inflight)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inflight--
		r.mu.Unlock()
	}()
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.answers[key]; ok {
		return append([]netip.Addr(nil), a...), nil
	}
	return nil, fmt.Errorf("lookup %s: %w", host, errNoSuchHost)
}

// eventually polls cond until it holds, failing the test after 5 s. It is
// only used to wait for the DNS cache's goroutines.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func target(name, host string) config.Target {
	return config.Target{Name: name, Host: host, Protocol: "icmp", Family: "ip4",
		Interval: 10 * time.Second, Probes: 2, Timeout: time.Second, MaxHops: 8}
}

func newTestManager(t *testing.T, res Resolver) (*Manager, *fakeTracer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ft := &fakeTracer{}
	m := NewManager(ctx, Options{Tracer: ft, Resolver: res, DNSRefresh: time.Hour, Logger: log.NewNopLogger()})
	t.Cleanup(func() {
		m.Stop()
		cancel()
	})
	return m, ft
}

func runnerOf(t *testing.T, m *Manager, name string) *runner {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.runners[name]
	if r == nil {
		t.Fatalf("no runner for target %q", name)
	}
	return r
}

func sameOps(got, want []op) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// sameOpSet compares regardless of order (removals follow map order).
func sameOpSet(got, want []op) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[op]int{}
	for _, o := range got {
		seen[o]++
	}
	for _, o := range want {
		seen[o]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestApplyKeepsUnchangedReplacesChangedStopsRemoved(t *testing.T) {
	named, literal, other := ip("198.18.7.9"), ip("198.18.7.2"), ip("198.18.7.3")
	hop := ip("198.18.1.2")
	res := newFakeResolver()
	res.gate = make(chan struct{})
	res.set("ip4/a.example", named)
	m, ft := newTestManager(t, res)

	m.Apply(&config.Config{Targets: []config.Target{target("a", "a.example"), target("b", literal.String())}})
	a, b := runnerOf(t, m, "a"), runnerOf(t, m, "b")
	if got, want := ft.take(), []op{add(a.target), add(b.target)}; !sameOps(got, want) {
		t.Fatalf("first apply: tracer calls %v, want %v", got, want)
	}
	if got := b.target.Addr(); got != literal {
		t.Errorf("literal target traced at %v on Apply, want %v at once", got, literal)
	}
	if got := a.target.Addr(); got.IsValid() {
		t.Errorf("named target traced at %v before its lookup answered", got)
	}
	res.release(t) // the lookup of a.example answers
	eventually(t, "a.example to be resolved", func() bool { return a.target.Addr() == named })
	if s := a.state.Snapshot(); s.Address != named || s.AddressChanges != 0 {
		t.Errorf("a: snapshot address %v with %d changes, want %v and 0", s.Address, s.AddressChanges, named)
	}

	// Trace both for one interval so there are counters and a path to keep.
	a.observe(result(named, 2, hop, named))
	b.observe(result(literal, 2, hop, literal))
	before := a.state.Snapshot()
	if !before.Path.Known() || before.ProbesSent != 4 {
		t.Fatalf("a after one interval: path %v, %d probes; want a known path and 4", before.Path, before.ProbesSent)
	}

	changed := target("b", literal.String())
	changed.MaxHops = 9
	m.Apply(&config.Config{Targets: []config.Target{target("a", "a.example"), changed, target("c", other.String())}})
	b2, c := runnerOf(t, m, "b"), runnerOf(t, m, "c")
	if got, want := ft.take(), []op{remove(b.target), add(b2.target), add(c.target)}; !sameOps(got, want) {
		t.Fatalf("second apply: tracer calls %v, want the old b removed, then the new b and c added: %v", got, want)
	}
	if runnerOf(t, m, "a") != a {
		t.Fatal("unchanged target a got a new runner")
	}
	if after := a.state.Snapshot(); after != before || a.target.Addr() != named {
		t.Errorf("unchanged target a lost its state: %+v, had %+v", after, before)
	}
	if n := res.count("ip4/a.example"); n != 1 {
		t.Errorf("a.example looked up %d times, want 1 (the unchanged target keeps its address)", n)
	}
	if b2 == b || b2.target == b.target {
		t.Fatal("changed target b kept its runner")
	}
	if s := b2.state.Snapshot(); s.Observed || s.ProbesSent != 0 || s.Address != literal || b2.target.Addr() != literal || b2.cfg.MaxHops != 9 {
		t.Errorf("changed target b: snapshot %+v, config %+v; want fresh state at %v with the new config", s, b2.cfg, literal)
	}
	if c.target.Addr() != other {
		t.Errorf("new literal target c traced at %v, want %v", c.target.Addr(), other)
	}

	m.Apply(&config.Config{Targets: []config.Target{target("c", other.String())}})
	// The removals are recorded before Apply returns: no probe of a removed
	// target follows.
	if got, want := ft.take(), []op{remove(a.target), remove(b2.target)}; !sameOpSet(got, want) {
		t.Fatalf("third apply: tracer calls %v, want %v", got, want)
	}
	ts := m.Targets()
	if len(ts) != 1 || ts[0].Config.Name != "c" {
		t.Fatalf("targets after removing a and b: %+v", ts)
	}
	m.dns.mu.Lock()
	names := len(m.dns.names)
	m.dns.mu.Unlock()
	if names != 0 {
		t.Errorf("%d names still cached after their only target was removed", names)
	}

	m.Stop()
	if got, want := ft.take(), []op{remove(c.target)}; !sameOps(got, want) {
		t.Errorf("stop: tracer calls %v, want %v", got, want)
	}
	if ts := m.Targets(); len(ts) != 0 {
		t.Errorf("targets after Stop: %+v", ts)
	}
}

func TestTargetsSortedByName(t *testing.T) {
	m, _ := newTestManager(t, newFakeResolver())
	m.Apply(&config.Config{Targets: []config.Target{
		target("c", "198.18.0.3"), target("a", "198.18.0.1"), target("b", "198.18.0.2"),
	}})
	var names []string
	for _, tg := range m.Targets() {
		names = append(names, tg.Config.Name)
		if want := ip(tg.Config.Host); tg.Snapshot.Address != want {
			t.Errorf("%s: snapshot address %v, want %v", tg.Config.Name, tg.Snapshot.Address, want)
		}
	}
	if fmt.Sprint(names) != "[a b c]" {
		t.Fatalf("targets %v, want [a b c]", names)
	}
}

func TestTargetsSharingANameShareItsLookup(t *testing.T) {
	addr := ip("198.18.7.9")
	res := newFakeResolver()
	res.set("ip4/shared.example", addr)
	m, ft := newTestManager(t, res)
	var cfg config.Config
	for _, n := range []string{"x", "y", "z"} {
		cfg.Targets = append(cfg.Targets, target(n, "shared.example"))
	}
	m.Apply(&cfg)
	eventually(t, "every target to be resolved", func() bool {
		for _, tg := range m.Targets() {
			if tg.Snapshot.Address != addr {
				return false
			}
		}
		return true
	})
	if n := res.count("ip4/shared.example"); n != 1 {
		t.Errorf("3 targets of one name caused %d lookups, want 1", n)
	}
	if ops := ft.take(); len(ops) != 3 {
		t.Errorf("tracer calls %v, want 3 adds", ops)
	}
}

func TestResolveFailureIsCounted(t *testing.T) {
	res := newFakeResolver()
	m, ft := newTestManager(t, res)
	m.Apply(&config.Config{Targets: []config.Target{target("x", "missing.example")}})
	x := runnerOf(t, m, "x")
	if got, want := ft.take(), []op{add(x.target)}; !sameOps(got, want) {
		t.Fatalf("tracer calls %v, want %v (the engine skips intervals until there is an address)", got, want)
	}
	eventually(t, "the failed lookup to be counted", func() bool { return m.Targets()[0].Snapshot.ResolveErrors == 1 })
	if a := x.target.Addr(); a.IsValid() {
		t.Errorf("traced at %v although the lookup failed", a)
	}
	if s := x.state.Snapshot(); s.Address.IsValid() || s.AddressChanges != 0 {
		t.Errorf("snapshot address %v with %d changes, want none", s.Address, s.AddressChanges)
	}
}
