package main

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/traceroute-exporter/traceroute_exporter/asn"
	"github.com/traceroute-exporter/traceroute_exporter/config"
	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/history"
	"github.com/traceroute-exporter/traceroute_exporter/rdns"
)

// pruneEvery is how often the history is pruned to its retention and caps.
const pruneEvery = time.Hour

// enrichFlags are the command-line settings of enrichment and history.
type enrichFlags struct {
	asnDB      string
	reverseDNS bool
	storePath  string
	retention  time.Duration
	maxChanges int
}

// enrichment owns the enrichment sources: the ASN database, the reverse
// DNS cache, the history store and the verdict criteria.
type enrichment struct {
	sources  *enrich.Sources
	asn      *asn.Holder
	names    *rdns.Cache
	store    history.Store
	asnPath  string
	asnOK    atomic.Bool // the last load of asnPath succeeded
	criteria atomic.Pointer[history.Criteria]
	logger   log.Logger
}

// openEnrichment opens what the flags ask for. A corrupt history file is
// moved aside and a fresh one started (logged); a history that cannot be
// opened at all (locked by another process, no permission) is an error.
func openEnrichment(ctx context.Context, f enrichFlags, cfg *config.Config, logger log.Logger) (*enrichment, error) {
	e := &enrichment{asn: &asn.Holder{}, asnPath: f.asnDB, logger: logger}
	e.setCriteria(cfg.Verdict)
	e.sources = &enrich.Sources{Criteria: func() history.Criteria { return *e.criteria.Load() }, Logger: logger}
	if f.asnDB != "" {
		db, err := e.asn.Reload(f.asnDB)
		if err != nil {
			return nil, fmt.Errorf("--asn.database: %w", err)
		}
		logASN(logger, db)
		e.asnOK.Store(true)
		e.sources.ASN = e.asn
	}
	if f.reverseDNS {
		e.names = rdns.New(rdns.Options{Resolver: net.DefaultResolver})
		e.sources.Names = e.names
	}
	if f.storePath != "" {
		o := history.DefaultOptions()
		o.Retention, o.MaxChanges = f.retention, f.maxChanges
		b, moved, err := history.OpenBolt(f.storePath, o)
		if err != nil {
			return nil, fmt.Errorf("--storage.path: %w", err)
		}
		if moved != nil {
			level.Warn(logger).Log("msg", "History database was corrupt; moved it aside and started a fresh one", "file", moved.Path, "moved_to", moved.To, "err", moved.Err)
		}
		e.store = b
		e.sources.Store = b
		go e.prune(ctx)
	}
	return e, nil
}

// reload applies a new configuration's verdict criteria and reloads the
// ASN database; a database that fails to load keeps the old one.
func (e *enrichment) reload(cfg *config.Config) {
	e.setCriteria(cfg.Verdict)
	if e.asnPath == "" {
		return
	}
	db, err := e.asn.Reload(e.asnPath)
	e.asnOK.Store(err == nil)
	if err != nil {
		level.Error(e.logger).Log("msg", "ASN database reload failed; keeping the loaded one", "file", e.asnPath, "err", err)
		return
	}
	logASN(e.logger, db)
}

// asnState tells whether an ASN database is configured and whether its
// last load succeeded.
func (e *enrichment) asnState() (configured, ok bool) {
	return e.asnPath != "", e.asnOK.Load()
}

func (e *enrichment) setCriteria(v config.Verdict) {
	e.criteria.Store(&history.Criteria{RTTRatio: v.RTTRatio, RTTMargin: v.RTTMargin, LossMargin: v.LossMargin})
}

func logASN(logger log.Logger, db *asn.DB) {
	m := db.Meta()
	level.Info(logger).Log("msg", "Loaded ASN database", "file", m.Path, "format", m.Format, "entries", m.Entries, "skipped_lines", m.SkippedLines)
	if m.FirstSkipped != nil {
		level.Warn(logger).Log("msg", "ASN database has unreadable lines; they were skipped", "file", m.Path, "count", m.SkippedLines, "first", m.FirstSkipped)
	}
}

// prune applies the retention and caps at start and every pruneEvery.
func (e *enrichment) prune(ctx context.Context) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		if n, err := e.store.Prune(time.Now()); err != nil {
			level.Error(e.logger).Log("msg", "Cannot prune the path history", "err", err)
		} else if n > 0 {
			level.Debug(e.logger).Log("msg", "Pruned the path history", "records", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// close releases the caches and the store.
func (e *enrichment) close() {
	if e.names != nil {
		e.names.Close()
	}
	if e.store != nil {
		e.store.Close()
	}
}
