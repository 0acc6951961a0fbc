// Package prober runs the configured targets on the shared tracer engine:
// it registers each target with the engine (which schedules its
// intervals), keeps named targets' addresses fresh through a shared DNS
// cache, and folds each finished interval into the target's pathstate off
// the probing loop. The Manager applies configuration reloads, keeping the
// state of every target whose configuration did not change.
package prober

import (
	"context"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// Tracer is what the prober needs of the tracer engine.
type Tracer interface {
	// Add starts tracing a target.
	Add(*tracer.Target)
	// Remove stops it; when it returns, no further probe of it is sent.
	Remove(*tracer.Target)
}

// Target is one configured target, its latest snapshot and evidence.
type Target struct {
	Config   config.Target
	Snapshot *pathstate.Snapshot
	Evidence *enrich.Evidence
}

// Options configure a Manager.
type Options struct {
	Tracer   Tracer
	Resolver Resolver
	// DNSRefresh is how often a target's host name is looked up again.
	DNSRefresh time.Duration
	// Enrich annotates paths and keeps their history; nil: none.
	Enrich *enrich.Sources
	Logger log.Logger
}

// Manager owns the runners of the configured targets.
type Manager struct {
	tracer Tracer
	dns    *dnsCache
	enrich *enrich.Sources
	logger log.Logger

	mu      sync.Mutex
	runners map[string]*runner
}

// NewManager returns a manager whose DNS lookups stop when ctx ends.
func NewManager(ctx context.Context, o Options) *Manager {
	if o.Enrich == nil {
		o.Enrich = &enrich.Sources{}
	}
	m := &Manager{tracer: o.Tracer, dns: newDNSCache(o.Resolver, o.DNSRefresh), enrich: o.Enrich, logger: o.Logger, runners: map[string]*runner{}}
	go m.dns.run(ctx)
	return m
}

// Apply makes cfg the set of running targets. A target whose configuration
// is unchanged keeps running with its state and counters; a changed one
// starts afresh; a removed one stops at once and its series disappear.
// When Apply returns, no probe of a removed or changed target is sent.
func (m *Manager) Apply(cfg *config.Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[string]config.Target{}
	for _, t := range cfg.Targets {
		want[t.Name] = t
	}
	for name, r := range m.runners {
		if t, ok := want[name]; !ok || !reflect.DeepEqual(t, r.cfg) {
			m.stop(r)
			delete(m.runners, name)
			level.Info(m.logger).Log("msg", "Stopped target", "target", name)
		}
	}
	for _, t := range cfg.Targets {
		if _, ok := m.runners[t.Name]; ok {
			continue
		}
		r := newRunner(t, m.enrich.NewTarget(t.Name), log.With(m.logger, "target", t.Name))
		m.runners[t.Name] = r
		m.tracer.Add(r.target)
		if r.named() {
			m.dns.subscribe(t.Family, t.Host, r)
		}
		level.Info(m.logger).Log("msg", "Started target", "target", t.Name, "host", t.Host, "interval", t.Interval)
	}
}

func (m *Manager) stop(r *runner) {
	if r.named() {
		m.dns.unsubscribe(r.cfg.Family, r.cfg.Host, r)
	}
	m.tracer.Remove(r.target)
}

// Targets returns every running target with its snapshot, sorted by name.
func (m *Manager) Targets() []Target {
	m.mu.Lock()
	ts := make([]Target, 0, len(m.runners))
	for _, r := range m.runners {
		snap, ev := r.shown()
		ts = append(ts, Target{Config: r.cfg, Snapshot: snap, Evidence: ev})
	}
	m.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Config.Name < ts[j].Config.Name })
	return ts
}

// Target returns one running target by name.
func (m *Manager) Target(name string) (Target, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runners[name]
	if !ok {
		return Target{}, false
	}
	snap, ev := r.shown()
	return Target{Config: r.cfg, Snapshot: snap, Evidence: ev}, true
}

// Stop stops every runner.
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, r := range m.runners {
		m.stop(r)
		delete(m.runners, name)
	}
}
