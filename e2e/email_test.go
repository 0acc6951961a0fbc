package e2e

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"gopkg.in/yaml.v3"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// The e-mail test: the shipped Alertmanager example configuration
// (alerts/alertmanager.example.yml) with the shipped template
// (alerts/email.tmpl), pointed at a real SMTP server (Debian's aiosmtpd,
// writing a Maildir) on the source namespace's loopback, delivers a
// TraceroutePathDegraded alert as the shipped rule labels and annotates
// it; the test reads the delivered message as a mail client would and
// follows its links to the exporter.

const smtpAddr = "127.0.0.1:2525"

// debianPython is the interpreter Debian's python3-aiosmtpd installs for
// (PATH may hold another python3).
const debianPython = "/usr/bin/python3"

// requireAiosmtpd fails (CI) or skips the test when Debian's
// python3-aiosmtpd is not installed.
func requireAiosmtpd(t *testing.T) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import aiosmtpd").Run(); err != nil {
		if testenv.InCI() {
			t.Fatalf("required in CI: %s cannot import aiosmtpd (Debian's python3-aiosmtpd; scripts/test-deps.sh installs it): %v", debianPython, err)
		}
		t.Skipf("skipped outside CI: %s cannot import aiosmtpd (Debian's python3-aiosmtpd): %v", debianPython, err)
	}
}

// exampleAlertmanagerConfig writes alerts/alertmanager.example.yml with
// only what a test must change: the mail server (the test's, without TLS
// or authentication), the template's absolute path, and group timers of a
// second.
func exampleAlertmanagerConfig(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "alerts", "alertmanager.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	global, _ := cfg["global"].(map[string]any)
	route, _ := cfg["route"].(map[string]any)
	if global == nil || route == nil {
		t.Fatalf("alertmanager.example.yml has no global or route section")
	}
	global["smtp_smarthost"] = smtpAddr
	global["smtp_require_tls"] = false
	delete(global, "smtp_auth_username")
	delete(global, "smtp_auth_password")
	tmpl, err := filepath.Abs(filepath.Join("..", "alerts", "email.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg["templates"] = []string{tmpl}
	route["group_wait"], route["group_interval"] = "1s", "1s"
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "alertmanager.yml", string(out))
}

func TestEmailAlertThroughAlertmanager(t *testing.T) {
	requireLab(t)
	alertmanagerBin := testenv.Tool(t, "prometheus-alertmanager")
	amtool := testenv.Tool(t, "amtool")
	requireAiosmtpd(t)

	tp := newTopo(t, false)
	warmUp(t, tp)
	src, dir := tp.name("src"), t.TempDir()
	e := startExporter(t, src, 10188, labConfig("1s", 3, "500ms"), "--asn.database="+linkASNs(t, dir))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer(src)}}

	maildir := filepath.Join(dir, "maildir")
	startService(t, src, debianPython, "-m", "aiosmtpd", "-n", "-l", smtpAddr, "-c", "aiosmtpd.handlers.Mailbox", maildir)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := dialer(src)(t.Context(), "tcp", smtpAddr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SMTP server not listening on %s: %v", smtpAddr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	amConfig := exampleAlertmanagerConfig(t, dir)
	if out, err := exec.Command(amtool, "check-config", amConfig).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
	startService(t, src, alertmanagerBin, "--config.file="+amConfig, "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	waitReady(t, client, "alertmanager", "http://"+amAddr+"/-/ready")

	// The alert Prometheus would send once dst4's path got worse.
	alertLabels, annotations := ruleAlert(t, "TraceroutePathDegraded",
		map[string]string{"instance": e.addr, "job": "traceroute", "target": "dst4", "site": "lab"}, 1)
	link := "http://" + e.addr + "/targets/dst4"
	if annotations["link"] != link {
		t.Fatalf("the rule links to %q, want the target's page %q", annotations["link"], link)
	}
	waitPaths(t, e, 5, func(bool, []string) bool { return true })
	// The route switch that makes the path worse; once the exporter has
	// judged it, the rule fills before, after and change_id from
	// traceroute_path_last_change_info, as Prometheus would.
	tp.useAlternate()
	var change map[string]string
	e.waitFor(15*time.Second, "dst4's change judged and exported", func(m metrics) bool {
		for _, s := range m["traceroute_path_last_change_info"].GetMetric() {
			if l := labels(s); l["target"] == "dst4" {
				change = l
				return true
			}
		}
		return false
	})
	if change["verdict"] != "worse" || change["id"] == "0" || !strings.Contains(change["after"], "(6 hops") ||
		!strings.Contains(change["before"], "(5 hops") || !strings.Contains(change["after"], "AS64508") {
		t.Fatalf("traceroute_path_last_change_info of dst4: %v; want a stored change judged worse from 5 to 6 hops through AS64508", change)
	}
	annotations["before"], annotations["after"], annotations["change_id"] = change["before"], change["after"], change["id"]
	changeSVG := link + "/changes/" + change["id"] + ".svg"
	startsAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	body, _ := json.Marshal([]map[string]any{{"labels": alertLabels, "annotations": annotations,
		"startsAt": startsAt.Format(time.RFC3339), "generatorURL": "http://" + promAddr + "/graph?g0.expr=traceroute_path_degradations_total"}})
	resp, err := client.Post("http://"+amAddr+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v2/alerts: %d %s", resp.StatusCode, answer)
	}

	raw := waitMail(t, filepath.Join(maildir, "new"), 30*time.Second)
	newArtifacts(t).save("message.eml", raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the delivered message does not parse: %v\n%s", err, raw)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if want := "[FIRING:1] TraceroutePathDegraded dst4 (traced by " + e.addr + ")"; err != nil || subject != want {
		t.Errorf("Subject %q (%v), want %q", subject, err, want)
	}
	for h, want := range map[string]string{"To": "noc@example.net", "From": "alertmanager@example.net", "X-RcptTo": "noc@example.net"} {
		if got := msg.Header.Get(h); got != want && !strings.Contains(got, "<"+want+">") {
			t.Errorf("%s: %q, want %s", h, got, want)
		}
	}
	parts := mimeParts(t, msg)
	if _, ok := parts["text/html"]; !ok {
		t.Fatalf("no text/html part; parts %v", keysOf(parts))
	}

	t.Run("HTML body", func(t *testing.T) {
		doc, err := html.Parse(bytes.NewReader(parts["text/html"]))
		if err != nil {
			t.Fatal(err)
		}
		alerts := findAll(doc, hasClass("table", "alert"))
		if len(alerts) != 1 {
			t.Fatalf("%d alerts in the body, want 1:\n%s", len(alerts), parts["text/html"])
		}
		a := alerts[0]
		checks := []struct{ what, got, want string }{
			{"heading", text(find(a, isTag("h2"))), "TraceroutePathDegraded · firing · warning"},
			{"target", text(find(a, hasClass("td", "target"))), "dst4"},
			{"instance", text(find(a, hasClass("td", "instance"))), e.addr},
			{"description", text(find(a, hasClass("p", "description"))), annotations["description"]},
			{"link to the target's page", attr(find(a, hasClass("a", "target-page")), "href"), link},
			{"change diagram", attr(find(a, hasClass("img", "change")), "src"), changeSVG},
			{"before", text(find(a, hasClass("td", "before"))), change["before"]},
			{"after", text(find(a, hasClass("td", "after"))), change["after"]},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
			}
		}
		if s := text(a); !strings.Contains(s, annotations["summary"]) || !strings.Contains(s, "site=lab") ||
			!strings.Contains(s, startsAt.Format("2006-01-02 15:04:05 UTC")) {
			t.Errorf("alert %q lacks the summary, the label site=lab or the start time %s", s, startsAt)
		}
	})

	t.Run("text body", func(t *testing.T) {
		s := string(parts["text/plain"])
		for _, want := range []string{"Target:    dst4", "Traced by: " + e.addr, annotations["description"], "Details: " + link, "Change diagram: " + changeSVG, change["before"], change["after"]} {
			if !strings.Contains(s, want) {
				t.Errorf("text part lacks %q:\n%s", want, s)
			}
		}
	})

	t.Run("links lead to the target's page and its path diagram", func(t *testing.T) {
		page := get(t, client, link, "text/html")
		doc, err := html.Parse(bytes.NewReader(page))
		if err != nil {
			t.Fatal(err)
		}
		if h := text(find(doc, isTag("h1"))); h != "dst4" {
			t.Errorf("%s: heading %q, want dst4", link, h)
		}
		svg := get(t, client, changeSVG, "image/svg+xml")
		var diagram struct {
			XMLName xml.Name
			G       []struct {
				Class string `xml:"class,attr"`
			} `xml:"g"`
		}
		if err := xml.Unmarshal(svg, &diagram); err != nil || diagram.XMLName.Local != "svg" {
			t.Fatalf("%s is not an SVG document: %v %v", changeSVG, diagram.XMLName, err)
		}
		if !bytes.Contains(svg, []byte(`class="hop changed`)) || !bytes.Contains(svg, []byte("198.18.8.2")) {
			t.Errorf("%s does not mark changed hops or lacks the new path's 198.18.8.2", changeSVG)
		}
	})

	// One alert, one mail.
	time.Sleep(3 * time.Second)
	if files, _ := os.ReadDir(filepath.Join(maildir, "new")); len(files) != 1 {
		t.Errorf("%d messages delivered, want 1", len(files))
	}
}

// waitMail waits until a message is in the Maildir folder dir and returns
// the first.
func waitMail(t *testing.T, dir string, timeout time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		files, _ := os.ReadDir(dir)
		if len(files) > 0 {
			b, err := os.ReadFile(filepath.Join(dir, files[0].Name()))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message delivered to %s within %s", dir, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mimeParts returns the decoded parts of a multipart message by media
// type (multipart.Reader undoes quoted-printable).
func mimeParts(t *testing.T, msg *mail.Message) map[string][]byte {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("Content-Type %q: want multipart (%v)", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string][]byte{}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatal(err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts[pt] = b
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// get fetches url through client and requires 200 with the content type.
func get(t *testing.T, client *http.Client, url, contentType string) []byte {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), contentType) {
		t.Fatalf("GET %s: %d %s, want 200 %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), contentType)
	}
	return b
}
