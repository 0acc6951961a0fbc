package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	slgk "github.com/tjhop/slog-gokit"

	"github.com/traceroute-exporter/traceroute_exporter/collector"
	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/prober"
	"github.com/traceroute-exporter/traceroute_exporter/sources"
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

// sockets are the shared sockets of the engine, and the mode they run in.
type sockets struct {
	icmp4, icmp6, udp4, udp6, tcp4, tcp6 tracer.PacketConn
	// mode is "raw" (CAP_NET_RAW: every protocol) or "unprivileged"
	// (ICMP datagram sockets: ICMP only); id4, id6 the identifiers the
	// datagram sockets impose.
	mode     string
	id4, id6 uint16
}

// openSockets opens the shared raw sockets of each family and protocol.
// Without CAP_NET_RAW it falls back to ICMP datagram ("ping") sockets,
// which the kernel allows to groups in net.ipv4.ping_group_range; if that
// fails too, the error says both ways out. An unavailable IPv6 stack only
// disables IPv6 targets, and a protocol whose socket cannot be opened
// only that protocol's targets.
func openSockets(logger log.Logger) (sockets, error) {
	s := sockets{mode: "raw"}
	var err error
	if s.icmp4, err = tracer.ListenICMP(false); err != nil {
		if !errors.Is(err, tracer.ErrPermission) {
			return s, err
		}
		return openUnprivileged(logger, err)
	}
	if s.icmp6, err = tracer.ListenICMP(true); err != nil {
		level.Warn(logger).Log("msg", "IPv6 unavailable; IPv6 targets will not be traced", "err", err)
	}
	optional := func(listen func(bool) (tracer.PacketConn, error), v6 bool, what string) tracer.PacketConn {
		if v6 && s.icmp6 == nil {
			return nil
		}
		c, err := listen(v6)
		if err != nil {
			level.Warn(logger).Log("msg", "Cannot open a socket; targets of this protocol and family will not be traced", "socket", what, "err", err)
			return nil
		}
		return c
	}
	s.udp4 = optional(tracer.ListenUDP, false, "udp4")
	s.udp6 = optional(tracer.ListenUDP, true, "udp6")
	s.tcp4 = optional(tracer.ListenTCP, false, "tcp4")
	s.tcp6 = optional(tracer.ListenTCP, true, "tcp6")
	level.Info(logger).Log("msg", "Tracing with raw sockets", "mode", s.mode, "protocols", "icmp,udp,tcp")
	return s, nil
}

// openUnprivileged opens ICMP datagram sockets after raw ones were refused.
func openUnprivileged(logger log.Logger, rawErr error) (sockets, error) {
	s := sockets{mode: "unprivileged"}
	var err error
	if s.icmp4, s.id4, err = tracer.ListenICMPUnprivileged(false); err != nil {
		return sockets{}, fmt.Errorf("%w; the unprivileged fallback failed too: %w", rawErr, err)
	}
	if s.icmp6, s.id6, err = tracer.ListenICMPUnprivileged(true); err != nil {
		level.Warn(logger).Log("msg", "IPv6 unavailable without privileges; IPv6 targets will not be traced", "err", err)
	}
	level.Warn(logger).Log("msg", "No CAP_NET_RAW: tracing ICMP through unprivileged datagram sockets; udp and tcp targets will not be traced, and IPv6 targets cannot set a source address", "mode", s.mode)
	return s, nil
}

// warnSmallBuffers warns about receiving sockets whose receive buffer the
// kernel capped below what they asked for (net.core.rmem_max).
func (s sockets) warnSmallBuffers(logger log.Logger) {
	for _, c := range []struct {
		name string
		conn tracer.PacketConn
	}{{"icmp4", s.icmp4}, {"icmp6", s.icmp6}, {"tcp4", s.tcp4}, {"tcp6", s.tcp6}} {
		b, ok := c.conn.(interface{ ReceiveBuffer() int })
		if !ok {
			continue
		}
		if got := b.ReceiveBuffer(); got > 0 && got < tracer.WantReceiveBuffer {
			level.Warn(logger).Log("msg", "Socket receive buffer capped by net.core.rmem_max: bursts of replies may be dropped (counted in traceroute_exporter_socket_drops_total); raise it with sysctl -w net.core.rmem_max=4194304",
				"socket", c.name, "granted_bytes", got, "wanted_bytes", tracer.WantReceiveBuffer)
		}
	}
}

// options are the engine options over the sockets.
func (s sockets) options() tracer.Options {
	return tracer.Options{Conn4: s.icmp4, Conn6: s.icmp6, UDP4: s.udp4, UDP6: s.udp6, TCP4: s.tcp4, TCP6: s.tcp6,
		ICMPID4: s.id4, ICMPID6: s.id6}
}

func collectorTargets(m *prober.Manager) []collector.Target {
	ts := m.Targets()
	out := make([]collector.Target, len(ts))
	for i, t := range ts {
		out[i] = collector.Target{Name: t.Config.Name, Labels: t.Config.Labels, Snapshot: t.Snapshot, Evidence: t.Evidence}
	}
	return out
}

func exporterStats(e *tracer.Engine, en *enrichment) collector.ExporterStats {
	s := e.Stats()
	asnDB, asnOK := en.asnState()
	return collector.ExporterStats{Unmatched: s.Unmatched, Late: s.Late, Malformed: s.Malformed, SendErrors: s.SendErrors,
		SocketDrops: s.SocketDrops, HistoryErrors: en.sources.StoreErrors(), BadExtensions: s.BadExtensions, ProbesSkipped: s.ProbesSkipped,
		HopProbesSkipped: s.HopProbesSkipped, ASNDatabase: asnDB, ASNLoadOK: asnOK}
}

// reloader reloads the configuration file; one reload runs at a time.
type reloader struct {
	mu      sync.Mutex
	file    string
	safe    *config.Safe
	targets *sources.Manager
	enrich  *enrichment
	routing *routing
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
	r.routing.apply(cfg.BGP) // a speaker that cannot change is logged and keeps running
	r.targets.SetConfig(cfg)
	level.Info(r.logger).Log("msg", "Configuration reloaded", "file", r.file, "targets", len(cfg.Targets), "target_sources", len(cfg.Sources))
	return nil
}
