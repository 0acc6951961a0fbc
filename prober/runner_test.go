package prober

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// result builds an interval towards dst of the given rounds, in which TTL
// i+1 is answered by hops[i]: an Echo Reply when it is dst, Time Exceeded
// otherwise; an invalid address is silent.
func result(dst netip.Addr, rounds int, hops ...netip.Addr) tracer.Result {
	r := tracer.Result{Dst: dst, Start: t0, End: t0.Add(10 * time.Second), Rounds: rounds}
	for i := 0; i < rounds; i++ {
		for j, h := range hops {
			p := tracer.Probe{Round: i, TTL: j + 1, ReplyTTL: -1}
			if h.IsValid() {
				p.Kind, p.From = tracer.KindTimeExceeded, h
				if h == dst {
					p.Kind = tracer.KindReached
				}
				p.RTT = time.Duration(j+1) * time.Millisecond
			}
			r.Probes = append(r.Probes, p)
		}
	}
	return r
}

// recLogger keeps every log line as a map of its key-value pairs.
type recLogger struct {
	mu    sync.Mutex
	lines []map[string]string
}

func (l *recLogger) Log(kv ...any) error {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = fmt.Sprint(kv[i+1])
	}
	l.mu.Lock()
	l.lines = append(l.lines, m)
	l.mu.Unlock()
	return nil
}

// with returns the lines whose msg is one of msgs.
func (l *recLogger) with(msgs ...string) []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, m := range l.lines {
		for _, msg := range msgs {
			if m["msg"] == msg {
				out = append(out, m)
			}
		}
	}
	return out
}

// step is either a DNS answer delivered to the runner or an interval it
// observes.
type step struct {
	answers []netip.Addr
	res     *tracer.Result
}

func dns(as ...netip.Addr) step     { return step{answers: as} }
func interval(r tracer.Result) step { return step{res: &r} }
func (s step) apply(r *runner) {
	if s.res != nil {
		r.observe(*s.res)
	} else {
		r.resolved(s.answers)
	}
}

// TestObserve drives a runner of a named target with DNS answers and
// intervals and checks the snapshot and the lines logged about changes.
func TestObserve(t *testing.T) {
	dstA, dstB := ip("198.18.7.2"), ip("198.18.7.3")
	h1, h2, h3 := ip("198.18.1.2"), ip("198.18.2.2"), ip("198.18.3.2")
	// One reply at hop 2 from another router: a single round's evidence.
	flicker := result(dstA, 2, h1, h2, dstA)
	flicker.Probes[1].From = h3
	refused := result(dstA, 2, h1, h2, dstA)
	refused.Probes[4] = tracer.Probe{Round: 1, TTL: 2, ReplyTTL: -1, SendFailed: true}
	refused.SendErr = errors.New("sendmsg: no buffer space available")

	type logLine map[string]string
	cases := []struct {
		name     string
		steps    []step
		observed bool
		hops     int
		reached  bool
		changes  uint64 // path changes
		addrs    uint64 // address changes
		sent     uint64
		logs     []logLine
	}{{
		name:     "first interval establishes the path",
		steps:    []step{dns(dstA), interval(result(dstA, 2, h1, h2, dstA))},
		observed: true, hops: 3, reached: true, sent: 6,
	}, {
		name:     "a moved hop seen in two rounds is one change, logged once",
		steps:    []step{dns(dstA), interval(result(dstA, 2, h1, h2, dstA)), interval(result(dstA, 2, h1, h3, dstA))},
		observed: true, hops: 3, reached: true, changes: 1, sent: 12,
		logs: []logLine{{"msg": "Path changed", "level": "info", "target": "x", "address": "198.18.7.2",
			"old_hops": "3", "new_hops": "3", "old_path": "198.18.1.2 198.18.2.2 198.18.7.2", "new_path": "198.18.1.2 198.18.3.2 198.18.7.2"}},
	}, {
		name:     "a longer path is one change with both hop counts",
		steps:    []step{dns(dstA), interval(result(dstA, 2, h1, dstA)), interval(result(dstA, 2, h1, h2, dstA))},
		observed: true, hops: 3, reached: true, changes: 1, sent: 10,
		logs: []logLine{{"msg": "Path changed", "level": "info", "target": "x", "address": "198.18.7.2",
			"old_hops": "2", "new_hops": "3", "old_path": "198.18.1.2 198.18.7.2", "new_path": "198.18.1.2 198.18.2.2 198.18.7.2"}},
	}, {
		name:     "another router in one round only is not a change",
		steps:    []step{dns(dstA), interval(result(dstA, 2, h1, h2, dstA)), interval(flicker)},
		observed: true, hops: 3, reached: true, sent: 12,
	}, {
		name:     "an address change forgets the path without a path change",
		steps:    []step{dns(dstA), interval(result(dstA, 2, h1, h2, dstA)), dns(dstB)},
		observed: false, addrs: 1, sent: 6,
		logs: []logLine{{"msg": "Target address changed", "level": "info", "target": "x", "host": "x.example",
			"old_address": "198.18.7.2", "new_address": "198.18.7.3"}},
	}, {
		name: "an interval of the previous address is counted but is no evidence",
		steps: []step{dns(dstA), interval(result(dstA, 2, h1, h2, dstA)), dns(dstB),
			interval(result(dstA, 2, h1, h3, dstA))},
		observed: false, addrs: 1, sent: 12,
		logs: []logLine{{"msg": "Target address changed", "level": "info", "target": "x", "host": "x.example",
			"old_address": "198.18.7.2", "new_address": "198.18.7.3"}},
	}, {
		name:     "refused probes are logged and not counted as sent",
		steps:    []step{dns(dstA), interval(refused)},
		observed: true, hops: 3, reached: true, sent: 5,
		logs: []logLine{{"msg": "Probes could not be sent", "level": "warn", "target": "x", "dst": "198.18.7.2",
			"failed": "1", "of": "6", "err": "sendmsg: no buffer space available"}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logs := &recLogger{}
			r := newRunner(target("x", "x.example"), (&enrich.Sources{}).NewTarget("x"), log.With(logs, "target", "x"))
			for _, s := range tc.steps {
				s.apply(r)
			}
			s := r.state.Snapshot()
			if s.Observed != tc.observed || s.Path.Hops != tc.hops || s.Reached != tc.reached {
				t.Errorf("observed %v, %d hops, reached %v; want %v, %d, %v", s.Observed, s.Path.Hops, s.Reached, tc.observed, tc.hops, tc.reached)
			}
			if s.PathChanges != tc.changes || s.AddressChanges != tc.addrs || s.ProbesSent != tc.sent {
				t.Errorf("%d path changes, %d address changes, %d probes sent; want %d, %d, %d",
					s.PathChanges, s.AddressChanges, s.ProbesSent, tc.changes, tc.addrs, tc.sent)
			}
			if s.Address != r.target.Addr() {
				t.Errorf("snapshot address %v, but the target is traced at %v", s.Address, r.target.Addr())
			}
			got := logs.with("Path changed", "Target address changed", "Probes could not be sent")
			if len(got) != len(tc.logs) {
				t.Fatalf("logged %v, want %v", got, tc.logs)
			}
			for i, want := range tc.logs {
				for k, v := range want {
					if got[i][k] != v {
						t.Errorf("log line %d: %s=%q, want %q (line %v)", i, k, got[i][k], v, got[i])
					}
				}
			}
		})
	}
}

func TestLiteralTargetHasItsAddressAtOnce(t *testing.T) {
	for _, host := range []string{"198.18.7.2", "2001:db8::7"} {
		t.Run(host, func(t *testing.T) {
			r := newRunner(target("x", host), (&enrich.Sources{}).NewTarget("x"), log.NewNopLogger())
			if r.named() {
				t.Error("a literal address is taken for a name")
			}
			if got := r.target.Addr(); got != ip(host) {
				t.Errorf("traced at %v, want %v", got, host)
			}
			if s := r.state.Snapshot(); s.Address != ip(host) || s.AddressChanges != 0 {
				t.Errorf("snapshot address %v with %d changes, want %v and 0", s.Address, s.AddressChanges, host)
			}
		})
	}
}

func TestStartOffsetSpreadsTargets(t *testing.T) {
	iv := 30 * time.Second
	seen := map[time.Duration]bool{}
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		o := startOffset(n, iv)
		if o < 0 || o >= iv {
			t.Fatalf("offset %v of %q outside [0, %v)", o, n, iv)
		}
		if startOffset(n, iv) != o {
			t.Fatal("offset not deterministic")
		}
		seen[o] = true
	}
	if len(seen) < 5 {
		t.Fatalf("6 targets got only %d distinct offsets", len(seen))
	}
}
