package collector

import (
	"flag"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/traceroute-exporter/traceroute_exporter/bgp"
	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/internal/metricstest"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// trace builds an interval towards dst in which each of the given rounds
// has TTL j+1 answered by hops[j]: an Echo Reply when it is dst, Time
// Exceeded from a router otherwise; an invalid address is silent. The RTT
// of TTL j+1 in round i is j+1 ms plus i*250 µs.
func trace(dst netip.Addr, end time.Time, rounds int, hops ...netip.Addr) tracer.Result {
	r := tracer.Result{Dst: dst, Start: end.Add(-10 * time.Second), End: end, Rounds: rounds}
	for i := 0; i < rounds; i++ {
		for j, h := range hops {
			p := tracer.Probe{Round: i, TTL: j + 1, ReplyTTL: -1}
			if h.IsValid() {
				p.Kind, p.From = tracer.KindTimeExceeded, h
				if h == dst {
					p.Kind = tracer.KindReached
				}
				p.RTT = time.Duration(j+1)*time.Millisecond + time.Duration(i)*250*time.Microsecond
			}
			r.Probes = append(r.Probes, p)
		}
	}
	return r
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

var silent netip.Addr

// fixture is four targets and the exporter's own counters:
//
//   - a: reached in 3 hops; in its second interval hop 2 moved to
//     198.18.3.2 in both rounds (one confirmed change), one of them
//     answered by 198.18.5.2 instead, and the look-ahead probe at TTL 4
//     reached the destination too (not a hop of the path);
//   - b: IPv6, reached in 3 hops behind a silent hop 2 (no hop_info);
//   - c: its name never resolved: counters only, no target_info;
//   - d: moved from 198.18.9.1 to 198.18.9.2 (one address change), then
//     traced to a path whose destination never answered (2 hops).
//
// aEvidence enriches target a: hop 1 in AS 64500 with a name, hop 2 in
// AS 64501 without, the destination unknown; one AS path change and one
// degradation.
var aEvidence = &enrich.Evidence{
	Hops:          []enrich.HopInfo{{Name: "r1.lab.example", ASN: 64500}, {ASN: 64501}, {}},
	ASPath:        []uint32{64500, 64501},
	ASPathHash:    12345,
	ASPathChanges: 1,
	Degradations:  1,
	LastChange: &enrich.ChangeSummary{ID: 7, Verdict: "worse", FromHops: 3, ToHops: 3,
		Before: "198.18.1.2 AS64500, 198.18.2.2 AS64501, 198.18.7.2 (3 hops, RTT 3.0 ms, loss 0%)",
		After:  "198.18.1.2 AS64500, 198.18.3.2 AS64501, 198.18.7.2 (3 hops, RTT 3.1 ms, loss 0%)",
		BGP:    "23:59:40 withdrawn 198.18.7.0/24 AS path 64501 64502 via 198.18.1.1"},
	BGP: &enrich.BGPView{Route: &bgp.Route{Prefix: netip.MustParsePrefix("198.18.7.0/24"), ASPath: []uint32{64501, 64666},
		NextHop: ip("198.18.1.1")}, Changes: 2, Mismatch: true, MismatchKnown: true},
}

// bEvidence is target b's: BGP configured, its route withdrawn after one
// change.
var bEvidence = &enrich.Evidence{ASPath: []uint32{}, BGP: &enrich.BGPView{Changes: 1}}

func fixture() Sources {
	dstA := ip("198.18.7.2")
	a := pathstate.NewState()
	a.SetAddress(dstA)
	a.Observe(trace(dstA, t0, 2, ip("198.18.1.2"), ip("198.18.2.2"), dstA))
	r := trace(dstA, t0.Add(10*time.Second), 2, ip("198.18.1.2"), ip("198.18.3.2"), dstA, dstA)
	r.Probes[5].From = ip("198.18.5.2") // round 1, TTL 2
	r.Probes[4].MPLS = "24001/0/1/254"  // round 1, TTL 1: a label stack in its extensions
	r.Probes[4].Interface = "ge-0/0/1"
	r.MTU = &tracer.MTUResult{Bytes: 1400, From: ip("198.18.1.2"), Probes: 2} // hop 1 said so
	a.Observe(r)

	dstB := ip("2001:db8:7::2")
	b := pathstate.NewState()
	b.SetAddress(dstB)
	b.Observe(trace(dstB, t0, 2, ip("2001:db8:1::2"), silent, dstB))

	c := pathstate.NewState()
	c.ResolveFailed()

	d := pathstate.NewState()
	d.SetAddress(ip("198.18.9.1"))
	d.SetAddress(ip("198.18.9.2"))
	rd := trace(ip("198.18.9.2"), t0, 2, ip("198.18.1.2"), ip("198.18.4.2"), silent)
	rd.Probes[1].Kind, rd.Probes[1].Code = tracer.KindDestUnreachable, 13 // administratively prohibited at hop 2
	rd.MTU = &tracer.MTUResult{Bytes: 1280, Probes: 20}                   // a black hole: no hop
	d.Observe(rd)

	return Sources{
		Targets: func() []Target {
			return []Target{
				{Name: "a", Labels: map[string]string{"site": "lab"}, Snapshot: a.Snapshot(), Evidence: aEvidence},
				{Name: "b", Snapshot: b.Snapshot(), Evidence: bEvidence},
				{Name: "c", Labels: map[string]string{"team": "net"}, Snapshot: c.Snapshot()},
				{Name: "d", Snapshot: d.Snapshot()},
			}
		},
		Stats: func() ExporterStats {
			return ExporterStats{Unmatched: 3, Late: 4, Malformed: 1, SendErrors: 2, SocketDrops: 5, HistoryErrors: 6, BadExtensions: 7, ProbesSkipped: 8, HopProbesSkipped: 9,
				ASNDatabase: true}
		},
		Reload: func() (bool, time.Time) { return true, t0.Add(-time.Minute) },
		Mode:   "raw",
	}
}

func render(t *testing.T, src Sources) []byte {
	t.Helper()
	return metricstest.Exposition(t, New(src))
}

func TestMetricsGolden(t *testing.T) {
	metricstest.Golden(t, filepath.Join("testdata", "metrics.golden"), render(t, fixture()), *update, "./collector")
}

func TestGoldenPassesPromtool(t *testing.T) {
	metricstest.Promtool(t, render(t, fixture()))
}

func TestVanishedHopsAndTargetsDisappear(t *testing.T) {
	dst := ip("198.18.7.2")
	s := pathstate.NewState()
	s.SetAddress(dst)
	s.Observe(trace(dst, t0, 2, ip("198.18.1.2"), ip("198.18.2.2"), ip("198.18.3.2"), dst))
	// The path shortens to 2 hops, seen in both rounds: a confirmed change.
	s.Observe(trace(dst, t0.Add(10*time.Second), 2, ip("198.18.1.2"), dst))
	if s.Snapshot().Path.Hops != 2 {
		t.Fatalf("fixture: path %v, want 2 hops", s.Snapshot().Path)
	}
	targets := []Target{{Name: "x", Snapshot: s.Snapshot()}}
	src := Sources{
		Targets: func() []Target { return targets },
		Stats:   func() ExporterStats { return ExporterStats{} },
		Reload:  func() (bool, time.Time) { return true, t0 },
	}
	out := string(render(t, src))
	for _, gone := range []string{`hop="3"`, `hop="4"`, "198.18.2.2", "198.18.3.2"} {
		if strings.Contains(out, gone) {
			t.Fatalf("%s left the path but is still exported:\n%s", gone, out)
		}
	}
	if !strings.Contains(out, `traceroute_hops{target="x"} 2`) {
		t.Fatalf("hop count of the shortened path not exported as 2:\n%s", out)
	}
	targets = nil
	out = string(render(t, src))
	if strings.Contains(out, `target="x"`) {
		t.Fatalf("removed target still exported:\n%s", out)
	}
}

func TestAddressChangeReplacesTargetInfo(t *testing.T) {
	old, next := ip("198.18.7.2"), ip("198.18.7.3")
	s := pathstate.NewState()
	s.SetAddress(old)
	s.Observe(trace(old, t0, 2, ip("198.18.1.2"), old))
	s.SetAddress(next)
	src := Sources{
		Targets: func() []Target { return []Target{{Name: "x", Snapshot: s.Snapshot()}} },
		Stats:   func() ExporterStats { return ExporterStats{} },
		Reload:  func() (bool, time.Time) { return true, t0 },
	}
	out := string(render(t, src))
	for _, want := range []string{
		`traceroute_target_info{address="198.18.7.3",target="x"} 1`,
		`traceroute_target_address_changes_total{target="x"} 1`,
		`traceroute_path_changes_total{target="x"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	// The old address's path is forgotten until the new one is traced.
	for _, gone := range []string{"198.18.7.2", "traceroute_hops", "traceroute_hop_info", "traceroute_path_hash"} {
		if strings.Contains(out, gone) {
			t.Errorf("%s still exported after the address changed", gone)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", out)
	}
}

// TestPerHopSeriesAgreeWithHops checks the one-hop-count rule on the
// fixture: a target with traceroute_hops N has hop_loss_ratio for exactly
// hops 1..N, at most one hop_info per hop (none for a silent one), no
// per-hop series beyond N, and one target_info exactly when it has an
// address.
func TestPerHopSeriesAgreeWithHops(t *testing.T) {
	src := fixture()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(New(src))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	label := func(m *dto.Metric, name string) string {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return l.GetValue()
			}
		}
		return ""
	}
	hops := map[string]int{}
	perHop := map[string]map[string][]string{} // family -> target -> hop labels
	info := map[string][]string{}              // target -> addresses
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			tg := label(m, "target")
			switch name := mf.GetName(); {
			case name == "traceroute_hops":
				hops[tg] = int(m.GetGauge().GetValue())
			case name == "traceroute_target_info":
				info[tg] = append(info[tg], label(m, "address"))
			case strings.HasPrefix(name, "traceroute_hop_"):
				if perHop[name] == nil {
					perHop[name] = map[string][]string{}
				}
				perHop[name][tg] = append(perHop[name][tg], label(m, "hop"))
			}
		}
	}
	want := map[string]struct {
		hops    int
		silent  []string // hops without hop_info
		address string
	}{
		"a": {3, nil, "198.18.7.2"},
		"b": {3, []string{"2"}, "2001:db8:7::2"},
		"c": {0, nil, ""},
		"d": {2, nil, "198.18.9.2"},
	}
	for _, tg := range src.Targets() {
		w := want[tg.Name]
		if hops[tg.Name] != w.hops {
			t.Errorf("%s: traceroute_hops %d, want %d", tg.Name, hops[tg.Name], w.hops)
		}
		var all []string
		for h := 1; h <= w.hops; h++ {
			all = append(all, strconv.Itoa(h))
		}
		if got := sorted(perHop["traceroute_hop_loss_ratio"][tg.Name]); !slices.Equal(got, all) {
			t.Errorf("%s: hop_loss_ratio for hops %v, want %v", tg.Name, got, all)
		}
		var responders []string
		for _, h := range all {
			if !slices.Contains(w.silent, h) {
				responders = append(responders, h)
			}
		}
		if got := sorted(perHop["traceroute_hop_info"][tg.Name]); !slices.Equal(got, responders) {
			t.Errorf("%s: hop_info for hops %v, want exactly one for each of %v", tg.Name, got, responders)
		}
		for family, byTarget := range perHop {
			for _, h := range byTarget[tg.Name] {
				if n, _ := strconv.Atoi(h); n < 1 || n > w.hops {
					t.Errorf("%s: %s for hop %s outside the path's %d hops", tg.Name, family, h, w.hops)
				}
			}
		}
		var wantInfo []string
		if w.address != "" {
			wantInfo = []string{w.address}
		}
		if got := info[tg.Name]; !slices.Equal(got, wantInfo) {
			t.Errorf("%s: target_info addresses %v, want %v", tg.Name, got, wantInfo)
		}
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	return out
}

func TestWebInfo(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(WebInfo("https://trace.example.net/tr/"))
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "traceroute_exporter_web_info" {
		t.Fatalf("gathered %v (%v), want traceroute_exporter_web_info", mfs, err)
	}
	m := mfs[0].GetMetric()[0]
	if l := m.GetLabel(); len(l) != 1 || l[0].GetValue() != "https://trace.example.net/tr" || m.GetGauge().GetValue() != 1 {
		t.Fatalf("web info %v, want external_url without the trailing slash, value 1", m)
	}
}

func TestFlowLabelWhenATargetHasSeveralFlows(t *testing.T) {
	dst := ip("198.18.7.2")
	one := pathstate.NewState()
	one.SetAddress(dst)
	one.Observe(trace(dst, t0, 2, ip("198.18.1.2"), dst))
	two := pathstate.NewState()
	two.SetAddress(dst)
	r := trace(dst, t0, 2, ip("198.18.1.2"), ip("198.18.3.2"), dst)
	other := trace(dst, t0, 2, ip("198.18.1.2"), ip("198.18.5.2"), dst)
	for _, p := range other.Probes {
		p.Flow = 1
		r.Probes = append(r.Probes, p)
	}
	r.Flows = 2
	two.Observe(r)
	out := string(render(t, Sources{
		Targets: func() []Target {
			return []Target{{Name: "one", Snapshot: one.Snapshot()}, {Name: "two", Snapshot: two.Snapshot()}}
		},
		Stats:  func() ExporterStats { return ExporterStats{} },
		Reload: func() (bool, time.Time) { return true, t0 },
	}))
	for _, want := range []string{
		`traceroute_hop_info{asn="",flow="0",hop="2",interface="",ip="198.18.3.2",mpls="",name="",target="two"} 1`,
		`traceroute_hop_info{asn="",flow="1",hop="2",interface="",ip="198.18.5.2",mpls="",name="",target="two"} 1`,
		`traceroute_hop_info{asn="",flow="0",hop="1",interface="",ip="198.18.1.2",mpls="",name="",target="one"} 1`,
		`traceroute_path_flows{target="two"} 2`,
		`traceroute_path_flows{target="one"} 1`,
		`traceroute_hops{target="two"} 3`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}
