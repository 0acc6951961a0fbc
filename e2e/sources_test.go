package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// sdServer is a Prometheus HTTP SD endpoint run by the test inside a
// namespace: it answers GET with the status and JSON body last set.
type sdServer struct {
	url    string
	mu     sync.Mutex
	status int
	body   string
	polls  int
}

func startSDServer(t *testing.T, ns string) *sdServer {
	t.Helper()
	ln, err := listen(ns, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sdServer{url: "http://" + ln.Addr().String() + "/sd", status: 200, body: "[]"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.polls++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		fmt.Fprint(w, s.body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *sdServer) set(status int, body string) {
	s.mu.Lock()
	s.status, s.body = status, body
	s.mu.Unlock()
}

// writeAtomic replaces a file by renaming a new one over it, as tools that
// generate file_sd files should.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path+".new", []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// tracedTargets returns "target source zone" for every target with a
// traceroute_hops series, sorted.
func tracedTargets(m metrics) string {
	var out []string
	for _, s := range m["traceroute_hops"].GetMetric() {
		l := labels(s)
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s", l["target"], l["source"], l["zone"])))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// TestTargetSourcesFollowFileAndHTTP: targets from a file_sd file, from an
// HTTP SD endpoint (a server started by the test) and from a DNS name (one
// target per address, from the namespace's hosts file) are traced through
// the namespace network, with their source and labels, a static target
// winning a name clash; they appear and disappear as the file, the
// endpoint and the name's addresses change, without restarting targets
// that stay; a failing endpoint keeps its last list and counts errors.
func TestTargetSourcesFollowFileAndHTTP(t *testing.T) {
	requireLab(t)
	tp := newTopo(t, false)
	tp.addAnyIP()
	tp.switchPath(false)
	warmUp(t, tp)
	src := tp.name("src")
	dir := t.TempDir()
	sdDir := filepath.Join(dir, "sd")
	if err := os.Mkdir(sdDir, 0o755); err != nil {
		t.Fatal(err)
	}
	fileA := filepath.Join(sdDir, "a.json")
	writeAtomic(t, fileA, `[{"targets": ["198.19.0.1", "198.19.0.2"], "labels": {"zone": "a"}}]`)
	api := startSDServer(t, src)
	api.set(200, `[{"targets": ["198.19.0.3", "198.19.0.1", "198.19.0.4"], "labels": {"zone": "b"}}]`)
	// A name with two addresses in the namespace's hosts file.
	hosts := newHostsFile(t, src, "198.19.0.7 pool.lab.example", "198.19.0.8 pool.lab.example")

	e := startExporter(t, src, 10195, fmt.Sprintf(`
defaults: {interval: 1s, probes: 2, timeout: 500ms, max_hops: 10}
targets:
  - {name: 198.19.0.4, host: 198.19.0.4}
target_sources:
  - name: files
    file_sd: {files: ['%s/*.json']}
  - name: api
    http_sd: {url: '%s', refresh_interval: 1s}
  - name: pool
    dns: {names: [pool.lab.example], type: A, refresh_interval: 1s}
`, sdDir, api.url))

	want := func(what, traced string, sources map[string]float64) metrics {
		t.Helper()
		return e.waitFor(20*time.Second, what, func(m metrics) bool {
			if tracedTargets(m) != traced {
				return false
			}
			for s, n := range sources {
				if v, ok := m.get("traceroute_target_source_targets", map[string]string{"source": s}); !ok || v != n {
					return false
				}
			}
			return true
		})
	}
	// The static 198.19.0.4 wins over the endpoint's; files, the first
	// source, wins 198.19.0.1 over the endpoint.
	m := want("the first lists", "198.19.0.1 files a, 198.19.0.2 files a, 198.19.0.3 api b, 198.19.0.4, 198.19.0.7 pool, 198.19.0.8 pool", map[string]float64{"files": 2, "api": 3, "pool": 2})
	m = e.waitFor(20*time.Second, "every discovered target traced to the destination", func(m metrics) bool {
		for _, tg := range []string{"198.19.0.1", "198.19.0.2", "198.19.0.3"} {
			if v, _ := m.get("traceroute_destination_reached", map[string]string{"target": tg}); v != 1 {
				return false
			}
			if v, _ := m.get("traceroute_hops", map[string]string{"target": tg}); v != 5 {
				return false
			}
		}
		return true
	})
	sent := m.value(t, "traceroute_probes_sent_total", map[string]string{"target": "198.19.0.2"})

	// The file drops 198.19.0.1 (the endpoint's takes over) and adds
	// 198.19.0.5; the endpoint drops 198.19.0.3 and adds 198.19.0.6; the
	// name loses an address (Go's resolver reads the hosts file again
	// within about 5s).
	writeAtomic(t, fileA, `[{"targets": ["198.19.0.2", "198.19.0.5"], "labels": {"zone": "a"}}]`)
	api.set(200, `[{"targets": ["198.19.0.1", "198.19.0.4", "198.19.0.6"], "labels": {"zone": "b"}}]`)
	hosts.write("198.19.0.8 pool.lab.example")
	m = want("the changed lists", "198.19.0.1 api b, 198.19.0.2 files a, 198.19.0.4, 198.19.0.5 files a, 198.19.0.6 api b, 198.19.0.8 pool", map[string]float64{"files": 2, "api": 3, "pool": 1})
	if now := m.value(t, "traceroute_probes_sent_total", map[string]string{"target": "198.19.0.2"}); now < sent {
		t.Fatalf("198.19.0.2 was restarted by a change of other targets: probes sent %v, before %v", now, sent)
	}

	// A failing endpoint keeps its last list and counts the failures.
	api.set(500, `oops`)
	e.waitFor(20*time.Second, "errors of the failing endpoint", func(m metrics) bool {
		v, _ := m.get("traceroute_target_source_errors_total", map[string]string{"source": "api"})
		return v >= 2
	})
	m = e.scrape()
	if got := tracedTargets(m); got != "198.19.0.1 api b, 198.19.0.2 files a, 198.19.0.4, 198.19.0.5 files a, 198.19.0.6 api b, 198.19.0.8 pool" {
		t.Fatalf("a failing endpoint changed the targets: %s", got)
	}
	if v := m.value(t, "traceroute_target_source_errors_total", map[string]string{"source": "files"}); v != 0 {
		t.Errorf("file source errors %v, want 0", v)
	}

	// The file goes: its targets go, the endpoint's stay.
	if err := os.Remove(fileA); err != nil {
		t.Fatal(err)
	}
	want("the file removed", "198.19.0.1 api b, 198.19.0.4, 198.19.0.6 api b, 198.19.0.8 pool", map[string]float64{"files": 0, "api": 3})
	// The endpoint recovers with an empty list: its targets go too.
	api.set(200, `[]`)
	want("the endpoint empty", "198.19.0.4, 198.19.0.8 pool", map[string]float64{"files": 0, "api": 0})
}
