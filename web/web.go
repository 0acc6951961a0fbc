// Package web is the exporter's built-in user interface: server-rendered
// HTML pages and SVG path diagrams, with no JavaScript and no external
// assets (the CSS is inline), so it works offline and behind the same
// --web.config.file TLS and basic auth as /metrics.
//
// [New] returns one http.Handler serving, all GET (and HEAD):
//
//	/                                    targets table; ?sort=name (default) or ?sort=change
//	/targets/{name}                      current path diagram and change history
//	/targets/{name}/path.svg             current path, standalone SVG
//	/targets/{name}/changes/{id}.svg     one change, before and after, standalone SVG
//
// Pages are text/html, diagrams image/svg+xml; an unknown target or
// change is a 404 page, another method 405. A name is one path segment,
// URL-escaped as needed (a "/" as %2F), as in the JSON API.
//
// The package reads state only through [api.Source] and [api.History]
// (nil when persistence is off: the pages then say history is disabled
// and change diagrams answer 503).
//
// Files: web.go routing, index.go and target.go the pages, nodes.go what
// a diagram shows, diagram.go its layout, render.go and templates/ the
// drawing, palette.go the colours (checked for contrast by the tests).
package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/api"
)

// maxChanges is the number of changes a target page shows.
const maxChanges = 50

// Options configure the pages.
type Options struct {
	// ExternalURL is the URL under which users reach the exporter (as
	// Prometheus's --web.external-url), e.g. "https://example.net/tr/".
	// Its path is the prefix of every link in the pages, and the handler
	// strips it from requests that carry it (so main may mount the
	// handler at "/" behind a proxy that keeps or strips the prefix).
	// Diagrams link back to their page through the full URL, which
	// matters once an SVG leaves the exporter (e-mail, chat, Grafana).
	// Empty: links are relative to the server's root. A value that does
	// not parse as a URL is treated as empty; main validates the flag.
	ExternalURL string
	// Now is the clock for "10m ago"; time.Now when nil.
	Now func() time.Time
	// MetricsPath is the path of /metrics, linked from every page's
	// header; empty: no link.
	MetricsPath string
	// Site and Shard name this instance (--web.site-name and
	// --targets.shard) in every page's header and title; empty: none.
	Site, Shard string
}

// handler serves the pages.
type handler struct {
	src     api.Source
	hist    api.History
	now     func() time.Time
	prefix  string // ExternalURL's path, without the trailing slash
	base    string // ExternalURL without the trailing slash, or prefix
	metrics string // the metrics path to link, if any
	where   string // the site and shard, if any
	mux     *http.ServeMux
}

// New returns the pages' handler, to be mounted at "/". hist is nil when
// persistence is off (pass an untyped nil).
func New(src api.Source, hist api.History, opts Options) http.Handler {
	h := &handler{src: src, hist: hist, now: opts.Now, metrics: opts.MetricsPath, where: where(opts.Site, opts.Shard), mux: http.NewServeMux()}
	if h.now == nil {
		h.now = time.Now
	}
	if u, err := url.Parse(opts.ExternalURL); err == nil && opts.ExternalURL != "" {
		h.prefix = strings.TrimRight(u.Path, "/")
		h.base = strings.TrimRight(opts.ExternalURL, "/")
		if u.Host == "" {
			h.base = h.prefix
		}
	}
	h.mux.HandleFunc("/{$}", get(h.index))
	h.mux.HandleFunc("/targets/{name}", get(h.target))
	h.mux.HandleFunc("/targets/{name}/path.svg", get(h.pathSVG))
	h.mux.HandleFunc("/targets/{name}/changes/{file}", get(h.changeSVG))
	h.mux.HandleFunc("/", get(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, http.StatusNotFound, "No such page: "+r.URL.Path)
	}))
	return h
}

// ServeHTTP implements http.Handler, stripping the external URL's path.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.prefix != "" {
		if r.URL.Path == h.prefix {
			http.Redirect(w, r, h.prefix+"/", http.StatusFound)
			return
		}
		if strings.HasPrefix(r.URL.Path, h.prefix+"/") {
			http.StripPrefix(h.prefix, h.mux).ServeHTTP(w, r)
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// get answers every method but GET and HEAD with 405.
func get(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method "+r.Method+" not allowed", http.StatusMethodNotAllowed)
			return
		}
		f(w, r)
	}
}

// targetPath is the path of a target's page under the prefix.
func (h *handler) targetPath(name string) string {
	return h.prefix + "/targets/" + url.PathEscape(name)
}

// targetURL is the full URL of a target's page when the external URL is
// known, else its path.
func (h *handler) targetURL(name string) string {
	return h.base + "/targets/" + url.PathEscape(name)
}

// securityHeaders forbid scripts and every external resource, and
// content sniffing.
func securityHeaders(w http.ResponseWriter, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'")
}

// page answers status with the named page.
func (h *handler) page(w http.ResponseWriter, status int, name, title string, body any) {
	out, err := renderPage(name, pageData{Title: title, Prefix: h.prefix, MetricsPath: h.metrics, Where: h.where, Body: body})
	if err != nil {
		http.Error(w, "cannot render the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	securityHeaders(w, "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(out)
}

// fail answers status with an error page saying msg.
func (h *handler) fail(w http.ResponseWriter, status int, msg string) {
	h.page(w, status, "error.html", http.StatusText(status), struct {
		Status  int
		Text    string
		Message string
	}{status, http.StatusText(status), msg})
}

// svg answers with s as a standalone SVG document.
func (h *handler) svg(w http.ResponseWriter, s spec, cache string) {
	var b strings.Builder
	if err := writeSVG(&b, s, true); err != nil {
		h.fail(w, http.StatusInternalServerError, "Cannot draw the diagram: "+err.Error())
		return
	}
	securityHeaders(w, "image/svg+xml")
	w.Header().Set("Cache-Control", cache)
	w.Write([]byte(b.String()))
}

// where names the site and shard for the pages' header.
func where(site, shard string) string {
	var parts []string
	if site != "" {
		parts = append(parts, "site "+site)
	}
	if shard != "" {
		parts = append(parts, "shard "+shard)
	}
	return strings.Join(parts, ", ")
}
