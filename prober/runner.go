package prober

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// maxLookup bounds one DNS lookup.
const maxLookup = 5 * time.Second

// runner traces one target: every interval it resolves the host and starts
// one interval of tracing on the engine. It is a goroutine that sleeps
// between intervals; the probes themselves run on the engine's loop.
type runner struct {
	cfg    config.Target
	state  *pathstate.State
	tracer Tracer
	res    Resolver
	logger log.Logger
	flow   *tracer.Flow

	cancel context.CancelFunc
	done   chan struct{}
}

func newRunner(t config.Target, tr Tracer, res Resolver, logger log.Logger) *runner {
	return &runner{cfg: t, state: pathstate.NewState(), tracer: tr, res: res, logger: logger}
}

func (r *runner) start(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	r.cancel, r.done = cancel, make(chan struct{})
	r.flow = r.tracer.NewFlow()
	level.Debug(r.logger).Log("msg", "Probing with a constant ICMP identifier", "icmp_id", fmt.Sprintf("%#04x", r.flow.ID()))
	go r.run(ctx)
}

func (r *runner) stop() {
	r.cancel()
	<-r.done
	r.tracer.ReleaseFlow(r.flow)
}

func (r *runner) run(ctx context.Context) {
	defer close(r.done)
	now := time.Now()
	next := now.Add(startOffset(r.cfg.Name, r.cfg.Interval))
	timer := time.NewTimer(next.Sub(now))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		r.once(ctx)
		next = nextStart(next, r.cfg.Interval, time.Now())
		timer.Reset(time.Until(next))
	}
}

// once runs one interval: resolve, then hand the interval to the engine.
func (r *runner) once(ctx context.Context) {
	dst, err := r.resolve(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.state.ResolveFailed()
			level.Warn(r.logger).Log("msg", "Cannot resolve target host", "host", r.cfg.Host, "err", err)
		}
		return
	}
	spec := tracer.Spec{
		Dst:     dst,
		MaxHops: r.cfg.MaxHops,
		Rounds:  r.cfg.Probes,
		Span:    r.cfg.Interval,
		Timeout: r.cfg.Timeout,
	}
	if r.cfg.Source != "" {
		spec.Src = netip.MustParseAddr(r.cfg.Source) // validated by config
	}
	if err := r.tracer.Start(ctx, r.flow, spec, r.observe); err != nil && ctx.Err() == nil {
		level.Error(r.logger).Log("msg", "Cannot trace target", "dst", dst, "err", err)
	}
}

// observe folds a finished interval into the state; it runs on the
// engine's loop. Probes the socket refused are logged once per interval.
func (r *runner) observe(res tracer.Result) {
	r.state.Observe(res)
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

// resolve returns the target's address: the literal, or the first address
// of the configured family that DNS returns.
func (r *runner) resolve(ctx context.Context) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(r.cfg.Host); err == nil {
		return ip, nil
	}
	ctx, cancel := context.WithTimeout(ctx, min(maxLookup, r.cfg.Interval))
	defer cancel()
	addrs, err := r.res.LookupNetIP(ctx, r.cfg.Family, r.cfg.Host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("%s: %w", r.cfg.Host, errNoAddress)
	}
	return addrs[0].Unmap(), nil
}

var errNoAddress = errors.New("no address of the configured family")

// startOffset spreads the targets' first intervals over the interval, by a
// hash of the name, so that targets do not all probe at the same instant.
func startOffset(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// nextStart returns the start of the interval after prev. Starts stay on
// the grid prev + k*interval; intervals missed (e.g. the process was
// stopped) are skipped rather than run in a burst.
func nextStart(prev time.Time, interval time.Duration, now time.Time) time.Time {
	next := prev.Add(interval)
	if next.Before(now) {
		missed := now.Sub(next)/interval + 1
		next = next.Add(missed * interval)
	}
	return next
}
