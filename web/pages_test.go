package web

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/api"
)

// serve runs the pages on a loopback server, mounted at "/" as main does.
func serve(t *testing.T, hist api.History, external string) *httptest.Server {
	t.Helper()
	now := func() time.Time { return t0.Add(time.Hour) }
	srv := httptest.NewServer(New(source(), hist, Options{ExternalURL: external, Now: now}))
	t.Cleanup(srv.Close)
	return srv
}

// fetch fetches path (already URL-escaped) with method.
func fetch(t *testing.T, srv *httptest.Server, method, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

var titleRE = regexp.MustCompile(`<title>[^<]+</title>`)

// checkHTML checks the basics of an HTML5 page.
func checkHTML(t *testing.T, body string) {
	t.Helper()
	if !strings.HasPrefix(body, "<!DOCTYPE html>\n<html lang=\"en\">") || !strings.Contains(body, `<meta charset="utf-8">`) {
		t.Errorf("not an HTML5 document:\n%.200s", body)
	}
	if !titleRE.MatchString(body) {
		t.Errorf("no <title>")
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "src=") || strings.Contains(body, "<link") {
		t.Errorf("page has a script or an external asset")
	}
}

// TestStatus covers the status codes and content types of every route.
func TestStatus(t *testing.T) {
	mem, off, broken := serve(t, store(t, 3), ""), serve(t, nil, ""), serve(t, failingHistory{errors.New("disk on fire")}, "")
	const html, svg = "text/html; charset=utf-8", "image/svg+xml"
	for _, tc := range []struct {
		name, method, path string
		srv                *httptest.Server
		status             int
		ctype, contains    string
	}{
		{"index", "GET", "/", mem, 200, html, "cloudflare-dns"},
		{"index HEAD", "HEAD", "/", mem, 200, html, ""},
		{"target", "GET", "/targets/cloudflare-dns", mem, 200, html, "Change 4"},
		{"escaped name", "GET", "/targets/a%2Fb%20c", mem, 200, html, "not yet traced"},
		{"unknown target", "GET", "/targets/nope", mem, 404, html, `Unknown target &#34;nope&#34;`},
		{"unknown page", "GET", "/nope", mem, 404, html, "No such page"},
		{"path svg", "GET", "/targets/cloudflare-dns/path.svg", mem, 200, svg, "<svg"},
		{"path svg unknown", "GET", "/targets/nope/path.svg", mem, 404, html, "Unknown target"},
		{"change svg", "GET", "/targets/cloudflare-dns/changes/2.svg", mem, 200, svg, "change 2"},
		{"change svg oldest", "GET", "/targets/cloudflare-dns/changes/1.svg", mem, 200, svg, "change 1"},
		{"change svg unknown id", "GET", "/targets/cloudflare-dns/changes/99.svg", mem, 404, html, "has no change 99"},
		{"change svg bad id", "GET", "/targets/cloudflare-dns/changes/x.svg", mem, 404, html, "want &lt;id&gt;.svg"},
		{"change svg no suffix", "GET", "/targets/cloudflare-dns/changes/2", mem, 404, html, "want &lt;id&gt;.svg"},
		{"change svg unknown target", "GET", "/targets/nope/changes/2.svg", mem, 404, html, "Unknown target"},
		{"change svg other target", "GET", "/targets/big/changes/2.svg", mem, 404, html, "has no change 2"},
		{"disabled target", "GET", "/targets/cloudflare-dns", off, 200, html, "History is disabled"},
		{"disabled index", "GET", "/", off, 200, html, "History storage is disabled"},
		{"disabled change svg", "GET", "/targets/cloudflare-dns/changes/2.svg", off, 503, html, "History storage is disabled"},
		{"broken target", "GET", "/targets/cloudflare-dns", broken, 200, html, "Cannot read the path history: disk on fire"},
		{"broken change svg", "GET", "/targets/cloudflare-dns/changes/2.svg", broken, 500, html, "disk on fire"},
		{"POST index", "POST", "/", mem, 405, "text/plain; charset=utf-8", "method POST not allowed"},
		{"DELETE svg", "DELETE", "/targets/cloudflare-dns/path.svg", mem, 405, "text/plain; charset=utf-8", "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := fetch(t, tc.srv, tc.method, tc.path)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q:\n%s", tc.contains, body)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", resp.Header.Get("Allow"))
			}
			switch {
			case tc.method == "HEAD" || tc.status == 405:
			case tc.ctype == html:
				checkHTML(t, body)
				if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("Content-Security-Policy %q", csp)
				}
			case tc.ctype == svg:
				parseXML(t, []byte(body))
			}
		})
	}
}

// TestSort checks the order of the targets table and its sort links.
func TestSort(t *testing.T) {
	srv := serve(t, nil, "")
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"a/b c", "big", "cloudflare-dns", "unreached", `x&#34;&gt;&lt;script&gt;`}},
		{"?sort=name", []string{"a/b c", "big", "cloudflare-dns", "unreached", `x&#34;&gt;&lt;script&gt;`}},
		{"?sort=bogus", []string{"a/b c", "big", "cloudflare-dns", "unreached", `x&#34;&gt;&lt;script&gt;`}},
		// unreached changed last; big and cloudflare-dns tie, by name;
		// the others never changed.
		{"?sort=change", []string{"unreached", "big", "cloudflare-dns", "a/b c", `x&#34;&gt;&lt;script&gt;`}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, body := fetch(t, srv, "GET", "/"+tc.query)
			last := -1
			for _, name := range tc.want {
				i := strings.Index(body, "\">"+name)
				if i < 0 {
					t.Fatalf("no row %q", name)
				}
				if i < last {
					t.Errorf("%q out of order", name)
				}
				last = i
			}
			other := `href="/?sort=change"`
			if tc.query == "?sort=change" {
				other = `href="/?sort=name"`
			}
			if !strings.Contains(body, other) {
				t.Errorf("no link %s", other)
			}
		})
	}
}

// TestEscapingPages checks that a hostile target and hop name are
// escaped in the table, the page and its diagram.
func TestEscapingPages(t *testing.T) {
	srv := serve(t, store(t, 1), "")
	_, index := fetch(t, srv, "GET", "/")
	_, page := fetch(t, srv, "GET", "/targets/x%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E")
	for name, body := range map[string]string{"index": index, "target": page} {
		if strings.Contains(body, "<script") || strings.Contains(body, `x">`) {
			t.Errorf("%s: unescaped name:\n%s", name, body)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#39;.example") {
		t.Errorf("hop name not shown escaped:\n%s", page)
	}
	if !strings.Contains(index, `href="/targets/x%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"`) {
		t.Errorf("link not escaped:\n%s", index)
	}
}

// TestTargetPage checks the target page's content: diagram, changes
// newest first with their diff and links, and the limit.
func TestTargetPage(t *testing.T) {
	_, body := fetch(t, serve(t, store(t, maxChanges+5), ""), "GET", "/targets/cloudflare-dns")
	for _, want := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg"`, `data-ttl="5" data-addr="192.0.2.254"`,
		`href="/targets/cloudflare-dns/path.svg"`, `href="/targets/cloudflare-dns/changes/56.svg"`,
		`id="change-56"`, "differing hops (TTL): 2, 4", `class="hop changed"`, "The latest 50 changes",
		"label=24001", `<span class="badge worse"><span aria-hidden="true">▼</span> worse</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(body, `<section class="change"`); n != maxChanges {
		t.Errorf("%d changes shown, want %d", n, maxChanges)
	}
	if n := strings.Count(body, `<svg `); n != 1+maxDiagrams {
		t.Errorf("%d diagrams, want the path and %d changes", n, maxDiagrams)
	}
	if n := strings.Count(body, `<details open>`); n != maxChanges-maxDiagrams {
		t.Errorf("%d open diff tables, want one per change without a diagram", n)
	}
	if strings.Index(body, `id="change-56"`) > strings.Index(body, `id="change-55"`) {
		t.Error("changes not newest first")
	}
}

// TestExternalURL checks links under the external URL's path and that
// requests carrying that path are served.
func TestExternalURL(t *testing.T) {
	srv := serve(t, store(t, 1), "https://example.net/tr/")
	_, body := fetch(t, srv, "GET", "/tr/targets/cloudflare-dns")
	for _, want := range []string{`href="/tr/"`, `href="/tr/targets/cloudflare-dns/path.svg"`,
		`https://example.net/tr/targets/cloudflare-dns/path.svg`, `href="/tr/api/v1/targets/cloudflare-dns"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	_, svg := fetch(t, srv, "GET", "/targets/cloudflare-dns/changes/2.svg")
	if !strings.Contains(svg, `<a href="https://example.net/tr/targets/cloudflare-dns#change-2">`) {
		t.Errorf("change SVG does not link to its page:\n%s", svg)
	}
	resp, _ := fetch(t, srv, "GET", "/tr/")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/tr/" {
		t.Errorf("GET /tr/: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	if resp, _ := fetch(t, srv, "GET", "/tr"); resp.Request.URL.Path != "/tr/" {
		t.Errorf("GET /tr ends at %s, want /tr/", resp.Request.URL.Path)
	}
}
