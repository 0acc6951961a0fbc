// Package grafana ships the bundled Grafana dashboard (traceroute.json) and
// reads the PromQL queries out of it, so tests can lint the dashboard and
// run every query against a real Prometheus.
package grafana

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Dashboard is the bundled dashboard, as imported into Grafana.
//
//go:embed traceroute.json
var Dashboard []byte

// Query is one PromQL query of the dashboard.
type Query struct {
	// Where names the panel, annotation or variable it comes from.
	Where string
	// Expr is the query as written, with Grafana variables.
	Expr string
	// Instant is true for queries Grafana runs at a single time (tables).
	Instant bool
	// PanelType is the type of the panel the query belongs to ("stat",
	// "table", ...); empty for annotations and variables.
	PanelType string
}

// Panel is the part of a dashboard panel the tests look at.
type Panel struct {
	ID          int             `json:"id"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Type        string          `json:"type"`
	Datasource  json.RawMessage `json:"datasource"`
	Targets     []struct {
		RefID      string          `json:"refId"`
		Expr       string          `json:"expr"`
		Instant    bool            `json:"instant"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
}

// Model is the part of the dashboard JSON the tests look at.
type Model struct {
	Title       string  `json:"title"`
	UID         string  `json:"uid"`
	Editable    bool    `json:"editable"`
	Panels      []Panel `json:"panels"`
	Annotations struct {
		List []struct {
			Name       string          `json:"name"`
			Expr       string          `json:"expr"`
			BuiltIn    int             `json:"builtIn"`
			Datasource json.RawMessage `json:"datasource"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Variable is the part of a template variable the tests look at.
type Variable struct {
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource json.RawMessage `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	// Current is the value selected when the dashboard is opened.
	Current struct {
		Value json.RawMessage `json:"value"`
	} `json:"current"`
}

// Variable returns the template variable called name, or nil.
func (m *Model) Variable(name string) *Variable {
	for i := range m.Templating.List {
		if m.Templating.List[i].Name == name {
			return &m.Templating.List[i]
		}
	}
	return nil
}

// Parse decodes a dashboard.
func Parse(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// labelValues matches Grafana's label_values(expr, label) variable query.
var labelValues = regexp.MustCompile(`^label_values\((.*),\s*(\w+)\)$`)

// Queries returns every PromQL query of the dashboard: panel targets,
// annotation queries, and template variable queries, label_values(expr, l)
// rewritten as the PromQL `count by (l) (expr)`.
func (m *Model) Queries() ([]Query, error) {
	var qs []Query
	for _, p := range m.Panels {
		for _, t := range p.Targets {
			qs = append(qs, Query{Where: fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, t.RefID), Expr: t.Expr, Instant: t.Instant, PanelType: p.Type})
		}
	}
	for _, a := range m.Annotations.List {
		if a.BuiltIn == 0 {
			qs = append(qs, Query{Where: fmt.Sprintf("annotation %q", a.Name), Expr: a.Expr})
		}
	}
	for _, v := range m.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			return nil, fmt.Errorf("variable %s: %w", v.Name, err)
		}
		sm := labelValues.FindStringSubmatch(strings.TrimSpace(q.Query))
		if sm == nil {
			return nil, fmt.Errorf("variable %s: query %q is not label_values(expr, label)", v.Name, q.Query)
		}
		qs = append(qs, Query{Where: "variable " + v.Name, Expr: fmt.Sprintf("count by (%s) (%s)", sm[2], sm[1]), Instant: true})
	}
	return qs, nil
}

// Substitute replaces Grafana's variables in expr with the given values
// (keys without the $, e.g. "target", "__rate_interval").
func Substitute(expr string, vars map[string]string) string {
	return regexp.MustCompile(`\$\{?(\w+)\}?`).ReplaceAllStringFunc(expr, func(s string) string {
		name := strings.Trim(s, "${}")
		if v, ok := vars[name]; ok {
			return v
		}
		return s
	})
}
