package prober

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// fakeTracer records the specs it is asked to trace and answers each at
// once with a one-hop result that reaches the destination.
type fakeTracer struct {
	mu       sync.Mutex
	started  chan tracer.Spec
	released int
}

func (f *fakeTracer) NewFlow() *tracer.Flow { return &tracer.Flow{} }
func (f *fakeTracer) ReleaseFlow(*tracer.Flow) {
	f.mu.Lock()
	f.released++
	f.mu.Unlock()
}
func (f *fakeTracer) Start(_ context.Context, _ *tracer.Flow, s tracer.Spec, done func(tracer.Result)) error {
	done(tracer.Result{Dst: s.Dst, Rounds: 1, Probes: []tracer.Probe{{TTL: 1, Kind: tracer.KindEchoReply, From: s.Dst}}})
	f.started <- s
	return nil
}

type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	if a, ok := r[network+"/"+host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func target(name, host string) config.Target {
	return config.Target{Name: name, Host: host, Protocol: "icmp", Family: "ip4", Interval: time.Second, Probes: 1, Timeout: time.Second, MaxHops: 4}
}

func waitSpec(t *testing.T, ch chan tracer.Spec) tracer.Spec {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no interval was started")
	}
	return tracer.Spec{}
}

func TestApplyKeepsUnchangedTargets(t *testing.T) {
	ft := &fakeTracer{started: make(chan tracer.Spec, 100)}
	res := fakeResolver{"ip4/a.example": {netip.MustParseAddr("198.18.7.9")}}
	m := NewManager(context.Background(), ft, res, log.NewNopLogger())
	defer m.Stop()

	m.Apply(&config.Config{Targets: []config.Target{target("a", "a.example"), target("b", "198.18.7.2")}})
	got := map[netip.Addr]bool{}
	got[waitSpec(t, ft.started).Dst] = true
	got[waitSpec(t, ft.started).Dst] = true
	if !got[netip.MustParseAddr("198.18.7.9")] || !got[netip.MustParseAddr("198.18.7.2")] {
		t.Fatalf("traced %v, want the resolved 198.18.7.9 and the literal 198.18.7.2", got)
	}
	before := map[string]uint64{}
	for _, tg := range m.Targets() {
		before[tg.Config.Name] = tg.Snapshot.ProbesSent
	}

	changed := target("b", "198.18.7.2")
	changed.MaxHops = 9
	m.Apply(&config.Config{Targets: []config.Target{target("a", "a.example"), changed, target("c", "198.18.7.3")}})
	ts := m.Targets()
	if len(ts) != 3 || ts[0].Config.Name != "a" || ts[1].Config.Name != "b" || ts[2].Config.Name != "c" {
		t.Fatalf("targets %v, want a, b, c in order", ts)
	}
	if ts[0].Snapshot.ProbesSent < before["a"] || before["a"] == 0 {
		t.Fatalf("unchanged target a lost its counters: %d, had %d", ts[0].Snapshot.ProbesSent, before["a"])
	}
	if ts[1].Config.MaxHops != 9 || ts[1].Snapshot.Observed {
		t.Fatalf("changed target b: %+v; want the new config and fresh state", ts[1])
	}

	m.Apply(&config.Config{Targets: []config.Target{target("c", "198.18.7.3")}})
	if ts := m.Targets(); len(ts) != 1 || ts[0].Config.Name != "c" {
		t.Fatalf("after removing a and b: %v", ts)
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.released != 3 {
		t.Fatalf("%d flows released, want 3 (old b, a, new b)", ft.released)
	}
}

func TestResolveFailureIsCounted(t *testing.T) {
	ft := &fakeTracer{started: make(chan tracer.Spec, 10)}
	m := NewManager(context.Background(), ft, fakeResolver{}, log.NewNopLogger())
	defer m.Stop()
	m.Apply(&config.Config{Targets: []config.Target{target("x", "missing.example")}})
	deadline := time.Now().Add(5 * time.Second)
	for m.Targets()[0].Snapshot.ResolveErrors == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a failed lookup was not counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case s := <-ft.started:
		t.Fatalf("traced %v although the lookup failed", s.Dst)
	default:
	}
}

func TestStartOffsetSpreadsTargets(t *testing.T) {
	iv := 30 * time.Second
	seen := map[time.Duration]bool{}
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		o := startOffset(n, iv)
		if o < 0 || o >= iv {
			t.Fatalf("offset %v of %q outside [0, %v)", o, n, iv)
		}
		if startOffset(n, iv) != o {
			t.Fatal("offset not deterministic")
		}
		seen[o] = true
	}
	if len(seen) < 5 {
		t.Fatalf("6 targets got only %d distinct offsets", len(seen))
	}
}

func TestNextStartSkipsMissedIntervals(t *testing.T) {
	t0 := time.Unix(1000, 0)
	iv := 10 * time.Second
	if got := nextStart(t0, iv, t0.Add(3*time.Second)); !got.Equal(t0.Add(iv)) {
		t.Fatalf("on time: %v, want %v", got, t0.Add(iv))
	}
	if got := nextStart(t0, iv, t0.Add(35*time.Second)); !got.Equal(t0.Add(40 * time.Second)) {
		t.Fatalf("late by 3 intervals: %v, want %v", got, t0.Add(40*time.Second))
	}
}
