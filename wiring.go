package main

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	slgk "github.com/tjhop/slog-gokit"

	"github.com/traceroute-exporter/traceroute_exporter/collector"
	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/prober"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// newLogger returns a go-kit logger in the given format, filtered at lvl.
func newLogger(lvl, format string) log.Logger {
	var l log.Logger
	if format == "json" {
		l = log.NewJSONLogger(log.NewSyncWriter(os.Stderr))
	} else {
		l = log.NewLogfmtLogger(log.NewSyncWriter(os.Stderr))
	}
	l = log.With(l, "ts", log.DefaultTimestampUTC)
	opt := map[string]level.Option{
		"debug": level.AllowDebug(), "info": level.AllowInfo(), "warn": level.AllowWarn(), "error": level.AllowError(),
	}[lvl]
	return level.NewFilter(l, opt)
}

// slogLogger adapts the go-kit logger for exporter-toolkit. Filtering is
// done by the go-kit logger, so the handler passes every level.
func slogLogger(l log.Logger) *slog.Logger {
	var lv slog.LevelVar
	lv.Set(slog.LevelDebug)
	return slog.New(slgk.NewGoKitHandler(l, &lv))
}

// openSockets opens the shared raw socket of each family. Missing privilege
// is fatal; an unavailable IPv6 stack only disables IPv6 targets.
func openSockets(logger log.Logger) (tracer.PacketConn, tracer.PacketConn, error) {
	c4, err := tracer.ListenICMP(false)
	if err != nil {
		return nil, nil, err
	}
	c6, err := tracer.ListenICMP(true)
	if err != nil {
		if errors.Is(err, tracer.ErrPermission) {
			c4.Close()
			return nil, nil, err
		}
		level.Warn(logger).Log("msg", "IPv6 unavailable; IPv6 targets will not be traced", "err", err)
		return c4, nil, nil
	}
	return c4, c6, nil
}

func collectorTargets(m *prober.Manager) []collector.Target {
	ts := m.Targets()
	out := make([]collector.Target, len(ts))
	for i, t := range ts {
		out[i] = collector.Target{Name: t.Config.Name, Labels: t.Config.Labels, Snapshot: t.Snapshot, Evidence: t.Evidence}
	}
	return out
}

func exporterStats(e *tracer.Engine, en *enrich.Sources) collector.ExporterStats {
	s := e.Stats()
	return collector.ExporterStats{Unmatched: s.Unmatched, Late: s.Late, Malformed: s.Malformed, SendErrors: s.SendErrors,
		SocketDrops: s.SocketDrops, HistoryErrors: en.StoreErrors()}
}

// reloader reloads the configuration file; one reload runs at a time.
type reloader struct {
	mu      sync.Mutex
	file    string
	safe    *config.Safe
	manager *prober.Manager
	enrich  *enrichment
	logger  log.Logger
}

// reload applies the file if it is valid and keeps the running
// configuration if it is not.
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, err := r.safe.Reload(r.file, time.Now())
	if err != nil {
		level.Error(r.logger).Log("msg", "Configuration reload failed; keeping the running configuration", "file", r.file, "err", err)
		return err
	}
	r.enrich.reload(cfg)
	r.manager.Apply(cfg)
	level.Info(r.logger).Log("msg", "Configuration reloaded", "file", r.file, "targets", len(cfg.Targets))
	return nil
}
