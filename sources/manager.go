package sources

import (
	"context"
	"reflect"
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// Options configure a Manager.
type Options struct {
	// Apply makes a configuration's targets the running ones (the
	// prober's Manager.Apply: unchanged targets keep running).
	Apply func(*config.Config)
	// Shard is this instance's part of the targets.
	Shard Shard
	// New returns the Source of a configured source; nil: the real ones
	// (NewWith, bgp sources reading Routes).
	New func(config.TargetSource, log.Logger) Source
	// Routes are the BGP speaker's received routes, which bgp sources
	// list.
	Routes Routes
	Logger log.Logger
}

// Manager runs the configured sources and applies the static targets
// together with what the sources found.
type Manager struct {
	ctx    context.Context
	apply  func(*config.Config)
	shard  Shard
	newSrc func(config.TargetSource, log.Logger) Source
	logger log.Logger

	mu      sync.Mutex
	cfg     *config.Config
	states  []*state // in configuration order
	applied []config.Target
}

// state is one running source and its last good list.
type state struct {
	src    config.TargetSource
	source Source
	cancel context.CancelFunc
	items  []Item
	// targets is the last good list, built from items.
	targets []config.Target
	errors  float64
}

// NewManager returns a manager whose sources stop when ctx ends.
func NewManager(ctx context.Context, o Options) *Manager {
	if o.New == nil {
		routes := o.Routes
		o.New = func(c config.TargetSource, l log.Logger) Source { return NewWith(c, l, routes) }
	}
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	return &Manager{ctx: ctx, apply: o.Apply, shard: o.Shard, newSrc: o.New, logger: o.Logger}
}

// SetConfig makes cfg the running configuration, as at start and on
// every reload: every source is started again (so files are re-read and
// endpoints polled at once) except a flow collector whose configuration
// did not change; a source whose location did not change keeps its last
// list until it reports a new one; and the merged targets are applied.
func (m *Manager) SetConfig(cfg *config.Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := map[string]*state{}
	for _, s := range m.states {
		old[s.src.Name] = s
	}
	m.cfg, m.states = cfg, nil
	var start []*state
	for _, src := range cfg.Sources {
		o, ok := old[src.Name]
		// A flow collector whose flows settings are unchanged keeps
		// running: restarting it would empty its window. Its list is
		// rebuilt under the source's new defaults and cap.
		if ok && src.Flows != nil && reflect.DeepEqual(o.src.Flows, src.Flows) {
			delete(old, src.Name)
			o.src = src
			o.build(m.logger)
			m.states = append(m.states, o)
			continue
		}
		s := &state{src: src}
		if ok {
			s.errors = o.errors
			if o.src.SameLocation(src) {
				s.items = o.items
				s.build(m.logger)
			}
		}
		m.states = append(m.states, s)
		start = append(start, s)
	}
	for _, o := range old {
		o.cancel()
	}
	m.applyLocked(true)
	for _, s := range start {
		ctx, cancel := context.WithCancel(m.ctx)
		s.cancel = cancel
		l := log.With(m.logger, "source", s.src.Name)
		s.source = m.newSrc(s.src, l)
		go s.source.Run(ctx, func(items []Item, err error) { m.report(ctx, s, items, err) })
	}
}

// build rebuilds s.targets from s.items with the source's current
// configuration; a list no longer valid is dropped.
func (s *state) build(logger log.Logger) {
	ts, _, err := Build(s.src, s.items)
	if err != nil {
		level.Warn(logger).Log("msg", "Dropping a source's list, invalid under the new configuration", "source", s.src.Name, "err", err)
		s.items, ts = nil, nil
	}
	s.targets = ts
}

// report takes a source's new list, or the error of a failed refresh
// (which keeps the last good list).
func (m *Manager) report(ctx context.Context, s *state, items []Item, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ctx.Err() != nil {
		return // a source stopped by a reload
	}
	var ts []config.Target
	var dropped int
	if err == nil {
		ts, dropped, err = Build(s.src, items)
	}
	if err != nil {
		s.errors++
		level.Warn(m.logger).Log("msg", "Target source refresh failed; keeping its last good list", "source", s.src.Name, "targets", len(s.targets), "err", err)
		return
	}
	if dropped > 0 {
		level.Warn(m.logger).Log("msg", "Target source lists more targets than its max_targets; the rest are left out", "source", s.src.Name, "max_targets", s.src.MaxTargets, "left_out", dropped)
	}
	s.items, s.targets = items, ts
	m.applyLocked(false)
}

// applyLocked applies the static and discovered targets if they changed
// or force is set (a new configuration).
func (m *Manager) applyLocked(force bool) {
	lists := make([][]config.Target, len(m.states))
	for i, s := range m.states {
		lists[i] = s.targets
	}
	ts, clashes := Merge(m.cfg.Targets, lists, m.shard)
	for i, n := range clashes {
		if n > 0 {
			level.Debug(m.logger).Log("msg", "Discovered targets left out: their name is taken by a static target or an earlier source", "source", m.states[i].src.Name, "count", n)
		}
	}
	if ts == nil {
		ts = []config.Target{}
	}
	if !force && reflect.DeepEqual(ts, m.applied) {
		return
	}
	m.applied = ts
	c := *m.cfg
	c.Targets = ts
	m.apply(&c)
}

// Stop stops every source.
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.states {
		s.cancel()
	}
}

// SourceStatus is what a source contributes now.
type SourceStatus struct {
	Name string
	// Targets is the length of its last good list (after the cap).
	Targets int
	// Errors counts its failed refreshes.
	Errors float64
	// Flows are a flow collector's counters; nil for other sources.
	Flows *FlowCounts
}

// FlowCounts are a flow collector's counters (FlowStats).
type FlowCounts struct {
	Records, DecodeErrors, UnknownTemplates float64
}

// Status returns every running source's status, in configuration order.
func (m *Manager) Status() []SourceStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]SourceStatus, len(m.states))
	for i, s := range m.states {
		out[i] = SourceStatus{Name: s.src.Name, Targets: len(s.targets), Errors: s.errors}
		if f, ok := s.source.(*Flows); ok {
			out[i].Flows = &FlowCounts{Records: float64(f.Stats.Records.Load()),
				DecodeErrors: float64(f.Stats.DecodeErrors.Load()), UnknownTemplates: float64(f.Stats.UnknownTemplates.Load())}
		}
	}
	return out
}

// Shard returns the shard the manager keeps.
func (m *Manager) Shard() Shard { return m.shard }
