package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/grafana"
	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

const (
	promAddr = "127.0.0.1:19090"
	amAddr   = "127.0.0.1:19093"
	expAddr  = "127.0.0.1:10188"
)

// testRules returns the shipped rules with every `for:` cut to 20s, the
// only change, so the test does not wait minutes.
func testRules(t *testing.T, dir string) string {
	b, err := os.ReadFile(filepath.Join("..", "alerts", "traceroute.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rules := regexp.MustCompile(`(?m)^(\s+for:) \S+$`).ReplaceAll(b, []byte("$1 20s"))
	path := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(path, rules, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// linkASNs writes an iptoasn-style TSV giving every link of the test
// network its own AS (link n: AS 64500+n, IPv4 and IPv6), so the route
// switch changes the AS path, and returns its path.
func linkASNs(t *testing.T, dir string) string {
	var b strings.Builder
	for n := 1; n <= 10; n++ {
		fmt.Fprintf(&b, "198.18.%d.0\t198.18.%d.255\t%d\tZZ\tLINK-%d\n", n, n, 64500+n, n)
		fmt.Fprintf(&b, "2001:db8:%d::\t2001:db8:%d:ffff:ffff:ffff:ffff:ffff\t%d\tZZ\tLINK-%d\n", n, n, 64500+n, n)
	}
	return writeFile(t, dir, "asn.tsv", b.String())
}

func writeFile(t *testing.T, dir, name, content string) string {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAlertsAndDashboardAgainstPrometheus(t *testing.T) {
	requireLab(t)
	prometheusBin := testenv.Tool(t, "prometheus")
	alertmanagerBin := testenv.Tool(t, "prometheus-alertmanager")
	testenv.Tool(t, "promtool")
	start := time.Now()

	tp := newTopo(t, true)
	warmUp(t, tp)
	src := tp.name("src")
	dir := t.TempDir()

	hook, hookURL := startWebhook(t, src)
	amConfig := writeFile(t, dir, "alertmanager.yml", fmt.Sprintf(`
route:
  receiver: hook
  group_by: [alertname, target]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
`, hookURL))
	startService(t, src, alertmanagerBin, "--config.file="+amConfig, "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")

	promConfig := writeFile(t, dir, "prometheus.yml", fmt.Sprintf(`
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%s]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["%s"]}]
scrape_configs:
  - job_name: traceroute
    static_configs: [{targets: ["%s"]}]
`, testRules(t, dir), amAddr, expAddr))
	startService(t, src, prometheusBin, "--config.file="+promConfig, "--storage.tsdb.path="+filepath.Join(dir, "prom"),
		"--web.listen-address="+promAddr)

	// Two probes per second per target: above the 1/s ICMP error rate
	// limit the routers keep in this test, so intermediate hops lose replies.
	startExporter(t, src, 10188, labConfig("2s", 4, "1s"), "--asn.database="+linkASNs(t, dir))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer(src)}}
	waitReady(t, client, "alertmanager", "http://"+amAddr+"/-/ready")
	waitReady(t, client, "prometheus", "http://"+promAddr+"/-/ready")
	prom := &promClient{base: "http://" + promAddr, client: client}

	// Until Prometheus sees both targets traced with 5 hops.
	deadline := time.Now().Add(45 * time.Second)
	for {
		r, err := prom.query(`traceroute_hops{job="traceroute"} == 5 and traceroute_destination_reached == 1`)
		if err == nil && len(r.Result) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never saw both targets traced: %v %v", r, err)
		}
		time.Sleep(time.Second)
	}

	t.Run("no alert in a steady network with ECMP and ICMP rate limiting", func(t *testing.T) {
		steady := time.Now()
		for time.Since(steady) < 40*time.Second {
			active, err := prom.activeAlerts()
			if err != nil {
				t.Fatal(err)
			}
			// TargetNotTraced may be pending for the first seconds,
			// before the first interval ended; nothing else may be.
			for _, a := range active {
				if !(strings.HasPrefix(a, "TracerouteTargetNotTraced") && strings.HasSuffix(a, "pending") && time.Since(start) < 30*time.Second) {
					t.Fatalf("alert in a steady network: %v", active)
				}
			}
			time.Sleep(2 * time.Second)
		}
		if got := hook.received(); len(got) != 0 {
			t.Fatalf("Alertmanager delivered %v in a steady network", got)
		}
		// Rate limiting was really in effect: IPv4 intermediate hops lost
		// replies while no destination lost any. (Linux scales the ICMPv6
		// limit by the route's prefix length, 4/s for a /64, so the IPv6
		// hops stay under it at this probe rate.)
		r, err := prom.query(`max_over_time(traceroute_hop_loss_ratio{target="dst4",hop=~"1|2|3|4"}[40s]) > 0`)
		if err != nil || len(r.Result) == 0 {
			t.Fatalf("no IPv4 intermediate-hop loss seen (is ICMP rate limiting on?): %s %v", r, err)
		}
		t.Logf("hops losing replies to rate limiting: %s", r)
		r, err = prom.query(`max_over_time(traceroute_destination_loss_ratio[40s]) > 0`)
		if err != nil || len(r.Result) != 0 {
			t.Fatalf("destination loss in a steady network: %s %v", r, err)
		}
	})

	t.Run("route switch reaches Alertmanager as path changed and hop count increased", func(t *testing.T) {
		tp.useAlternate()
		want := []string{
			"TracerouteASPathChanged/dst4", "TracerouteASPathChanged/dst6",
			"TracerouteHopCountIncreased/dst4", "TracerouteHopCountIncreased/dst6",
			"TraceroutePathChanged/dst4", "TraceroutePathChanged/dst6",
			"TraceroutePathDegraded/dst4", "TraceroutePathDegraded/dst6",
		}
		var got []amAlert
		deadline := time.Now().Add(60 * time.Second)
		for {
			got = hook.received()
			if len(keys(got)) >= len(want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Second)
		}
		if k := keys(got); strings.Join(k, " ") != strings.Join(want, " ") {
			t.Fatalf("Alertmanager delivered %v, want exactly %v", k, want)
		}
		for _, a := range got {
			target := a.Labels["target"]
			wantLabels := map[string]string{"alertname": a.Labels["alertname"], "target": target, "site": "lab",
				"instance": expAddr, "job": "traceroute", "severity": map[string]string{
					"TraceroutePathChanged": "info", "TracerouteHopCountIncreased": "warning",
					"TraceroutePathDegraded": "warning", "TracerouteASPathChanged": "info"}[a.Labels["alertname"]]}
			if fmt.Sprint(a.Labels) != fmt.Sprint(wantLabels) || a.Status != "firing" {
				t.Errorf("alert %s labels %v, want %v", a.Status, a.Labels, wantLabels)
			}
			if a.Annotations["link"] != "http://"+expAddr+"/targets/"+target {
				t.Errorf("%v: link %q", a.Labels, a.Annotations["link"])
			} else if resp, err := client.Get(a.Annotations["link"]); err != nil {
				t.Errorf("%v: link: %v", a.Labels, err)
			} else {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Errorf("%v: link %s answers %d %s, want the target's page", a.Labels, a.Annotations["link"], resp.StatusCode, resp.Header.Get("Content-Type"))
				}
			}
			switch a.Labels["alertname"] {
			case "TraceroutePathChanged":
				prefix := fmt.Sprintf("The path from %s to %s changed; the current path has been in place since %d-", expAddr, target, time.Now().UTC().Year())
				if a.Annotations["summary"] != "Network path to a traceroute target changed." || !strings.HasPrefix(a.Annotations["description"], prefix) {
					t.Errorf("path changed annotations %v, want description starting %q", a.Annotations, prefix)
				}
			case "TracerouteHopCountIncreased":
				desc := fmt.Sprintf("The path from %s to %s is 1 hop(s) longer than 15 minutes ago; it now has 6 hops.", expAddr, target)
				if a.Annotations["summary"] != "Network path to a traceroute target got longer." || a.Annotations["description"] != desc {
					t.Errorf("hop count annotations %v, want description %q", a.Annotations, desc)
				}
			}
		}
	})

	t.Run("every dashboard query runs and returns data", func(t *testing.T) {
		m, err := grafana.Parse(grafana.Dashboard)
		if err != nil {
			t.Fatal(err)
		}
		qs, err := m.Queries()
		if err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{"site": ".*", "job": "traceroute", "instance": ".*", "target": "dst4", "__rate_interval": "15s", "__interval": "5s", "__range": "5m"}
		for _, q := range qs {
			expr := grafana.Substitute(q.Expr, vars)
			var r promResult
			if q.Instant {
				r, err = prom.query(expr)
			} else {
				r, err = prom.queryRange(expr, start, time.Second)
			}
			if err != nil {
				t.Errorf("%s: %s: %v", q.Where, expr, err)
				continue
			}
			if len(r.Result) == 0 {
				t.Errorf("%s: %s returned no data", q.Where, expr)
			}
		}
		t.Logf("%d dashboard queries ran with data", len(qs))
	})
}

// keys lists the distinct alertname/target pairs of alerts, sorted.
func keys(alerts []amAlert) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range alerts {
		k := a.Labels["alertname"] + "/" + a.Labels["target"]
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
