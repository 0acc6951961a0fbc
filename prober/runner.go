package prober

import (
	"hash/fnv"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// runner is one configured target: its state, its tracer target, and the
// glue between them. The engine schedules its intervals; the DNS cache
// sets its address; observe runs off the probing loop.
type runner struct {
	cfg    config.Target
	state  *pathstate.State
	ev     *enrich.Target
	target *tracer.Target
	logger log.Logger

	mu sync.Mutex // serializes address and hint updates

	// view is what readers (scrapes, the API, the pages) see: a snapshot
	// and the evidence computed from it, published together once both
	// are updated, so a scrape never pairs a new path with the AS numbers
	// and names of the path before (seen at a scrape 0.5 s after a route
	// switch on a loaded host).
	view atomic.Pointer[shown]
}

// shown is a snapshot and its evidence, as readers see them.
type shown struct {
	snap *pathstate.Snapshot
	ev   *enrich.Evidence
}

// publish makes the current snapshot and evidence what readers see.
func (r *runner) publish() { r.view.Store(&shown{r.state.Snapshot(), r.ev.Evidence()}) }

// shown returns what readers see of the target.
func (r *runner) shown() (*pathstate.Snapshot, *enrich.Evidence) {
	v := r.view.Load()
	return v.snap, v.ev
}

func newRunner(t config.Target, ev *enrich.Target, logger log.Logger) *runner {
	r := &runner{cfg: t, state: pathstate.NewState(), ev: ev, logger: logger}
	r.publish()
	method, err := tracer.MethodByName(t.Protocol)
	if err != nil {
		method = tracer.ICMP // config validated the protocol
	}
	s := tracer.Schedule{
		Method:   method,
		Port:     uint16(t.Port),
		Interval: t.Interval,
		Offset:   startOffset(t.Name, t.Interval),
		Rounds:   t.Probes,
		MaxHops:  t.MaxHops,
		Timeout:  t.Timeout,
		Flows:    t.Flows,
	}
	if t.PMTU {
		s.PMTUEvery = t.PMTUEvery
	}
	if t.Source != "" {
		s.Src = netip.MustParseAddr(t.Source) // validated by config
	}
	r.target = tracer.NewTarget(s, r.observe)
	if ip, err := netip.ParseAddr(t.Host); err == nil {
		r.setAddress(ip)
	}
	return r
}

// named reports whether the target's host is a DNS name.
func (r *runner) named() bool {
	_, err := netip.ParseAddr(r.cfg.Host)
	return err != nil
}

// observe folds a finished interval into the state and its evidence,
// logs what changed and hands the path's hop count back to the engine for
// the next interval.
func (r *runner) observe(res tracer.Result) {
	prev := r.state.Snapshot()
	changes := r.state.Observe(res)
	var flow0 []pathstate.Change // the evidence (AS path, history) follows flow 0
	for _, c := range changes {
		kv := []any{"msg", "Path changed", "address", c.Address,
			"old_hops", c.Before.Hops, "new_hops", c.After.Hops,
			"old_path", hopList(c.BeforeHops), "new_path", hopList(c.AfterHops)}
		if r.cfg.Flows > 1 {
			kv = append(kv, "flow", c.Flow)
		}
		level.Info(r.logger).Log(kv...)
		if c.Flow == 0 {
			flow0 = append(flow0, c)
		}
	}
	// A change is judged once its new path is known (see enrich.Update).
	for _, e := range r.ev.Update(prev, r.state.Snapshot(), flow0) {
		level.Info(r.logger).Log("msg", "Path change judged", "address", e.Address, "changed_at", e.Time,
			"old_hops", e.Before.Hops, "new_hops", len(e.AfterHops), "new_path", hopList(e.AfterHops),
			"verdict", e.Verdict, "reasons", strings.Join(e.Reasons, "; "))
	}
	r.publish()
	if m := r.state.Snapshot().MTU; res.MTU != nil && m != nil {
		if prev.MTU == nil || prev.MTU.Bytes != m.Bytes || prev.MTU.Hop != m.Hop {
			old := 0
			if prev.MTU != nil {
				old = prev.MTU.Bytes
			}
			level.Info(r.logger).Log("msg", "Path MTU changed", "address", res.Dst, "old_mtu", old, "new_mtu", m.Bytes,
				"hop", m.Hop, "from", m.From, "probes", res.MTU.Probes)
		}
	}
	r.mu.Lock()
	if snap := r.state.Snapshot(); res.Dst == snap.Address {
		r.target.SetHint(snap.MaxHops()) // not an old address's hop count
	}
	r.mu.Unlock()
	if res.SendErr != nil {
		failed := 0
		for _, p := range res.Probes {
			if p.SendFailed {
				failed++
			}
		}
		level.Warn(r.logger).Log("msg", "Probes could not be sent", "dst", res.Dst, "failed", failed, "of", len(res.Probes), "err", res.SendErr)
	}
}

// resolved implements subscriber: keep the current address while the
// answers still include it, else switch to the first.
func (r *runner) resolved(answers []netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setAddressLocked(pick(r.target.Addr(), answers))
}

// resolveFailed implements subscriber: the last good address stays.
func (r *runner) resolveFailed(err error) {
	r.state.ResolveFailed()
	r.publish()
	if a := r.target.Addr(); a.IsValid() {
		level.Warn(r.logger).Log("msg", "Cannot resolve target host; tracing the last good address", "host", r.cfg.Host, "address", a, "err", err)
		return
	}
	level.Warn(r.logger).Log("msg", "Cannot resolve target host; not traced until it resolves", "host", r.cfg.Host, "err", err)
}

func (r *runner) setAddress(a netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setAddressLocked(a)
}

func (r *runner) setAddressLocked(a netip.Addr) {
	old := r.target.Addr()
	if old == a {
		return
	}
	r.state.SetAddress(a)
	r.publish()
	r.target.SetHint(0)
	r.target.SetAddr(a)
	if old.IsValid() {
		level.Info(r.logger).Log("msg", "Target address changed", "host", r.cfg.Host, "old_address", old, "new_address", a)
	} else {
		level.Debug(r.logger).Log("msg", "Target address set", "host", r.cfg.Host, "address", a)
	}
}

func hopList(as []netip.Addr) string {
	return pathstate.Path{Addrs: as}.String()
}

// startOffset spreads the targets' first intervals over the interval, by a
// hash of the name, so that targets do not all probe at the same instant.
func startOffset(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}
