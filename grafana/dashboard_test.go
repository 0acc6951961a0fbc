package grafana

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const dsVar = `{"type":"prometheus","uid":"${datasource}"}`

func sameJSON(t *testing.T, raw json.RawMessage, want string) bool {
	t.Helper()
	var a, b any
	if json.Unmarshal(raw, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestDashboardLint(t *testing.T) {
	if !json.Valid(Dashboard) {
		t.Fatal("traceroute.json is not valid JSON")
	}
	m, err := Parse(Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	if m.Title == "" || m.UID == "" {
		t.Error("dashboard needs a title and a uid")
	}
	ids := map[int]string{}
	for _, p := range m.Panels {
		if prev, dup := ids[p.ID]; dup || p.ID == 0 {
			t.Errorf("panel %q: id %d is missing or also used by %q", p.Title, p.ID, prev)
		}
		ids[p.ID] = p.Title
		if !sameJSON(t, p.Datasource, dsVar) {
			t.Errorf("panel %q: datasource %s, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if !sameJSON(t, tg.Datasource, dsVar) {
				t.Errorf("panel %q target %s: datasource %s, want the ${datasource} variable", p.Title, tg.RefID, tg.Datasource)
			}
		}
	}
	for _, a := range m.Annotations.List {
		if a.BuiltIn == 0 && !sameJSON(t, a.Datasource, dsVar) {
			t.Errorf("annotation %q: datasource %s, want the ${datasource} variable", a.Name, a.Datasource)
		}
	}
	hasDS := false
	for _, v := range m.Templating.List {
		switch v.Type {
		case "datasource":
			hasDS = v.Name == "datasource" && strings.Contains(string(v.Query), "prometheus")
		case "query":
			if !sameJSON(t, v.Datasource, dsVar) {
				t.Errorf("variable %s: datasource %s, want the ${datasource} variable", v.Name, v.Datasource)
			}
		}
	}
	if !hasDS {
		t.Error("no Prometheus datasource variable named datasource")
	}
}

// exportedMetrics reads the metric names the exporter exposes from the
// collector's golden file, plus the build info from client_golang.
func exportedMetrics(t *testing.T) map[string]bool {
	f, err := os.Open(filepath.Join("..", "collector", "testdata", "metrics.golden"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{"traceroute_exporter_build_info": true}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if f := strings.Fields(s.Text()); len(f) >= 3 && f[1] == "TYPE" {
			names[f[2]] = true
		}
	}
	return names
}

func TestDashboardQueries(t *testing.T) {
	m, err := Parse(Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := m.Queries()
	if err != nil {
		t.Fatal(err)
	}
	known := exportedMetrics(t)
	metric := regexp.MustCompile(`\btraceroute_[a-z_]+\b`)
	window := regexp.MustCompile(`\b(rate|irate|increase)\([^\[]*\[([^\]]+)\]`)
	for _, q := range qs {
		if strings.TrimSpace(q.Expr) == "" {
			t.Errorf("%s: empty query", q.Where)
		}
		for _, name := range metric.FindAllString(q.Expr, -1) {
			if !known[name] {
				t.Errorf("%s: %s is not a metric of this exporter", q.Where, name)
			}
		}
		for _, w := range window.FindAllStringSubmatch(q.Expr, -1) {
			if w[2] != "$__rate_interval" && w[2] != "$__range" {
				t.Errorf("%s: %s over [%s], want $__rate_interval (or $__range for a total)", q.Where, w[1], w[2])
			}
		}
		if !strings.HasPrefix(q.Where, "variable") && !strings.Contains(q.Expr, `target`) {
			t.Errorf("%s: query does not select by target", q.Where)
		}
	}
}

func TestSubstitute(t *testing.T) {
	got := Substitute(`x{target="$target",i=~"${instance}"}[$__rate_interval]`, map[string]string{"target": "a", "instance": ".*", "__rate_interval": "1m"})
	if want := `x{target="a",i=~".*"}[1m]`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
