package web

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// TestTargetPageShowsBGP: a path change shows the BGP update that went
// with it, one without says none did, and a routing-only event is
// marked as such.
func TestTargetPageShowsBGP(t *testing.T) {
	m := history.NewMemory(history.DefaultOptions())
	route := &history.BGPRoute{Prefix: netip.MustParsePrefix("1.1.1.0/24"), ASPath: []uint32{64501, 13335}, NextHop: netip.MustParseAddr("192.0.2.1")}
	explained := change()
	explained.Kind, explained.BGPChecked = history.KindPath, true
	explained.BGP = []history.BGPChange{{Time: explained.Time.Add(-20 * time.Second), Before: route}}
	unexplained := change()
	unexplained.Time, unexplained.Kind, unexplained.BGPChecked = unexplained.Time.Add(time.Minute), history.KindPath, true
	routing := change()
	routing.Time, routing.Kind, routing.BGPChecked, routing.Verdict = routing.Time.Add(2*time.Minute), history.KindRouting, true, history.Neutral
	routing.After, routing.DiffTTLs = routing.Before, nil
	routing.BGP = []history.BGPChange{{Time: routing.Time, After: route}}
	for _, c := range []history.Change{explained, unexplained, routing} {
		if _, err := m.AddChange(c); err != nil {
			t.Fatal(err)
		}
	}
	_, body := fetch(t, serve(t, m, ""), "GET", "/targets/cloudflare-dns")
	for _, want := range []string{
		"BGP: 12:09:40 withdrawn 1.1.1.0/24 AS path 64501 13335 via 192.0.2.1",
		"BGP: no BGP change of the route to the target explains it",
		"Routing change 3</a>", "The BGP route to the target changed; the traced path did not.",
		"BGP: 12:12:00 announced 1.1.1.0/24 AS path 64501 13335 via 192.0.2.1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
