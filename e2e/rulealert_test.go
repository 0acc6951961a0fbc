package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"
)

// ruleAlert returns the labels and annotations Prometheus gives the
// shipped rule's alert for a series with labels and the value: the rule's
// own labels added, every annotation expanded as Prometheus expands it
// ($labels, $value; the rules file's tests pin what the expansion gives).
func ruleAlert(t *testing.T, alert string, labels map[string]string, value float64) (map[string]string, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "alerts", "traceroute.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert != alert {
				continue
			}
			l := map[string]string{"alertname": alert}
			for k, v := range labels {
				l[k] = v
			}
			for k, v := range r.Labels {
				l[k] = v
			}
			a := map[string]string{}
			for k, text := range r.Annotations {
				// Prometheus's prefix; a function only Prometheus has
				// fails the parse here, which is the cue to add it.
				// query answers nothing, as Prometheus does for an
				// exporter that exports no traceroute_exporter_web_info.
				tmpl, err := template.New(k).Option("missingkey=zero").Funcs(template.FuncMap{
					"query": func(string) []any { return nil },
					"first": func(v []any) any { return nil },
					"label": func(string, any) string { return "" },
				}).Parse("{{$labels := .Labels}}{{$value := .Value}}" + text)
				if err != nil {
					t.Fatalf("%s annotation %s: %v", alert, k, err)
				}
				var out strings.Builder
				if err := tmpl.Execute(&out, struct {
					Labels map[string]string
					Value  float64
				}{labels, value}); err != nil {
					t.Fatalf("%s annotation %s: %v", alert, k, err)
				}
				a[k] = out.String()
			}
			return l, a
		}
	}
	t.Fatalf("no alert %s in the rules", alert)
	return nil, nil
}

// TestEmailRuleAlertExpandsAsPrometheus checks ruleAlert against what
// promtool's unit test of the rules expects for TraceroutePathDegraded.
func TestEmailRuleAlertExpandsAsPrometheus(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "alerts", "tests", "traceroute_test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []struct {
					Labels      map[string]string `yaml:"exp_labels"`
					Annotations map[string]string `yaml:"exp_annotations"`
				} `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(b, &tests); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if a.Alertname != "TraceroutePathDegraded" || len(a.ExpAlerts) != 1 {
				continue
			}
			n++
			exp := a.ExpAlerts[0]
			series := map[string]string{}
			for k, v := range exp.Labels {
				if k != "severity" {
					series[k] = v
				}
			}
			labels, annotations := ruleAlert(t, a.Alertname, series, 1)
			exp.Labels["alertname"] = a.Alertname
			// Annotations the rule fills from a Prometheus query are
			// checked by promtool's own test of the rules.
			for _, k := range []string{"before", "after", "change_id", "bgp"} {
				delete(annotations, k)
				delete(exp.Annotations, k)
			}
			if fmt.Sprint(labels) != fmt.Sprint(exp.Labels) || fmt.Sprint(annotations) != fmt.Sprint(exp.Annotations) {
				t.Errorf("expanded\n%v\n%v\npromtool's test expects\n%v\n%v", labels, annotations, exp.Labels, exp.Annotations)
			}
		}
	}
	if n == 0 {
		t.Fatal("no firing TraceroutePathDegraded case in alerts/tests/traceroute_test.yml")
	}
}
