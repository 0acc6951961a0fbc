package e2e

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// binary is the exporter built once by TestMain, or the one named by
// TRACEROUTE_EXPORTER_BINARY (to run these tests against another build).
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "trx-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = os.Getenv("TRACEROUTE_EXPORTER_BINARY")
	tundelay = filepath.Join(dir, "tundelay")
	builds := [][2]string{{tundelay, "./tundelay"}}
	if binary == "" {
		binary = filepath.Join(dir, "traceroute_exporter")
		builds = append(builds, [2]string{binary, ".."})
	}
	for _, b := range builds {
		out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b[1], err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// exporter is the binary running inside a namespace.
type exporter struct {
	t      testing.TB
	ns     string
	addr   string
	config string
	flags  []string
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	log    *strings.Builder
	client *http.Client
}

// startExporter writes config to a file and runs the exporter in ns,
// listening on 127.0.0.1:port there, with extra flags. Unless the flags
// say otherwise, its path history lives in the test's temporary directory
// and the hop budget is off (--probe.hop-rate-limit=0): these tests check
// what the probing loop measures with every probe sent; the hop budget's
// own test (hopbudget_test.go) turns it on. E2E_HOP_RATE_LIMIT sets
// another default (e.g. 1, the exporter's own, to run the truth tests
// with the budget on). It is stopped at cleanup.
func startExporter(t testing.TB, ns string, port int, config string, flags ...string) *exporter {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(f, "--storage.path") }) {
		flags = append([]string{"--storage.path=" + filepath.Join(dir, "history.db")}, flags...)
	}
	if !slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(f, "--probe.hop-rate-limit") }) {
		flags = append([]string{"--probe.hop-rate-limit=" + cmp.Or(os.Getenv("E2E_HOP_RATE_LIMIT"), "0")}, flags...)
	}
	e := &exporter{t: t, ns: ns, addr: fmt.Sprintf("127.0.0.1:%d", port), config: path, flags: flags, log: &strings.Builder{}}
	e.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dialer(ns)}}
	e.start()
	t.Cleanup(func() {
		e.stopProcess()
		if t.Failed() {
			t.Logf("exporter log:\n%s", e.log.String())
		}
	})
	e.waitHTTP()
	return e
}

// start runs the binary; its output is appended to e.log.
func (e *exporter) start() {
	args := append([]string{"netns", "exec", e.ns, binary, "--config.file", e.config, "--web.listen-address", e.addr, "--log.level", "debug"}, e.flags...)
	e.cmd = exec.Command("ip", args...)
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(e.cmd, e.done)
}

// stopProcess interrupts the exporter and waits for it, killing it after 5s.
func (e *exporter) stopProcess() {
	e.cmd.Process.Signal(os.Interrupt)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
	}
}

// restart stops the exporter and starts it again with the same
// configuration, flags and history file.
func (e *exporter) restart() {
	e.t.Helper()
	e.stopProcess()
	e.start()
	e.waitHTTP()
}

func (e *exporter) waitHTTP() {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := e.client.Get("http://" + e.addr + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("exporter not listening on %s in %s: %v\n%s", e.ns, e.addr, err, e.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scrape reads /metrics.
func (e *exporter) scrape() metrics {
	e.t.Helper()
	resp, err := e.client.Get("http://" + e.addr + "/metrics")
	if err != nil {
		e.t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bufio.NewReader(resp.Body))
	if err != nil {
		e.t.Fatalf("parse /metrics: %v", err)
	}
	return metrics(mfs)
}

// post sends a POST and returns the status code and body.
func (e *exporter) post(path string) (int, string) {
	resp, err := e.client.Post("http://"+e.addr+path, "text/plain", nil)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String()
}

// waitFor scrapes every 250ms until cond holds or timeout passes.
func (e *exporter) waitFor(timeout time.Duration, what string, cond func(metrics) bool) metrics {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		m := e.scrape()
		if cond(m) {
			return m
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// metrics is a parsed scrape.
type metrics map[string]*dto.MetricFamily

// get returns the value of the series of name whose labels include want,
// and whether there is one.
func (m metrics) get(name string, want map[string]string) (float64, bool) {
	mf, ok := m[name]
	if !ok {
		return 0, false
	}
	for _, s := range mf.GetMetric() {
		if matches(s, want) {
			switch {
			case s.Gauge != nil:
				return s.GetGauge().GetValue(), true
			case s.Counter != nil:
				return s.GetCounter().GetValue(), true
			case s.Untyped != nil:
				return s.GetUntyped().GetValue(), true
			}
		}
	}
	return 0, false
}

// value is get that fails the test when the series is missing.
func (m metrics) value(t testing.TB, name string, want map[string]string) float64 {
	t.Helper()
	v, ok := m.get(name, want)
	if !ok {
		t.Fatalf("no series %s%v", name, want)
	}
	return v
}

// hopIPs returns the ip label of traceroute_hop_info per hop for target.
func (m metrics) hopIPs(target string) map[int][]string {
	out := map[int][]string{}
	for _, s := range m["traceroute_hop_info"].GetMetric() {
		l := labels(s)
		if l["target"] != target {
			continue
		}
		hop, _ := strconv.Atoi(l["hop"])
		out[hop] = append(out[hop], l["ip"])
	}
	for _, ips := range out {
		sort.Strings(ips)
	}
	return out
}

func labels(s *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range s.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func matches(s *dto.Metric, want map[string]string) bool {
	l := labels(s)
	for k, v := range want {
		if l[k] != v {
			return false
		}
	}
	return true
}
