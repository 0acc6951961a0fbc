package collector

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// WebInfo returns traceroute_exporter_web_info: 1, with the exporter's
// --web.external-url (without a trailing slash; empty when unset) as the
// external_url label, so alert templates can link to the exporter's pages
// under the URL users reach it by.
func WebInfo(externalURL string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   namespace,
		Name:        "exporter_web_info",
		Help:        "The exporter's external URL (--web.external-url), for links to its pages (value 1).",
		ConstLabels: prometheus.Labels{"external_url": strings.TrimRight(externalURL, "/")},
	})
	g.Set(1)
	return g
}
