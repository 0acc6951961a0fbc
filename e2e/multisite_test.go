package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/traceroute-exporter/traceroute_exporter/grafana"
	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
	"github.com/traceroute-exporter/traceroute_exporter/sources"
)

const centralAddr = "127.0.0.1:19290"

// agentConfig is examples/multisite/prometheus-agent.yml, the agent
// configuration the README recommends, with only the site, the exporter's
// address, the central Prometheus's URL and shorter intervals changed.
func agentConfig(t *testing.T, site, exporter string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", "multisite", "prometheus-agent.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	global := c["global"].(map[string]any)
	global["scrape_interval"] = "1s"
	global["external_labels"].(map[string]any)["site"] = site
	scrape := c["scrape_configs"].([]any)[0].(map[string]any)
	scrape["static_configs"].([]any)[0].(map[string]any)["targets"] = []string{exporter}
	rw := c["remote_write"].([]any)[0].(map[string]any)
	rw["url"] = "http://" + centralAddr + "/api/v1/write"
	rw["queue_config"].(map[string]any)["batch_send_deadline"] = "1s"
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestShardsThroughAgentsToCentralPrometheus: two exporters with the same
// configuration as shards 0/2 and 1/2, each scraped by its own Prometheus
// in agent mode that remote-writes with external_labels {site: lab} to a
// central Prometheus (--web.enable-remote-write-receiver). In the central
// Prometheus every target is traced by exactly one shard, the one
// rendezvous hashing names, with the site label; after a route change
// every dashboard query returns data with the site variable set.
func TestShardsThroughAgentsToCentralPrometheus(t *testing.T) {
	requireLab(t)
	prometheusBin := testenv.Tool(t, "prometheus")
	start := time.Now()
	tp := newTopo(t, false)
	tp.addAnyIP()
	tp.switchPath(false)
	warmUp(t, tp)
	src := tp.name("src")
	dir := t.TempDir()

	const n = 12
	var cfg strings.Builder
	cfg.WriteString("defaults: {interval: 1s, probes: 2, timeout: 500ms, max_hops: 10}\ntargets:\n")
	var names []string
	for i := 1; i <= n; i++ {
		names = append(names, anyIP(false, i))
		fmt.Fprintf(&cfg, "  - host: %s\n", anyIP(false, i))
	}
	asn := "--asn.database=" + linkASNs(t, dir)
	exporters := []*exporter{
		startExporter(t, src, 10196, cfg.String(), "--targets.shard=0/2", "--web.site-name=lab", asn),
		startExporter(t, src, 10197, cfg.String(), "--targets.shard=1/2", "--web.site-name=lab", asn),
	}
	startService(t, src, prometheusBin, "--config.file="+writeFile(t, dir, "central.yml", "global: {evaluation_interval: 1s}\n"),
		"--storage.tsdb.path="+filepath.Join(dir, "central"), "--web.listen-address="+centralAddr, "--web.enable-remote-write-receiver")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer(src)}}
	for i, e := range exporters {
		agentAddr := fmt.Sprintf("127.0.0.1:%d", 19291+i)
		startService(t, src, prometheusBin, "--enable-feature=agent",
			"--config.file="+writeFile(t, dir, fmt.Sprintf("agent%d.yml", i), agentConfig(t, "lab", e.addr)),
			"--storage.agent.path="+filepath.Join(dir, fmt.Sprintf("agent%d", i)), "--web.listen-address="+agentAddr)
		waitReady(t, client, "agent", "http://"+agentAddr+"/-/ready")
	}
	waitReady(t, client, "central prometheus", "http://"+centralAddr+"/-/ready")
	central := &promClient{base: "http://" + centralAddr, client: client}

	// Each shard says which it is.
	for i, e := range exporters {
		resp, err := e.client.Get("http://" + e.addr + "/api/v1/status")
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ Site, Shard string }
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if st.Site != "lab" || st.Shard != fmt.Sprintf("%d/2", i) {
			t.Errorf("exporter %d status %+v, want site lab, shard %d/2", i, st, i)
		}
	}

	// Until the central Prometheus has every target traced to the
	// destination.
	type series struct {
		Metric map[string]string `json:"metric"`
	}
	var got []series
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := central.query(`traceroute_hops == 5`)
		got = got[:0]
		if err == nil {
			for _, raw := range r.Result {
				var s series
				json.Unmarshal(raw, &s)
				got = append(got, s)
			}
		}
		if len(got) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("central Prometheus has %d of %d targets traced: %v %v", len(got), n, r, err)
		}
		time.Sleep(time.Second)
	}
	perShard := map[string]int{}
	seen := map[string]int{}
	for _, s := range got {
		tg := s.Metric["target"]
		seen[tg]++
		owner := exporters[sources.Owner(tg, 2)].addr
		if s.Metric["instance"] != owner || s.Metric["site"] != "lab" || s.Metric["job"] != "traceroute" {
			t.Errorf("%s: series %v, want instance %s (its rendezvous shard), site lab, job traceroute", tg, s.Metric, owner)
		}
		perShard[s.Metric["instance"]]++
	}
	for _, tg := range names {
		if seen[tg] != 1 {
			t.Errorf("%s traced by %d shards, want exactly 1", tg, seen[tg])
		}
	}
	if len(perShard) != 2 {
		t.Errorf("targets per shard %v: want both shards tracing", perShard)
	}
	t.Logf("targets per shard: %v", perShard)
	// Over the whole run, no target was ever traced by two instances.
	if r, err := central.query(`count by (target) (count_over_time(traceroute_hops[5m]) > 0) > 1`); err != nil || len(r.Result) != 0 {
		t.Fatalf("targets traced by more than one shard: %s %v", r, err)
	}
	if r, err := central.query(`count(traceroute_exporter_build_info{site="lab"})`); err != nil || !strings.Contains(r.String(), `"2"`) {
		t.Fatalf("build info of both shards with the site label: %s %v", r, err)
	}

	// A route change, so that the path change panels have data too.
	tp.switchPath(true)
	target := names[0]
	deadline = time.Now().Add(60 * time.Second)
	for {
		r, err := central.query(fmt.Sprintf(`increase(traceroute_as_path_changes_total{site="lab",target=%q}[1m]) > 0 and traceroute_hops == 6`, target))
		if err == nil && len(r.Result) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("central Prometheus never saw %s's path change: %s %v", target, r, err)
		}
		time.Sleep(time.Second)
	}
	t.Run("every dashboard query returns data with the site variable set", func(t *testing.T) {
		m, err := grafana.Parse(grafana.Dashboard)
		if err != nil {
			t.Fatal(err)
		}
		qs, err := m.Queries()
		if err != nil {
			t.Fatal(err)
		}
		// run runs every query with site set and returns the problems:
		// errors, and no data for site "lab" or data for another site
		// (the negative control) from a query that selects the site.
		run := func(site string) []string {
			vars := map[string]string{"site": site, "job": "traceroute", "instance": ".+", "target": target, "__rate_interval": "15s", "__interval": "5s", "__range": "5m"}
			var problems []string
			for _, q := range qs {
				expr := grafana.Substitute(q.Expr, vars)
				var r promResult
				if q.Instant {
					r, err = central.query(expr)
				} else {
					r, err = central.queryRange(expr, start, time.Second)
				}
				switch {
				case err != nil:
					problems = append(problems, fmt.Sprintf("%s: %s: %v", q.Where, expr, err))
				case site == "lab" && len(r.Result) == 0:
					problems = append(problems, fmt.Sprintf("%s: %s returned no data", q.Where, expr))
				case site != "lab" && strings.Contains(q.Expr, "$site") && len(r.Result) != 0:
					problems = append(problems, fmt.Sprintf("%s: %s returned data for another site", q.Where, expr))
				}
			}
			return problems
		}
		// The change's samples reach the central Prometheus through the
		// agents' remote-write queues, so wait for them a little.
		deadline := time.Now().Add(30 * time.Second)
		for {
			p := run("lab")
			if len(p) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("with site=lab:\n%s", strings.Join(p, "\n"))
			}
			time.Sleep(2 * time.Second)
		}
		if p := run("elsewhere"); len(p) != 0 {
			t.Fatalf("with site=elsewhere:\n%s", strings.Join(p, "\n"))
		}
		t.Logf("%d dashboard queries ran with data for site lab and none for another site", len(qs))
	})
}
