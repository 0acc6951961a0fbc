package main

import (
	"fmt"
	"net/http"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
)

// routes serves metrics, the JSON API, health, readiness, reload and the
// landing page.
func routes(reg *prometheus.Registry, metricsPath string, r *reloader, apiHandler http.Handler, logger log.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", apiHandler)
	mux.Handle(metricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
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
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "Traceroute Exporter",
			Description: "Traces the path to every configured target in the background and exports per-hop RTT, loss and path identity.",
			Version:     version.Info(),
			Links: []web.LandingLinks{
				{Address: metricsPath, Text: "Metrics"},
				{Address: "/api/v1/targets", Text: "Targets (JSON API)"},
				{Address: "/-/healthy", Text: "Health"},
			},
		})
		if err != nil {
			level.Error(logger).Log("msg", "Cannot build landing page", "err", err)
		} else {
			mux.Handle("/", landing)
		}
	}
	return mux
}
