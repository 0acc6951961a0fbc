package main

import (
	"context"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/traceroute-exporter/traceroute_exporter/bgp"
	"github.com/traceroute-exporter/traceroute_exporter/collector"
	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/enrich"
)

// routing owns the BGP table and the speaker that fills it. The table
// lives as long as the process; the speaker runs while the configuration
// has a `bgp:` section and is restarted only when its AS, router ID or
// listener change (its neighbors change in place).
type routing struct {
	mu      sync.Mutex
	table   *bgp.Table
	speaker *bgp.Speaker
	cfg     *config.BGP
	logger  log.Logger
}

func newRouting(logger log.Logger) *routing {
	return &routing{table: bgp.NewTable(), logger: logger}
}

// apply starts, changes or stops the speaker for c (nil: no speaker). A
// speaker that cannot start is an error at start-up; on a reload it is
// logged and the speaker is started again with the previous settings
// (a restart frees the listener first, so it cannot run on meanwhile).
func (r *routing) apply(c *config.BGP) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case c == nil && r.speaker == nil:
		return nil
	case c == nil:
		r.speaker.Stop()
		r.speaker, r.cfg = nil, nil
		level.Info(r.logger).Log("msg", "BGP speaker stopped: no bgp section in the configuration")
		return nil
	case r.speaker != nil && bgp.SameGlobal(r.cfg, c):
		if err := r.speaker.Apply(c); err != nil {
			level.Error(r.logger).Log("msg", "Cannot apply the BGP neighbors", "err", err)
			return err
		}
		r.cfg = c
		return nil
	}
	old := r.cfg
	if r.speaker != nil {
		level.Info(r.logger).Log("msg", "BGP local_as, router_id or listener changed; restarting the speaker")
		r.speaker.Stop() // it holds the listener the new one may need
		r.speaker, r.cfg = nil, nil
	}
	s, err := bgp.Start(c, r.table, r.logger)
	if err != nil {
		level.Error(r.logger).Log("msg", "Cannot start the BGP speaker", "err", err)
		if old != nil {
			if s, err2 := bgp.Start(old, r.table, r.logger); err2 == nil {
				level.Warn(r.logger).Log("msg", "BGP speaker restarted with its previous settings")
				r.speaker, r.cfg = s, old
			} else {
				level.Error(r.logger).Log("msg", "Cannot restart the BGP speaker with its previous settings either; no BGP", "err", err2)
			}
		}
		return err
	}
	r.speaker, r.cfg = s, c
	return nil
}

// sessions are the neighbors' sessions; none without a speaker.
func (r *routing) sessions() []bgp.Session {
	r.mu.Lock()
	s := r.speaker
	r.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Sessions()
}

// config is the running `bgp:` section (nil: none).
func (r *routing) config() *config.BGP {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

func (r *routing) stop() { r.apply(nil) }

// forgetAfter is how long the table follows an address no target traced.
const forgetAfter = time.Hour

// forget drops, every forgetAfter, the addresses the table follows that
// no target has traced for as long (removed targets, changed addresses).
func (r *routing) forget(ctx context.Context) {
	t := time.NewTicker(forgetAfter)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.table.Forget(now.Add(-forgetAfter))
		}
	}
}

// enrichRouting is the targets' view of the table and settings.
func (r *routing) enrichRouting() *enrich.Routing {
	return &enrich.Routing{Table: r.table, Settings: func() (enrich.RoutingSettings, bool) {
		c := r.config()
		if c == nil {
			return enrich.RoutingSettings{}, false
		}
		return enrich.RoutingSettings{LocalAS: c.LocalAS, Window: c.Window, After: c.After}, true
	}}
}

// collectorSessions are the sessions as the collector exports them.
func (r *routing) collectorSessions() []collector.BGPSession {
	ss := r.sessions()
	out := make([]collector.BGPSession, len(ss))
	for i, s := range ss {
		out[i] = collector.BGPSession{Neighbor: s.Neighbor.String(), Up: s.Up, Received: s.Received}
	}
	return out
}
