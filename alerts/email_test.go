package alerts

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// The e-mail template is rendered with amtool, which executes it as
// Alertmanager does; the end-to-end test (e2e/email_test.go) has a real
// Alertmanager deliver it to a real SMTP server.

func TestAlertmanagerExampleConfig(t *testing.T) {
	out, err := exec.Command(testenv.Tool(t, "amtool"), "check-config", "alertmanager.example.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("amtool check-config alertmanager.example.yml: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "1 templates") {
		t.Errorf("amtool check-config found no template:\n%s", out)
	}
	// The receiver uses the template's three definitions.
	b, err := os.ReadFile("alertmanager.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Subject: '{{ template "traceroute.email.subject" . }}'`,
		`html: '{{ template "traceroute.email.html" . }}'`, `text: '{{ template "traceroute.email.text" . }}'`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("alertmanager.example.yml lacks %s", want)
		}
	}
}

// amAlert is an alert as Alertmanager's templates get it.
type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

// render executes definition of email.tmpl with the data of a
// notification of alerts.
func render(t *testing.T, definition, kind string, common map[string]string, alerts ...amAlert) string {
	t.Helper()
	status := "resolved"
	for _, a := range alerts {
		if a.Status == "firing" {
			status = "firing"
		}
	}
	data, err := json.Marshal(map[string]any{"receiver": "noc-email", "status": status, "alerts": alerts,
		"groupLabels": common, "commonLabels": common, "commonAnnotations": map[string]string{},
		"externalURL": "http://alertmanager.example.net:9093"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Tool(t, "amtool"), "template", "render", "--template.glob=email.tmpl",
		"--template.type="+kind, "--template.data="+path, `--template.text={{ template "`+definition+`" . }}`)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("amtool template render %s: %v\n%s", definition, err, stderr.String())
	}
	return string(out)
}

func TestEmailTemplate(t *testing.T) {
	start := time.Date(2026, 11, 23, 9, 12, 31, 0, time.UTC)
	degraded := amAlert{Status: "firing", StartsAt: start, GeneratorURL: "http://prometheus.example.net:9090/graph",
		Labels: map[string]string{"alertname": "TraceroutePathDegraded", "severity": "warning", "instance": "exp:10188",
			"job": "traceroute", "target": "dst", "site": "lab"},
		Annotations: map[string]string{"summary": "Network path to a traceroute target got worse.",
			"description": "The path from exp:10188 to dst changed for the worse <1 time>.",
			"link":        "http://exp:10188/targets/dst", "before": "5 hops, AS path 3", "after": "6 hops, AS path 4"}}
	unreachable := amAlert{Status: "resolved", StartsAt: start, EndsAt: start.Add(10 * time.Minute),
		Labels: map[string]string{"alertname": "TracerouteDestinationUnreachable", "severity": "critical",
			"instance": "exp:10188", "job": "traceroute", "target": "dead"},
		Annotations: map[string]string{"summary": "A traceroute target does not answer.",
			"description": "dead has not answered probes.", "link": "http://exp:10188/"}}

	t.Run("subject", func(t *testing.T) {
		common := map[string]string{"alertname": "TraceroutePathDegraded", "target": "dst", "instance": "exp:10188"}
		if got, want := render(t, "traceroute.email.subject", "text", common, degraded), "[FIRING:1] TraceroutePathDegraded dst (traced by exp:10188)"; got != want {
			t.Errorf("subject %q, want %q", got, want)
		}
		if got, want := render(t, "traceroute.email.subject", "text", map[string]string{"instance": "exp:10188"}, degraded, unreachable),
			"[FIRING:1] traceroute alerts (traced by exp:10188)"; got != want {
			t.Errorf("subject of two alerts %q, want %q", got, want)
		}
	})

	t.Run("HTML", func(t *testing.T) {
		out := render(t, "traceroute.email.html", "html", map[string]string{"instance": "exp:10188"}, degraded, unreachable)
		doc, err := html.Parse(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		alerts := findAll(doc, func(n *html.Node) bool { return hasClass(n, "table", "alert") })
		if len(alerts) != 2 {
			t.Fatalf("%d alerts, want 2:\n%s", len(alerts), out)
		}
		path, dead := alerts[0], alerts[1]
		for _, c := range []struct{ what, got, want string }{
			{"heading", text(first(path, "h2", "")), "TraceroutePathDegraded · firing · warning"},
			{"target", text(first(path, "td", "target")), "dst"},
			{"instance", text(first(path, "td", "instance")), "exp:10188"},
			{"before", text(first(path, "td", "before")), "5 hops, AS path 3"},
			{"after", text(first(path, "td", "after")), "6 hops, AS path 4"},
			// Escaped, not markup.
			{"description", text(first(path, "p", "description")), "The path from exp:10188 to dst changed for the worse <1 time>."},
			{"page link", attr(first(path, "a", "target-page"), "href"), "http://exp:10188/targets/dst"},
			{"diagram", attr(first(path, "img", "path"), "src"), "http://exp:10188/targets/dst/path.svg"},
			{"resolved heading", text(first(dead, "h2", "")), "TracerouteDestinationUnreachable · resolved · critical"},
		} {
			if c.got != c.want {
				t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
			}
		}
		if s := text(path); !strings.Contains(s, "Since 2026-11-23 09:12:31 UTC") || !strings.Contains(s, "site=lab") || strings.Contains(s, "alertname=") {
			t.Errorf("path alert %q: want the start time and the other labels (site=lab, not alertname)", s)
		}
		// The other alerts link to the exporter, with neither a page
		// link nor a diagram.
		if first(dead, "img", "") != nil || first(dead, "a", "target-page") != nil || first(dead, "td", "before") != nil {
			t.Errorf("unreachable alert has a diagram, a target page link or a before/after:\n%s", out)
		}
		var hrefs []string
		for _, a := range findAll(dead, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "a" }) {
			hrefs = append(hrefs, attr(a, "href"))
		}
		if !slices.Contains(hrefs, "http://exp:10188/") || !strings.Contains(text(dead), "Resolved 2026-11-23 09:22:31 UTC") {
			t.Errorf("unreachable alert: links %q, text %q; want the exporter's link and the resolve time", hrefs, text(dead))
		}
	})

	t.Run("text", func(t *testing.T) {
		out := render(t, "traceroute.email.text", "text", map[string]string{"instance": "exp:10188"}, degraded, unreachable)
		for _, want := range []string{"TraceroutePathDegraded · firing · warning", "Target:    dst", "Before:    5 hops, AS path 3",
			"After:     6 hops, AS path 4", "Details: http://exp:10188/targets/dst", "Path diagram: http://exp:10188/targets/dst/path.svg",
			"TracerouteDestinationUnreachable · resolved · critical", "Details: http://exp:10188/\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("text lacks %q:\n%s", want, out)
			}
		}
		if strings.Count(out, "Path diagram:") != 1 {
			t.Errorf("want a path diagram for the path alert only:\n%s", out)
		}
	})
}

func hasClass(n *html.Node, tag, class string) bool {
	return n.Type == html.ElementNode && n.Data == tag && (class == "" || slices.Contains(strings.Fields(attr(n, "class")), class))
}

// first is the first tag element under n with class (any when empty).
func first(n *html.Node, tag, class string) *html.Node {
	if all := findAll(n, func(c *html.Node) bool { return hasClass(c, tag, class) }); len(all) > 0 {
		return all[0]
	}
	return nil
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if match(c) {
			out = append(out, c)
		}
		out = append(out, findAll(c, match)...)
	}
	return out
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is n's text with white space collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if n != nil {
		walk(n)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
