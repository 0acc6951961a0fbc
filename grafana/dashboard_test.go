package grafana

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const dsVar = `{"type":"prometheus","uid":"${datasource}"}`

// Matchers every query carries, as Grafana's dashboard linter
// (grafana/dashboard-linter: target-job-rule, target-instance-rule) wants.
const (
	siteMatcher     = `site=~"$site"`
	jobMatcher      = `job=~"$job"`
	instanceMatcher = `instance=~"$instance"`
	targetMatcher   = `target="$target"`
)

// defaultJob is the job the dashboard opens with, the scrape job name the
// README and the alert rules use.
const defaultJob = "traceroute"

func sameJSON(raw json.RawMessage, want string) bool {
	var a, b any
	if json.Unmarshal(raw, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// contractMetrics are the metrics agreed for the AS path, forward loss and
// path verdicts (issue 8). They count as exported even before the
// collector's golden file shows them, so the dashboard can be built against
// the contract.
var contractMetrics = []string{
	"traceroute_hop_info",
	"traceroute_hop_asn",
	"traceroute_hop_forward_loss_ratio",
	"traceroute_as_path_hash",
	"traceroute_as_path_length",
	"traceroute_as_path_changes_total",
	"traceroute_path_degradations_total",
}

// exportedMetrics reads the metric names the exporter exposes from the
// collector's golden file, plus the build info from client_golang and the
// contract metrics.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "collector", "testdata", "metrics.golden"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{"traceroute_exporter_build_info": true}
	for _, n := range contractMetrics {
		names[n] = true
	}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if f := strings.Fields(s.Text()); len(f) >= 3 && f[1] == "TYPE" {
			names[f[2]] = true
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// lint checks the dashboard against the rules of Grafana's dashboard
// linter that this project follows, and against the exporter's metrics.
// It returns one line per problem.
func lint(m *Model, known map[string]bool) []string {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	lintLayout(m, add)
	lintVariables(m, add)
	qs, err := m.Queries()
	if err != nil {
		add("%v", err)
		return problems
	}
	for _, q := range qs {
		lintQuery(q, known, add)
	}
	return problems
}

// lintLayout checks the dashboard and its panels: a title and uid, not
// editable (uneditable-dashboard-rule), unique panel ids, a title and a
// description and at least one query per panel, and the ${datasource}
// variable on every panel, query and annotation (panel-datasource-rule).
func lintLayout(m *Model, add func(string, ...any)) {
	if m.Title == "" || m.UID == "" {
		add("dashboard needs a title and a uid")
	}
	if m.Editable {
		add(`dashboard is editable; want "editable": false`)
	}
	ids := map[int]string{}
	for _, p := range m.Panels {
		if prev, dup := ids[p.ID]; dup || p.ID == 0 {
			add("panel %q: id %d is missing or also used by %q", p.Title, p.ID, prev)
		}
		ids[p.ID] = p.Title
		if p.Title == "" || p.Description == "" {
			add("panel %d: needs a title and a description", p.ID)
		}
		if !sameJSON(p.Datasource, dsVar) {
			add("panel %q: datasource %s, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			add("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if !sameJSON(tg.Datasource, dsVar) {
				add("panel %q target %s: datasource %s, want the ${datasource} variable", p.Title, tg.RefID, tg.Datasource)
			}
		}
	}
	for _, a := range m.Annotations.List {
		if a.BuiltIn == 0 && !sameJSON(a.Datasource, dsVar) {
			add("annotation %q: datasource %s, want the ${datasource} variable", a.Name, a.Datasource)
		}
	}
}

// lintVariables checks the template variables: a Prometheus datasource
// variable (template-datasource-rule); job and instance variables that are
// Prometheus queries on ${datasource}, multi-select with an All value of
// ".+" (template-job-rule, template-instance-rule); job opening on
// "traceroute".
func lintVariables(m *Model, add func(string, ...any)) {
	if ds := m.Variable("datasource"); ds == nil || ds.Type != "datasource" || !strings.Contains(string(ds.Query), "prometheus") {
		add("no Prometheus datasource variable named datasource")
	}
	for _, v := range m.Templating.List {
		if v.Type == "query" && !sameJSON(v.Datasource, dsVar) {
			add("variable %s: datasource %s, want the ${datasource} variable", v.Name, v.Datasource)
		}
	}
	for _, name := range []string{"job", "instance"} {
		v := m.Variable(name)
		if v == nil {
			add("no %s variable", name)
			continue
		}
		if v.Type != "query" {
			add("variable %s: type %q, want query", name, v.Type)
		}
		if !v.Multi || !v.IncludeAll {
			add("variable %s: multi %v, include all %v; want a multi-select with All", name, v.Multi, v.IncludeAll)
		}
		if v.AllValue != ".+" {
			add("variable %s: all value %q, want \".+\"", name, v.AllValue)
		}
	}
	// site is the label a multi-site set-up's Prometheus agents add
	// (external_labels); its All value ".*" also matches series without
	// one, so a single-site set-up sees its data.
	if v := m.Variable("site"); v == nil {
		add("no site variable")
	} else if v.Type != "query" || !v.Multi || !v.IncludeAll || v.AllValue != ".*" {
		add("variable site: type %q, multi %v, include all %v, all value %q; want a multi-select query with All as \".*\"", v.Type, v.Multi, v.IncludeAll, v.AllValue)
	}
	if v := m.Variable("job"); v != nil {
		if v.Label != "Job" {
			add("variable job: label %q, want \"Job\"", v.Label)
		}
		var one string
		var many []string
		if !(json.Unmarshal(v.Current.Value, &one) == nil && one == defaultJob ||
			json.Unmarshal(v.Current.Value, &many) == nil && len(many) == 1 && many[0] == defaultJob) {
			add("variable job: default %s, want %q", v.Current.Value, defaultJob)
		}
	}
}

var (
	// selector matches a metric name and the label matchers after it.
	selector = regexp.MustCompile(`\b(traceroute_[a-z_]+)\b(\{[^}]*\})?`)
	// window matches the function and range of rate, irate and increase.
	window = regexp.MustCompile(`\b(rate|irate|increase)\([^\[]*\[([^\]]+)\]`)
)

// lintQuery checks one query: every metric is one the exporter exports;
// every selector has site=~"$site" (except the site variable's own
// query), job=~"$job" (except the site and job variables' queries),
// instance=~"$instance" (except the job and instance variables) and, in
// panels and annotations, target="$target" (target-job-rule,
// target-instance-rule); rate, irate and increase run over
// $__rate_interval (target-rate-interval-rule), except a stat's increase
// over $__range, the total for the dashboard's time range.
func lintQuery(q Query, known map[string]bool, add func(string, ...any)) {
	if strings.TrimSpace(q.Expr) == "" {
		add("%s: empty query", q.Where)
		return
	}
	isVar := strings.HasPrefix(q.Where, "variable ")
	sels := selector.FindAllStringSubmatch(q.Expr, -1)
	if len(sels) == 0 {
		add("%s: no traceroute_ metric in %s", q.Where, q.Expr)
	}
	for _, s := range sels {
		name, matchers := s[1], s[2]
		if !known[name] {
			add("%s: %s is not a metric of this exporter", q.Where, name)
		}
		want := []string{siteMatcher, jobMatcher, instanceMatcher, targetMatcher}
		switch {
		case q.Where == "variable site":
			want = nil
		case q.Where == "variable job":
			want = want[:1]
		case q.Where == "variable instance":
			want = want[:2]
		case isVar:
			want = want[:3]
		}
		for _, w := range want {
			if !strings.Contains(matchers, w) {
				add("%s: %s%s does not select %s", q.Where, name, matchers, w)
			}
		}
	}
	for _, w := range window.FindAllStringSubmatch(q.Expr, -1) {
		fn, rng := w[1], w[2]
		if rng == "$__rate_interval" || rng == "$__range" && fn == "increase" && q.PanelType == "stat" {
			continue
		}
		add("%s: %s over [%s], want $__rate_interval (or a stat's increase over $__range)", q.Where, fn, rng)
	}
}

func TestDashboardLint(t *testing.T) {
	if !json.Valid(Dashboard) {
		t.Fatal("traceroute.json is not valid JSON")
	}
	m, err := Parse(Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range lint(m, exportedMetrics(t)) {
		t.Error(p)
	}
	qs, err := m.Queries()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d queries, %d panels checked", len(qs), len(m.Panels))
}

// jsonDashboard is the dashboard as generic JSON, to break on purpose.
type jsonDashboard = map[string]any

func list(d jsonDashboard, key string) []any {
	if key == "panels" {
		return d["panels"].([]any)
	}
	return d[key].(map[string]any)["list"].([]any)
}

// find returns the element of the panels, annotations or templating list
// whose field equals value.
func find(t *testing.T, d jsonDashboard, key, field string, value any) map[string]any {
	t.Helper()
	for _, e := range list(d, key) {
		if e := e.(map[string]any); e[field] == value {
			return e
		}
	}
	t.Fatalf("no %s with %s %v", key, field, value)
	return nil
}

func panelTarget(t *testing.T, d jsonDashboard, id int, ref string) map[string]any {
	t.Helper()
	for _, tg := range find(t, d, "panels", "id", float64(id))["targets"].([]any) {
		if tg := tg.(map[string]any); tg["refId"] == ref {
			return tg
		}
	}
	t.Fatalf("panel %d has no target %s", id, ref)
	return nil
}

func replaceIn(t *testing.T, m map[string]any, key, old, new string) {
	t.Helper()
	s := m[key].(string)
	if !strings.Contains(s, old) {
		t.Fatalf("%q does not contain %q", s, old)
	}
	m[key] = strings.ReplaceAll(s, old, new)
}

// TestLintCatchesRegressions breaks the dashboard in each way the lint
// forbids and checks that the lint reports it.
func TestLintCatchesRegressions(t *testing.T) {
	known := exportedMetrics(t)
	noJob := jobMatcher + ","
	for _, tc := range []struct {
		name   string
		mutate func(*testing.T, jsonDashboard)
		want   string
	}{
		{"editable", func(t *testing.T, d jsonDashboard) { d["editable"] = true }, `"editable": false`},
		{"no job variable", func(t *testing.T, d jsonDashboard) {
			vs := d["templating"].(map[string]any)
			var keep []any
			for _, v := range list(d, "templating") {
				if v.(map[string]any)["name"] != "job" {
					keep = append(keep, v)
				}
			}
			vs["list"] = keep
		}, "no job variable"},
		{"job all value .*", func(t *testing.T, d jsonDashboard) {
			find(t, d, "templating", "name", "job")["allValue"] = ".*"
		}, `variable job: all value ".*"`},
		{"job single-select", func(t *testing.T, d jsonDashboard) {
			find(t, d, "templating", "name", "job")["multi"] = false
		}, "variable job: multi false"},
		{"job default", func(t *testing.T, d jsonDashboard) {
			find(t, d, "templating", "name", "job")["current"] = map[string]any{"value": []any{"node"}}
		}, `variable job: default ["node"]`},
		{"job variable on a fixed datasource", func(t *testing.T, d jsonDashboard) {
			find(t, d, "templating", "name", "job")["datasource"] = map[string]any{"type": "prometheus", "uid": "P1"}
		}, "variable job: datasource"},
		{"instance all value .*", func(t *testing.T, d jsonDashboard) {
			find(t, d, "templating", "name", "instance")["allValue"] = ".*"
		}, `variable instance: all value ".*"`},
		{"panel on a fixed datasource", func(t *testing.T, d jsonDashboard) {
			find(t, d, "panels", "title", "AS path")["datasource"] = map[string]any{"type": "prometheus", "uid": "P1"}
		}, `panel "AS path": datasource`},
		{"panel without datasource", func(t *testing.T, d jsonDashboard) {
			delete(find(t, d, "panels", "title", "Forward loss per hop"), "datasource")
		}, `panel "Forward loss per hop": datasource`},
		{"query on a fixed datasource", func(t *testing.T, d jsonDashboard) {
			panelTarget(t, d, 7, "F")["datasource"] = map[string]any{"type": "prometheus", "uid": "P1"}
		}, "target F: datasource"},
		{"annotation on a fixed datasource", func(t *testing.T, d jsonDashboard) {
			find(t, d, "annotations", "name", "Path degradations (worse)")["datasource"] = map[string]any{"type": "prometheus", "uid": "P1"}
		}, `annotation "Path degradations (worse)": datasource`},
		{"panel query without site", func(t *testing.T, d jsonDashboard) {
			replaceIn(t, panelTarget(t, d, 1, "A"), "expr", siteMatcher+",", "")
		}, `does not select site=~"$site"`},
		{"site all value .+ hides single-site series", func(t *testing.T, d jsonDashboard) {
			find(t, d, "templating", "name", "site")["allValue"] = ".+"
		}, `variable site: type "query", multi true, include all true, all value ".+"`},
		{"job variable without site", func(t *testing.T, d jsonDashboard) {
			replaceIn(t, find(t, d, "templating", "name", "job")["query"].(map[string]any), "query", `{site=~"$site"}`, "")
		}, `variable job: traceroute_exporter_build_info does not select site=~"$site"`},
		{"panel query without job", func(t *testing.T, d jsonDashboard) {
			replaceIn(t, panelTarget(t, d, 1, "A"), "expr", noJob, "")
		}, `does not select job=~"$job"`},
		{"one selector of a join without job", func(t *testing.T, d jsonDashboard) {
			tg := panelTarget(t, d, 7, "F")
			tg["expr"] = strings.Replace(tg["expr"].(string), "group_left traceroute_hop_forward_loss_ratio{"+siteMatcher+","+noJob, "group_left traceroute_hop_forward_loss_ratio{"+siteMatcher+",", 1)
		}, `traceroute_hop_forward_loss_ratio{site=~"$site",instance=~"$instance",target="$target"} does not select job=~"$job"`},
		{"annotation without job", func(t *testing.T, d jsonDashboard) {
			replaceIn(t, find(t, d, "annotations", "name", "Path changes"), "expr", noJob, "")
		}, `annotation "Path changes": traceroute_path_changes_total{site=~"$site",instance`},
		{"variable without job", func(t *testing.T, d jsonDashboard) {
			replaceIn(t, find(t, d, "templating", "name", "target")["query"].(map[string]any), "query", noJob, "")
		}, `variable target: traceroute_hops{site=~"$site",instance=~"$instance"} does not select job=~"$job"`},
		{"query without instance", func(t *testing.T, d jsonDashboard) {
			replaceIn(t, panelTarget(t, d, 15, "A"), "expr", instanceMatcher+",", "")
		}, `does not select instance=~"$instance"`},
		{"query without target", func(t *testing.T, d jsonDashboard) {
			replaceIn(t, panelTarget(t, d, 17, "A"), "expr", ","+targetMatcher, "")
		}, `does not select target="$target"`},
		{"rate over a fixed window", func(t *testing.T, d jsonDashboard) {
			replaceIn(t, panelTarget(t, d, 13, "B"), "expr", "increase(", "rate(")
			replaceIn(t, panelTarget(t, d, 13, "B"), "expr", "$__rate_interval", "5m")
		}, "rate over [5m], want $__rate_interval"},
		{"increase over the range in a graph", func(t *testing.T, d jsonDashboard) {
			replaceIn(t, panelTarget(t, d, 13, "A"), "expr", "$__rate_interval", "$__range")
		}, "increase over [$__range], want $__rate_interval"},
		{"unknown metric", func(t *testing.T, d jsonDashboard) {
			replaceIn(t, panelTarget(t, d, 17, "A"), "expr", "traceroute_hop_forward_loss_ratio", "traceroute_hop_fwd_loss_ratio")
		}, "traceroute_hop_fwd_loss_ratio is not a metric of this exporter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d jsonDashboard
			if err := json.Unmarshal(Dashboard, &d); err != nil {
				t.Fatal(err)
			}
			tc.mutate(t, d)
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			problems := lint(m, known)
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("no problem containing %q; got:\n%s", tc.want, strings.Join(problems, "\n"))
		})
	}
}

func TestSubstitute(t *testing.T) {
	got := Substitute(`x{target="$target",i=~"${instance}"}[$__rate_interval]`, map[string]string{"target": "a", "instance": ".*", "__rate_interval": "1m"})
	if want := `x{target="a",i=~".*"}[1m]`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
