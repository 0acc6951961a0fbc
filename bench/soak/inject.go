package main

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
)

// nftTable is the nftables table the soak adds to a router for a fault.
const nftTable = "trxsoak"

// injector applies the faults to the network and the exporter.
type injector struct {
	net    *lab.Network
	ex     *lab.Child
	scr    *lab.Scraper // the sampler's, also for POST /-/reload
	bursts *lab.Scraper // the scrape burst's own: its connections are closed after it
	n      int          // targets
	cfg    string       // configuration file
	hosts  string       // the source namespace's hosts file
	asn    string       // ASN database
	log    func(format string, args ...any)
}

// record is what happened to one scheduled fault.
type record struct {
	slot
	AtText     string `json:"at"`      // slot.At as a Go duration ("1m7s")
	LengthText string `json:"length"`  // slot.Length
	Started    string `json:"started"` // wall clock, RFC 3339
	Actions    int    `json:"actions"` // commands, signals or requests it made
	Errors     int    `json:"errors"`  // of those, the failed (a scrape burst's failed requests included)
	Error      string `json:"error,omitempty"`
}

// newRecord is the record of fault s started at now.
func newRecord(s slot, now time.Time) record {
	return record{slot: s, AtText: s.At.String(), LengthText: s.Length.String(), Started: now.UTC().Format(time.RFC3339)}
}

// inject runs fault s for its length and then undoes it. Undoing does
// not use ctx, so an interrupted fault still leaves the network whole.
func (in *injector) inject(ctx context.Context, s slot) record {
	r := newRecord(s, time.Now())
	undo := context.WithoutCancel(ctx)
	do := func(err error) {
		r.Actions++
		if err != nil {
			r.Errors++
			if r.Error == "" {
				r.Error = err.Error()
			}
		}
	}
	hup := func() { do(in.ex.Signal(syscall.SIGHUP)) }
	in.log("fault %s for %s", s.Kind, s.Length)
	switch s.Kind {
	case faultSilence:
		do(in.nft(ctx, "r2", "output", "icmp type time-exceeded drop"))
		sleep(ctx, s.Length)
		do(in.net.In(undo, "r2", "nft", "delete", "table", "inet", nftTable))
	case faultLoss:
		do(in.nft(ctx, "r3", "forward", "numgen random mod 100 < 20 drop"))
		sleep(ctx, s.Length)
		do(in.net.In(undo, "r3", "nft", "delete", "table", "inet", nftTable))
	case faultFlap:
		for end := time.Now().Add(s.Length); time.Now().Before(end) && ctx.Err() == nil; {
			do(in.net.In(ctx, "r2", "ip", "link", "set", "to-r3", "down"))
			sleep(ctx, 3*time.Second)
			do(in.linkUp(undo))
			sleep(ctx, 5*time.Second)
		}
		do(in.linkUp(undo))
	case faultRoute:
		do(in.net.In(ctx, "r4", "ip", "route", "add", "local", "198.19.1.0/24", "dev", "lo"))
		sleep(ctx, s.Length)
		do(in.net.In(undo, "r4", "ip", "route", "del", "local", "198.19.1.0/24", "dev", "lo"))
	case faultDNS:
		do(writeHosts(in.hosts, in.n, true))
		sleep(ctx, s.Length)
		do(writeHosts(in.hosts, in.n, false))
	case faultReload:
		// A storm of SIGHUPs and one POST /-/reload: targets removed and
		// changed, a file that does not load, then back.
		do(writeConfig(in.cfg, in.n, configChanged))
		for range 4 {
			hup()
			sleep(ctx, time.Second)
		}
		do(writeConfig(in.cfg, in.n, configBad))
		hup()
		sleep(ctx, 2*time.Second)
		do(writeConfig(in.cfg, in.n, configChanged))
		do(in.post(ctx, "/-/reload"))
		sleep(ctx, s.Length-6*time.Second)
		do(writeConfig(in.cfg, in.n, configPlain))
		hup()
	case faultASN:
		do(writeASN(in.asn, true))
		hup()
		sleep(ctx, s.Length)
		do(writeASN(in.asn, false))
		hup()
	case faultScrapes:
		in.burst(ctx, min(s.Length, time.Minute), do)
	default:
		do(fmt.Errorf("unknown fault %q", s.Kind))
	}
	return r
}

// nft adds a table with one chain on hook and one rule to a router.
func (in *injector) nft(ctx context.Context, node, hook, rule string) error {
	for _, c := range [][]string{
		{"add", "table", "inet", nftTable},
		{"add", "chain", "inet", nftTable, hook, fmt.Sprintf("{ type filter hook %s priority 0 ; }", hook)},
		{"add", "rule", "inet", nftTable, hook, rule},
	} {
		if err := in.net.In(ctx, node, append([]string{"nft"}, c...)...); err != nil {
			return err
		}
	}
	return nil
}

// linkUp brings the r2-r3 link up and restores the routes the kernel
// removed when it went down.
func (in *injector) linkUp(ctx context.Context) error {
	if err := in.net.In(ctx, "r2", "ip", "link", "set", "to-r3", "up"); err != nil {
		return err
	}
	return in.net.Routes(ctx)
}

// post sends POST path and wants 200.
func (in *injector) post(ctx context.Context, path string) error {
	code, body, err := in.scr.Post(ctx, path)
	if err == nil && code != 200 {
		err = fmt.Errorf("POST %s: %d %s", path, code, body)
	}
	return err
}

// burst scrapes /metrics (gzip, as Prometheus asks) every 100 ms for d,
// and with every tenth scrape the JSON API and the pages. It closes its
// keep-alive connections at the end, as a scraper that goes away would.
func (in *injector) burst(ctx context.Context, d time.Duration, do func(error)) {
	defer in.bursts.CloseIdle()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		paths := []string{"/metrics"}
		if i%10 == 0 {
			paths = append(paths, "/api/v1/targets", "/api/v1/targets/t0001", "/api/v1/targets/t0001/changes", "/api/v1/targets/t0001/paths", "/")
		}
		for _, p := range paths {
			_, err := in.bursts.Get(ctx, p, p == "/metrics")
			do(err)
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
