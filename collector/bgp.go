package collector

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// BGPSession is one BGP neighbor's session as the collector sees it.
type BGPSession struct {
	// Neighbor is the neighbor's address.
	Neighbor string
	// Up tells whether the session is established.
	Up bool
	// Received counts the routes received from the neighbor and kept,
	// by address family ("ipv4", "ipv6").
	Received map[string]uint64
}

var (
	bgpSessionUp = prometheus.NewDesc(namespace+"_bgp_session_up",
		"Whether the BGP session with the neighbor is established (1) or not (0).", []string{"neighbor"}, nil)
	bgpRoutesReceived = prometheus.NewDesc(namespace+"_bgp_routes_received",
		"Routes received from the BGP neighbor and kept, by address family (ipv4, ipv6).", []string{"neighbor", "afi"}, nil)
)

// bgpCollector exports the BGP sessions; one series per configured
// neighbor (and address family).
type bgpCollector struct{ sessions func() []BGPSession }

// BGPSessions returns a collector of the sessions f lists at scrape time
// (none while BGP is not configured).
func BGPSessions(f func() []BGPSession) prometheus.Collector { return bgpCollector{f} }

// Describe implements prometheus.Collector.
func (c bgpCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- bgpSessionUp
	ch <- bgpRoutesReceived
}

// Collect implements prometheus.Collector.
func (c bgpCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.sessions() {
		ch <- constMetric(bgpSessionUp, gauge, boolf(s.Up), []string{s.Neighbor})
		afis := make([]string, 0, len(s.Received))
		for afi := range s.Received {
			afis = append(afis, afi)
		}
		slices.Sort(afis)
		for _, afi := range afis {
			ch <- constMetric(bgpRoutesReceived, gauge, float64(s.Received[afi]), []string{s.Neighbor, afi})
		}
	}
}
