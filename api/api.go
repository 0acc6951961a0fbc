// Package api is the exporter's JSON API: the current state of every
// target and, when persistence is on, its path history.
//
// [New] returns one http.Handler serving every endpoint under /api/v1/;
// main mounts it with mux.Handle("/api/v1/", api.New(...)) on the same
// mux, and so behind the same --web.config.file TLS and basic auth, as
// /metrics. The endpoints, all GET (and HEAD), all answering
// application/json:
//
//	/api/v1/targets                       {"targets": [Target...]}, without paths
//	/api/v1/targets/{name}                Target, with its current path
//	/api/v1/targets/{name}/paths          {"target": name, "paths": [...]}
//	/api/v1/targets/{name}/changes        {"target": name, "changes": [...]}, newest first
//	    ?since=<RFC 3339 time or Unix seconds>&limit=<1..1000, default 100>
//	/api/v1/status                        Status: site, shard, target sources (WithStatus)
//
// A name is one path segment, URL-escaped as needed (a "/" as %2F).
// Errors are {"error": "..."}: 404 for an unknown target or endpoint, 400
// for a bad since or limit, 405 (with Allow) for another method, 503 for
// paths and changes when history storage is disabled, 500 when the
// history store fails.
//
// The package reads state only through its own interfaces, [Source] and
// [History], which main adapts; it imports none of the probing packages.
// Path ids and path hashes are formatted by [FormatHash].
package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// Limits of the changes endpoint's limit parameter.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// errHistoryDisabled is the answer of the history endpoints when the
// exporter runs without a store.
const errHistoryDisabled = "history storage is disabled (--storage.path is empty)"

// handler serves the API.
type handler struct {
	src    Source
	hist   History
	logger log.Logger
	mux    *http.ServeMux
}

// New returns the API's handler, to be mounted at "/api/v1/". hist is nil
// when persistence is off (pass an untyped nil, not a nil *history.Bolt);
// logger gets the history store's errors and may be nil.
func New(src Source, hist History, logger log.Logger) http.Handler {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	h := &handler{src: src, hist: hist, logger: logger, mux: http.NewServeMux()}
	h.mux.HandleFunc("/api/v1/targets", get(h.targets))
	h.mux.HandleFunc("/api/v1/targets/{name}", get(h.target))
	h.mux.HandleFunc("/api/v1/targets/{name}/paths", get(h.paths))
	h.mux.HandleFunc("/api/v1/targets/{name}/changes", get(h.changes))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint %q", r.URL.Path))
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// get answers every method but GET and HEAD with 405.
func get(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
			return
		}
		f(w, r)
	}
}

// targets serves /api/v1/targets.
func (h *handler) targets(w http.ResponseWriter, _ *http.Request) {
	all := h.src.Targets()
	out := make([]Target, 0, len(all))
	for _, t := range all {
		out = append(out, viewTarget(t, false))
	}
	writeJSON(w, http.StatusOK, struct {
		Targets []Target `json:"targets"`
	}{out})
}

// target serves /api/v1/targets/{name}.
func (h *handler) target(w http.ResponseWriter, r *http.Request) {
	t, ok := h.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, viewTarget(t, true))
}

// lookup returns the target named in r's path, or answers 404 and
// returns false.
func (h *handler) lookup(w http.ResponseWriter, r *http.Request) (Target, bool) {
	name := r.PathValue("name")
	t, ok := h.src.Target(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown target %q", name))
	}
	return t, ok
}

// historyFor returns the target named in r's path when it is known and
// history is on; otherwise it answers and returns false.
func (h *handler) historyFor(w http.ResponseWriter, r *http.Request) (string, bool) {
	t, ok := h.lookup(w, r)
	if !ok {
		return "", false
	}
	if h.hist == nil {
		writeError(w, http.StatusServiceUnavailable, errHistoryDisabled)
		return "", false
	}
	return t.Name, true
}

// storeError answers 500 with err and logs it.
func (h *handler) storeError(w http.ResponseWriter, r *http.Request, err error) {
	level.Error(h.logger).Log("msg", "Cannot read path history", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, err.Error())
}

// paths serves /api/v1/targets/{name}/paths.
func (h *handler) paths(w http.ResponseWriter, r *http.Request) {
	name, ok := h.historyFor(w, r)
	if !ok {
		return
	}
	paths, err := h.hist.Paths(name)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	out := make([]pathView, 0, len(paths))
	for _, p := range paths {
		out = append(out, viewPath(p))
	}
	writeJSON(w, http.StatusOK, struct {
		Target string     `json:"target"`
		Paths  []pathView `json:"paths"`
	}{name, out})
}

// changes serves /api/v1/targets/{name}/changes.
func (h *handler) changes(w http.ResponseWriter, r *http.Request) {
	name, ok := h.historyFor(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	since, err := parseSince(q.Get("since"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	changes, err := h.hist.Changes(name, since, limit)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	out := make([]changeView, 0, len(changes))
	for _, c := range changes {
		out = append(out, viewChange(c))
	}
	writeJSON(w, http.StatusOK, struct {
		Target  string       `json:"target"`
		Changes []changeView `json:"changes"`
	}{name, out})
}

// writeJSON answers status with v; if v does not encode, 500 instead.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		json.NewEncoder(&buf).Encode(errorBody{fmt.Sprintf("cannot encode the response: %v", err)})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers status with {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{msg})
}
