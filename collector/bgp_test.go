package collector

import (
	"path/filepath"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/internal/metricstest"
)

func renderBGP(t *testing.T) []byte {
	t.Helper()
	return metricstest.Exposition(t, BGPSessions(func() []BGPSession {
		return []BGPSession{
			{Neighbor: "198.18.1.1", Up: true, Received: map[string]uint64{"ipv4": 12, "ipv6": 3}},
			{Neighbor: "2001:db8:1::1", Received: map[string]uint64{"ipv4": 0, "ipv6": 0}},
		}
	}))
}

func TestBGPSessionsGolden(t *testing.T) {
	got := renderBGP(t)
	metricstest.Golden(t, filepath.Join("testdata", "bgp.golden"), got, *update, "./collector")
	metricstest.Promtool(t, got)
}
