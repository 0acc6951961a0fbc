// Command traceroute_exporter keeps tracing the path to every configured
// target in the background and exposes per-hop RTT, loss, hop count and a
// path identity as Prometheus metrics.
//
// main only wires: flags, logger, configuration, engine, registry, HTTP
// and signals. The work is in tracer/, pathstate/, prober/ and collector/.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/traceroute-exporter/traceroute_exporter/api"
	"github.com/traceroute-exporter/traceroute_exporter/collector"
	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/history"
	"github.com/traceroute-exporter/traceroute_exporter/prober"
	"github.com/traceroute-exporter/traceroute_exporter/sources"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
	pages "github.com/traceroute-exporter/traceroute_exporter/web"
)

const program = "traceroute_exporter"

// defaultListen is outside 9100-9999, which the Prometheus default port
// allocations list has used up.
const defaultListen = ":10188"

func main() { os.Exit(run()) }

func run() int {
	var (
		configFile  = kingpin.Flag("config.file", "Path to the configuration file.").Default("traceroute_exporter.yml").String()
		configCheck = kingpin.Flag("config.check", "Validate the configuration file, print the result and exit.").Bool()
		metricsPath = kingpin.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		logLevel    = kingpin.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").Enum("debug", "info", "warn", "error")
		logFormat   = kingpin.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").Enum("logfmt", "json")
		dnsRefresh  = kingpin.Flag("dns.refresh-interval", "How often the host name of a target is looked up again. A target keeps its address while the answers include it.").Default("5m").Duration()
		asnDB       = kingpin.Flag("asn.database", "IP-to-ASN database: a MaxMind-format .mmdb (e.g. GeoLite2-ASN) or an iptoasn-style TSV, optionally gzipped. Reloaded with the configuration. Empty: no AS numbers.").Default("").String()
		reverseDNS  = kingpin.Flag("dns.reverse", "Look up the reverse-DNS name of every hop (cached, off the probing path) for the name label of traceroute_hop_info.").Default("false").Bool()
		storePath   = kingpin.Flag("storage.path", "File of the path history (paths and change events, kept across restarts). Empty disables persistence.").Default(history.DefaultPath).String()
		maxChanges  = kingpin.Flag("storage.max-changes", "Change events kept per target (oldest dropped first).").Default(strconv.Itoa(history.DefaultMaxChanges)).Int()
		retention   model.Duration
		rateLimit   = kingpin.Flag("probe.rate-limit", "Packet budget: at most this many probes a second from the whole process, in bursts of at most a tenth of a second's worth; rounds it holds back go on later in their interval, and what cannot go out within it is skipped and counted in traceroute_exporter_probes_skipped_total. 0: no limit.").Default("50000").Float64()
		hopRate     = kingpin.Flag("probe.hop-rate-limit", "Hop budget: at most this many probes a second that expire at one router (asking it for a Time Exceeded), in bursts of five seconds' worth, so that the routers every target shares are not asked more often than a Linux router's default ICMP rate limit answers (one a second, bursts of six); a probe it holds back is not sent, counts as neither sent nor lost, and is counted in traceroute_exporter_hop_probes_skipped_total. The destination is never held back. 0: no limit.").Default("1").Float64()
		externalURL = kingpin.Flag("web.external-url", "The URL under which the exporter is reached (e.g. behind a reverse proxy), for links in pages and diagrams; as Prometheus's flag of the same name.").Default("").String()
		shardFlag   = kingpin.Flag("targets.shard", "Trace only this instance's share of the targets, I/N (0 <= I < N): the targets rendezvous hashing of their names gives shard I of N, so N instances with the same configuration trace every target once. Empty: every target.").Default("").String()
		siteName    = kingpin.Flag("web.site-name", "Name of this vantage point, shown with the shard on the pages and in /api/v1/status (e.g. the site's external_labels site value in a multi-site set-up).").Default("").String()
		dropCaps    = kingpin.Flag("runtime.drop-capabilities", "Give up every capability (CAP_NET_RAW included) once the sockets are open; CAP_NET_BIND_SERVICE is kept when a --web.listen-address port is below 1024. --no-runtime.drop-capabilities keeps them.").Default("true").Bool()
		webFlags    = kingpinflag.AddFlags(kingpin.CommandLine, defaultListen)
	)
	kingpin.Flag("storage.retention", "How long path history is kept (e.g. 30d, 12h).").Default("30d").SetValue(&retention)
	kingpin.Version(version.Print(program))
	kingpin.HelpFlag.Short('h')
	kingpin.Parse()
	logger := newLogger(*logLevel, *logFormat)

	if *externalURL != "" {
		if u, err := url.Parse(*externalURL); err != nil || u.Scheme == "" || u.Host == "" {
			fmt.Fprintf(os.Stderr, "%s: --web.external-url: %q is not an absolute URL\n", program, *externalURL)
			return 1
		}
	}
	shard, err := sources.ParseShard(*shardFlag)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: --targets.shard: %v\n", program, err)
		return 1
	}
	if *configCheck {
		c, err := config.Load(*configFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: invalid: %v\n", *configFile, err)
			return 1
		}
		fmt.Printf("%s: OK, %d targets, %d target sources\n", *configFile, len(c.Targets), len(c.Sources))
		return 0
	}

	level.Info(logger).Log("msg", "Starting "+program, "version", version.Info(), "build_context", version.BuildContext())
	var safe config.Safe
	cfg, err := safe.Reload(*configFile, time.Now())
	if err != nil {
		level.Error(logger).Log("msg", "Cannot load configuration", "file", *configFile, "err", err)
		return 1
	}

	socks, err := openSockets(logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
		return 1
	}
	socks.warnSmallBuffers(logger)
	// The BGP speaker opens its listener (port 179 by default, which needs
	// CAP_NET_BIND_SERVICE) with the other sockets, before anything gives
	// up privileges.
	rt := newRouting(logger)
	if err := rt.apply(cfg.BGP); err != nil {
		fmt.Fprintf(os.Stderr, "%s: bgp: %v\n", program, err)
		return 1
	}
	defer rt.stop()
	if *dropCaps {
		// A reload may restart the speaker on its port: keep what binding
		// it needs.
		dropCapabilities(logger, *webFlags.WebListenAddresses, cfg.BGP != nil && cfg.BGP.ListenPort < 1024)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if *rateLimit < 0 {
		level.Error(logger).Log("msg", "Invalid --probe.rate-limit: must be 0 (no limit) or more", "value", *rateLimit)
		return 1
	}
	if *hopRate < 0 {
		level.Error(logger).Log("msg", "Invalid --probe.hop-rate-limit: must be 0 (no limit) or more", "value", *hopRate)
		return 1
	}
	opts := socks.options()
	opts.RateLimit = *rateLimit
	opts.HopRateLimit = *hopRate
	engine := tracer.New(opts)
	engineDone := make(chan struct{})
	go func() { engine.Run(ctx); close(engineDone) }()
	if *dnsRefresh <= 0 {
		fmt.Fprintf(os.Stderr, "%s: --dns.refresh-interval must be above 0\n", program)
		return 1
	}
	enr, err := openEnrichment(ctx, enrichFlags{asnDB: *asnDB, reverseDNS: *reverseDNS, storePath: *storePath,
		retention: time.Duration(retention), maxChanges: *maxChanges}, cfg, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
		return 1
	}
	defer enr.close()
	go rt.forget(ctx)
	enr.sources.Routing = rt.enrichRouting()
	manager := prober.NewManager(ctx, prober.Options{Tracer: engine, Resolver: net.DefaultResolver, DNSRefresh: *dnsRefresh, Enrich: enr.sources, Logger: logger})
	defer manager.Stop()
	// Static targets and the targets sources discover reach the manager
	// through discovery, which applies them like a reload.
	discovery := sources.NewManager(ctx, sources.Options{Apply: manager.Apply, Shard: shard, Routes: rt.table, Logger: log.With(logger, "component", "target_sources")})
	discovery.SetConfig(cfg)
	defer discovery.Stop()

	// The targets' collector is served by its own handler, which writes
	// the text format straight from its per-target cache; reg holds the
	// rest.
	targets := collector.New(collector.Sources{
		Targets: func() []collector.Target { return collectorTargets(manager) },
		Stats:   func() collector.ExporterStats { return exporterStats(engine, enr) },
		Reload:  safe.Status,
		Mode:    socks.mode,
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		versioncollector.NewCollector(program),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collector.WebInfo(*externalURL),
		collector.BGPSessions(rt.collectorSessions),
		sources.Collector{Status: discovery.Status},
	)
	reloader := &reloader{file: *configFile, safe: &safe, targets: discovery, enrich: enr, routing: rt, logger: logger}

	var hist api.History // an untyped nil when persistence is off
	if enr.store != nil {
		hist = enr.store
	}
	apiHandler := api.WithStatus(api.New(apiSource{manager}, hist, logger), func() api.Status { return apiStatus(*siteName, discovery, manager) })
	pagesHandler := pages.New(apiSource{manager}, hist, pages.Options{ExternalURL: *externalURL, MetricsPath: *metricsPath, Site: *siteName, Shard: shard.String()})
	srv := &http.Server{Handler: routes(collector.Handler(targets, reg), *metricsPath, reloader, apiHandler, pagesHandler), ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- web.ListenAndServe(srv, webFlags, slogLogger(logger)) }()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	for {
		select {
		case err := <-srvErr:
			if !errors.Is(err, http.ErrServerClosed) {
				level.Error(logger).Log("msg", "HTTP server failed", "err", err)
				return 1
			}
			return 0
		case s := <-signals:
			if s == syscall.SIGHUP {
				reloader.reload()
				continue
			}
			level.Info(logger).Log("msg", "Shutting down", "signal", s)
			shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
			srv.Shutdown(shutdown)
			done()
			discovery.Stop()
			manager.Stop()
			cancel()
			<-engineDone
			return 0
		}
	}
}
