package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(testenv.Tool(t, "promtool"), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
	t.Logf("promtool %v:\n%s", args, out)
}

func TestRulesCheck(t *testing.T) {
	promtool(t, ".", "check", "rules", "traceroute.rules.yml")
}

// TestRulesUnit runs the firing and non-firing cases of every alert.
func TestRulesUnit(t *testing.T) {
	promtool(t, "tests", "test", "rules", "traceroute_test.yml")
}

type rulesFile struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type testsFile struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestEveryAlertIsTested requires, for every alert, a firing and a
// non-firing case, a severity, and the summary, description and link
// annotations.
func TestEveryAlertIsTested(t *testing.T) {
	var rules rulesFile
	var tests testsFile
	readYAML(t, "traceroute.rules.yml", &rules)
	readYAML(t, filepath.Join("tests", "traceroute_test.yml"), &tests)
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !strings.HasPrefix(r.Alert, "Traceroute") {
				t.Errorf("%s: alert names start with Traceroute", r.Alert)
			}
			if !firing[r.Alert] || !quiet[r.Alert] {
				t.Errorf("%s: firing case %v, non-firing case %v; want both", r.Alert, firing[r.Alert], quiet[r.Alert])
			}
			if r.Labels["severity"] == "" {
				t.Errorf("%s: no severity label", r.Alert)
			}
			for _, a := range []string{"summary", "description", "link"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("%d alerts, want at least 10", n)
	}
}

// Links of the alerts: a path-change alert points at the target's page on
// the exporter (current path and change history), under the exporter's
// --web.external-url when it exports one (traceroute_exporter_web_info),
// else at http://<instance>; every other alert at the exporter. The
// lookup selects the alert's site too (or no site), as two sites may
// scrape exporters under the same instance name.
const (
	targetLink   = `{{ with printf "traceroute_exporter_web_info{instance=%q,job=%q,site=~\"|%s\"}" $labels.instance $labels.job $labels.site | query }}{{ with . | first | label "external_url" }}{{ . }}{{ else }}http://{{ $labels.instance }}{{ end }}{{ else }}http://{{ $labels.instance }}{{ end }}/targets/{{ $labels.target }}`
	exporterLink = "http://{{ $labels.instance }}/"
)

// pathChange matches the counters of path-change events and the
// comparison of the path with BGP: alerts on them link to the target.
var pathChange = regexp.MustCompile(`\btraceroute_((path_changes|path_degradations|as_path_changes)_total|as_path_mismatch)\b`)

// TestAlertLinksAndLoss checks that the path-change alerts link to the
// target's page, and that no rule reads an intermediate hop's response
// loss, which a router rate-limiting its ICMP replies inflates: loss at a
// hop is traceroute_hop_forward_loss_ratio.
func TestAlertLinksAndLoss(t *testing.T) {
	var rules rulesFile
	readYAML(t, "traceroute.rules.yml", &rules)
	changeAlerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			want := exporterLink
			if pathChange.MatchString(r.Expr) {
				want = targetLink
				changeAlerts++
			}
			if got := r.Annotations["link"]; got != want {
				t.Errorf("%s: link %q, want %q", r.Alert, got, want)
			}
			if strings.Contains(r.Expr, "traceroute_hop_loss_ratio") {
				t.Errorf("%s: uses traceroute_hop_loss_ratio (response loss); use traceroute_hop_forward_loss_ratio for loss at a hop", r.Alert)
			}
		}
	}
	if changeAlerts < 4 {
		t.Errorf("%d path-change alerts, want at least 4 (path, hop count, degraded, AS path)", changeAlerts)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
