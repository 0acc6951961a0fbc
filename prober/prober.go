// Package prober runs the configured targets: one lightweight runner per
// target resolves its host every interval and starts an interval of tracing
// on the shared engine, whose result updates the target's pathstate. The
// Manager applies configuration reloads, keeping the state of every target
// whose configuration did not change.
package prober

import (
	"context"
	"net/netip"
	"reflect"
	"sort"
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// Tracer is what the prober needs of the tracer engine.
type Tracer interface {
	NewFlow() *tracer.Flow
	ReleaseFlow(*tracer.Flow)
	Start(ctx context.Context, f *tracer.Flow, s tracer.Spec, done func(tracer.Result)) error
}

// Resolver looks up host names; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Target is one configured target and its latest snapshot.
type Target struct {
	Config   config.Target
	Snapshot *pathstate.Snapshot
}

// Manager owns the runners of the configured targets.
type Manager struct {
	ctx    context.Context
	tracer Tracer
	res    Resolver
	logger log.Logger

	mu      sync.Mutex
	runners map[string]*runner
}

// NewManager returns a manager whose runners stop when ctx ends.
func NewManager(ctx context.Context, tr Tracer, res Resolver, logger log.Logger) *Manager {
	return &Manager{ctx: ctx, tracer: tr, res: res, logger: logger, runners: map[string]*runner{}}
}

// Apply makes cfg the set of running targets. A target whose configuration
// is unchanged keeps running with its state and counters; a changed one
// starts afresh; a removed one stops and its series disappear.
func (m *Manager) Apply(cfg *config.Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[string]config.Target{}
	for _, t := range cfg.Targets {
		want[t.Name] = t
	}
	for name, r := range m.runners {
		if t, ok := want[name]; !ok || !reflect.DeepEqual(t, r.cfg) {
			r.stop()
			delete(m.runners, name)
			level.Info(m.logger).Log("msg", "Stopped target", "target", name)
		}
	}
	for _, t := range cfg.Targets {
		if _, ok := m.runners[t.Name]; ok {
			continue
		}
		r := newRunner(t, m.tracer, m.res, log.With(m.logger, "target", t.Name))
		m.runners[t.Name] = r
		r.start(m.ctx)
		level.Info(m.logger).Log("msg", "Started target", "target", t.Name, "host", t.Host, "interval", t.Interval)
	}
}

// Targets returns every running target with its snapshot, sorted by name.
func (m *Manager) Targets() []Target {
	m.mu.Lock()
	ts := make([]Target, 0, len(m.runners))
	for _, r := range m.runners {
		ts = append(ts, Target{Config: r.cfg, Snapshot: r.state.Snapshot()})
	}
	m.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Config.Name < ts[j].Config.Name })
	return ts
}

// Stop stops every runner and waits for them.
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, r := range m.runners {
		r.stop()
		delete(m.runners, name)
	}
}
