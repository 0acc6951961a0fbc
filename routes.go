package main

import (
	"fmt"
	"net/http"
)

// routes serves metrics, the JSON API, the pages, health, readiness and
// reload.
func routes(metrics http.Handler, metricsPath string, r *reloader, apiHandler, pagesHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", apiHandler)
	mux.Handle(metricsPath, metrics)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Ready") })
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
			return
		}
		if err := r.reload(); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Reloaded")
	})
	if metricsPath != "/" {
		// The pages: the targets table at "/", each target's path and
		// history under /targets/.
		mux.Handle("/", pagesHandler)
	}
	return mux
}
