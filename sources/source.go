// Package sources discovers targets beyond the configuration file's
// static ones: files in Prometheus's file_sd format (watched with
// fsnotify), Prometheus HTTP SD endpoints, and DNS names (A, AAAA, SRV).
// Each configured source runs on its own and reports complete lists; the
// Manager validates each list against the source's defaults and cap,
// keeps a source's last good list when a refresh fails, merges the lists
// with the static targets (static targets win a name clash, then sources
// in configuration order), keeps the targets its shard owns (rendezvous
// hashing) and applies the result to the prober like a reload.
package sources

import (
	"context"
	"time"
)

// Item is one discovered destination, before the source's defaults are
// applied.
type Item struct {
	// Host is an IP address or a DNS name.
	Host string
	// Port is the port the source gave with the host (0: none).
	Port int
	// Labels are the labels the source gave it.
	Labels map[string]string
}

// Source discovers targets.
type Source interface {
	// Run reads the source until ctx ends: it calls report with every
	// complete list it reads, or with the error of a refresh that
	// failed. Calls to report do not overlap.
	Run(ctx context.Context, report func([]Item, error))
}

// ticker returns a channel that ticks every d and a function that stops
// it; tests replace it to drive refreshes without waiting.
type ticker func(d time.Duration) (<-chan time.Time, func())

func realTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}
