package sources

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// run is one start of a fake source: its context and report function.
type run struct {
	ctx    context.Context
	report func([]Item, error)
}

// harness runs a Manager over fake sources and records what it applies.
type harness struct {
	t    *testing.T
	m    *Manager
	runs map[string]chan run
	mu   sync.Mutex
	got  []*config.Config
}

type fakeSource struct{ runs chan run }

func (f fakeSource) Run(ctx context.Context, report func([]Item, error)) {
	f.runs <- run{ctx, report}
	<-ctx.Done()
}

func newHarness(t *testing.T, shard Shard) *harness {
	h := &harness{t: t, runs: map[string]chan run{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h.m = NewManager(ctx, Options{Shard: shard,
		Apply: func(c *config.Config) { h.mu.Lock(); h.got = append(h.got, c); h.mu.Unlock() },
		New: func(c config.TargetSource, _ log.Logger) Source {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.runs[c.Name] == nil {
				h.runs[c.Name] = make(chan run, 10)
			}
			return fakeSource{h.runs[c.Name]}
		}})
	return h
}

// started waits for the next start of the named source.
func (h *harness) started(name string) run {
	h.t.Helper()
	h.mu.Lock()
	ch := h.runs[name]
	h.mu.Unlock()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		h.t.Fatalf("source %s not started", name)
	}
	return run{}
}

// applied returns how many times targets were applied and the last set.
func (h *harness) applied() (int, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) == 0 {
		return 0, ""
	}
	return len(h.got), names(h.got[len(h.got)-1].Targets)
}

func (h *harness) wantApplied(n int, targets string) {
	h.t.Helper()
	if gn, gt := h.applied(); gn != n || gt != targets {
		h.t.Fatalf("applied %d times, last %q; want %d times, %q", gn, gt, n, targets)
	}
}

const twoSources = `
targets:
  - host: 198.18.7.1
target_sources:
  - {name: files, file_sd: {files: [a.json]}}
  - {name: api, http_sd: {url: "http://127.0.0.1:9/sd"}}
`

func TestManagerKeepsLastGoodList(t *testing.T) {
	h := newHarness(t, Shard{})
	h.m.SetConfig(testConfig(t, twoSources))
	h.wantApplied(1, "198.18.7.1")
	files, api := h.started("files"), h.started("api")

	files.report([]Item{{Host: "198.18.7.2"}, {Host: "198.18.7.1"}}, nil)
	h.wantApplied(2, "198.18.7.1 198.18.7.2")
	api.report([]Item{{Host: "198.18.7.3", Labels: map[string]string{"zone": "b"}}}, nil)
	h.wantApplied(3, "198.18.7.1 198.18.7.2 198.18.7.3")
	_, last := h.m.cfg, h.got[2]
	if l := last.Targets[2].Labels; !reflect.DeepEqual(l, map[string]string{"zone": "b", "source": "api"}) {
		t.Fatalf("labels %v", l)
	}

	// A failed refresh and an invalid list keep the last good list.
	api.report(nil, context.DeadlineExceeded)
	api.report([]Item{{Host: "198.18.7.4"}, {Host: "not a host"}}, nil)
	h.wantApplied(3, "198.18.7.1 198.18.7.2 198.18.7.3")
	// The same list again applies nothing.
	files.report([]Item{{Host: "198.18.7.2"}, {Host: "198.18.7.1"}}, nil)
	h.wantApplied(3, "198.18.7.1 198.18.7.2 198.18.7.3")
	want := []SourceStatus{{Name: "files", Targets: 2}, {Name: "api", Targets: 1, Errors: 2}}
	if got := h.m.Status(); !reflect.DeepEqual(got, want) {
		t.Fatalf("status %+v, want %+v", got, want)
	}

	// A reload restarts every source; lists (and error counts) of
	// sources whose location did not change are kept meanwhile, and
	// reports of the stopped runs are ignored.
	h.m.SetConfig(testConfig(t, twoSources))
	h.wantApplied(4, "198.18.7.1 198.18.7.2 198.18.7.3")
	if files.ctx.Err() == nil || api.ctx.Err() == nil {
		t.Fatal("reload did not stop the old runs")
	}
	files2 := h.started("files")
	h.started("api")
	files.report([]Item{{Host: "198.18.7.9"}}, nil)
	h.wantApplied(4, "198.18.7.1 198.18.7.2 198.18.7.3")
	files2.report(nil, nil)
	h.wantApplied(5, "198.18.7.1 198.18.7.3")
	if got := h.m.Status(); got[1].Errors != 2 {
		t.Fatalf("errors not kept across reload: %+v", got)
	}

	// A source whose location changed starts empty; a removed one goes.
	h.m.SetConfig(testConfig(t, `
targets:
  - host: 198.18.7.1
target_sources:
  - {name: api, http_sd: {url: "http://127.0.0.1:9/other"}}
`))
	h.wantApplied(6, "198.18.7.1")
	if got := h.m.Status(); !reflect.DeepEqual(got, []SourceStatus{{Name: "api", Errors: 2}}) {
		t.Fatalf("status %+v", got)
	}
}

// TestManagerRebuildsEqualTargets: the prober keeps a target running when
// its configuration is deeply equal, so a source's unchanged target must
// be built identically on every refresh and reload.
func TestManagerRebuildsEqualTargets(t *testing.T) {
	h := newHarness(t, Shard{})
	c := testConfig(t, twoSources)
	h.m.SetConfig(c)
	files := h.started("files")
	files.report([]Item{{Host: "198.18.7.2", Labels: map[string]string{"a": "1"}}}, nil)
	files.report([]Item{{Host: "198.18.7.2", Labels: map[string]string{"a": "1"}}, {Host: "198.18.7.5"}}, nil)
	h.m.SetConfig(testConfig(t, twoSources))
	if len(h.got) != 4 {
		t.Fatalf("applied %d times, want 4", len(h.got))
	}
	for i := 2; i < 4; i++ {
		if !reflect.DeepEqual(h.got[1].Targets[1], h.got[i].Targets[1]) {
			t.Fatalf("apply %d: %+v differs from %+v", i, h.got[i].Targets[1], h.got[1].Targets[1])
		}
	}
}

func TestManagerShards(t *testing.T) {
	var items []Item
	for i := 1; i <= 40; i++ {
		items = append(items, Item{Host: "198.18.9." + string(rune('0'+i/10)) + string(rune('0'+i%10))})
	}
	total := 0
	for i := 0; i < 2; i++ {
		h := newHarness(t, Shard{Index: i, Count: 2})
		h.m.SetConfig(testConfig(t, twoSources))
		h.started("files").report(items, nil)
		n, _ := h.applied()
		last := h.got[n-1].Targets
		for _, tg := range last {
			if Owner(tg.Name, 2) != i {
				t.Fatalf("shard %d/2 runs %s, owned by %d", i, tg.Name, Owner(tg.Name, 2))
			}
		}
		total += len(last)
	}
	if total != 41 {
		t.Fatalf("two shards run %d targets, want 41", total)
	}
}

// TestManagerKeepsFlowCollectorAcrossReload: a reload with the flow
// collector's configuration unchanged keeps it running (its window and
// counters); a changed one is restarted.
func TestManagerKeepsFlowCollectorAcrossReload(t *testing.T) {
	h := newHarness(t, Shard{})
	cfg := func(top int) *config.Config {
		return testConfig(t, fmt.Sprintf("target_sources:\n  - {name: top, flows: {listen_address: '127.0.0.1:2055', top: %d}}\n  - {name: files, file_sd: {files: [a.json]}}\n", top))
	}
	h.m.SetConfig(cfg(10))
	top := h.started("top")
	files := h.started("files")
	top.report([]Item{{Host: "198.51.100.1"}}, nil)
	h.m.SetConfig(cfg(10))
	h.started("files")
	if top.ctx.Err() != nil || files.ctx.Err() == nil {
		t.Fatalf("unchanged reload: collector stopped %v, file source stopped %v; want only the file source restarted", top.ctx.Err() != nil, files.ctx.Err() != nil)
	}
	select {
	case <-h.runs["top"]:
		t.Fatal("unchanged collector started again")
	default:
	}
	top.report([]Item{{Host: "198.51.100.1"}, {Host: "198.51.100.2"}}, nil)
	h.wantApplied(4, "198.51.100.1 198.51.100.2")
	// New defaults and cap: still the same collector, its list rebuilt.
	h.m.SetConfig(testConfig(t, "target_sources:\n  - {name: top, max_targets: 1, defaults: {labels: {k: v}}, flows: {listen_address: '127.0.0.1:2055', top: 10}}\n"))
	if top.ctx.Err() != nil {
		t.Fatal("collector stopped by a change of its defaults")
	}
	h.wantApplied(5, "198.51.100.1")
	if l := h.got[4].Targets[0].Labels; l["k"] != "v" {
		t.Fatalf("list not rebuilt with the new defaults: %v", l)
	}
	h.m.SetConfig(cfg(20))
	h.started("top")
	if top.ctx.Err() == nil {
		t.Fatal("changed collector not stopped")
	}
}
