package api

import "net/http"

// Status says which vantage point answers: /api/v1/status. Its field
// names are the JSON contract of the API.
type Status struct {
	// Site is --web.site-name; empty when unset.
	Site string `json:"site"`
	// Shard is --targets.shard ("I/N"); empty when every target is traced.
	Shard string `json:"shard"`
	// Targets is how many targets this instance traces.
	Targets int `json:"targets"`
	// TargetSources are the configured target sources.
	TargetSources []SourceStatus `json:"target_sources"`
}

// SourceStatus is one target source in Status.
type SourceStatus struct {
	Name string `json:"name"`
	// Targets is the length of its last good list.
	Targets int `json:"targets"`
	// Errors counts its failed refreshes.
	Errors float64 `json:"errors"`
}

// WithStatus serves /api/v1/status from status and everything else from
// next (the handler New returns).
func WithStatus(next http.Handler, status func() Status) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	mux.HandleFunc("/api/v1/status", get(func(w http.ResponseWriter, _ *http.Request) {
		s := status()
		if s.TargetSources == nil {
			s.TargetSources = []SourceStatus{}
		}
		writeJSON(w, http.StatusOK, s)
	}))
	return mux
}
