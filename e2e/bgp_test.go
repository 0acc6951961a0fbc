package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// The BGP test checks issue 12 end to end. Its network routes over BGP,
// with bird2 in every router's namespace, each router its own AS:
//
//	src -1- r1 -2- r2 -3- r4 -7- dst          short route: AS 64501 64502 64504
//	        r1 -8- r5 -9- r6 -10- r4          long route:  AS 64501 64505 64506 64504
//
// Link n is 198.18.n.0/24 (lab.link); every router announces its
// connected networks, r4 also dst's 198.18.7.0/24. The exporter runs in
// src as AS 64500 and peers with r1 on port 1790 (passive: r1 connects).
// correlation_window is 10s and correlation_after 5s, so a routing-only
// change shows within a quarter of a minute.

// bgpRouters are the routers with their AS numbers and BGP neighbors
// (link numbers: the neighbor is the link's other side).
var bgpRouters = []struct {
	name  string
	as    int
	links []int
}{
	{"r1", 64501, []int{2, 8}},
	{"r2", 64502, []int{2, 3}},
	{"r4", 64504, []int{3, 10}},
	{"r5", 64505, []int{8, 9}},
	{"r6", 64506, []int{9, 10}},
}

// bgpLinks are the links: number and the nodes on the .1 and .2 sides.
var bgpLinks = []struct {
	n    int
	a, b string
}{{1, "src", "r1"}, {2, "r1", "r2"}, {3, "r2", "r4"}, {7, "r4", "dst"}, {8, "r1", "r5"}, {9, "r5", "r6"}, {10, "r6", "r4"}}

// bgpLinkASN is the AS of each link's .2 side (dst is in r4's AS).
var bgpLinkASN = map[int]int{1: 64501, 2: 64502, 3: 64504, 7: 64504, 8: 64505, 9: 64506, 10: 64504}

// bgpLab is the BGP test network and the directory of its bird files.
type bgpLab struct {
	*lab
	dir string
}

func newBGPLab(t *testing.T) *bgpLab {
	requireLab(t)
	testenv.Tool(t, "bird")
	testenv.Tool(t, "birdc")
	l := &bgpLab{lab: newLab(t, false), dir: t.TempDir()}
	for _, n := range []string{"src", "r1", "r2", "r4", "r5", "r6", "dst"} {
		l.addNode(n)
	}
	for _, k := range bgpLinks {
		l.link(k.n, k.a, k.b)
	}
	l.in("src", "ip", "route", "add", "default", "via", "198.18.1.2")
	l.in("dst", "ip", "route", "add", "default", "via", "198.18.7.1")
	for _, r := range bgpRouters {
		l.writeBird(r.name, "")
		pid := filepath.Join(l.dir, r.name+".pid")
		l.in(r.name, "bird", "-c", l.conf(r.name), "-s", l.sock(r.name), "-P", pid)
		t.Cleanup(func() { // before the namespaces go (cleanups run last first)
			if b, err := os.ReadFile(pid); err == nil {
				if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					if proc, err := os.FindProcess(p); err == nil {
						proc.Kill()
					}
				}
			}
		})
	}
	return l
}

func (l *bgpLab) conf(r string) string { return filepath.Join(l.dir, r+".conf") }
func (l *bgpLab) sock(r string) string { return filepath.Join(l.dir, r+".ctl") }

// writeBird writes router r's bird configuration; extra goes into the
// export filter of every session of r (e.g. to forge the AS path).
func (l *bgpLab) writeBird(r, extra string) {
	var as int
	var links []int
	for _, x := range bgpRouters {
		if x.name == r {
			as, links = x.as, x.links
		}
	}
	var b strings.Builder
	// The router ID is the address on its first link's own side.
	fmt.Fprintf(&b, "router id %s;\nprotocol device { scan time 1; }\n", bgpSelf(r, links[0]))
	b.WriteString("protocol direct { ipv4; }\n")
	b.WriteString("protocol kernel { ipv4 { import none; export filter { if source = RTS_DEVICE then reject; accept; }; }; }\n")
	fmt.Fprintf(&b, "filter out_%s { %s accept; }\n", r, extra)
	for _, n := range links {
		peer, peerAS := bgpPeer(r, n)
		fmt.Fprintf(&b, "protocol bgp l%d { local %s as %d; neighbor %s as %d; connect delay time 1; connect retry time 2; error wait time 1, 2;\n  ipv4 { import all; export filter out_%s; }; }\n",
			n, bgpSelf(r, n), as, peer, peerAS, r)
	}
	if r == "r1" { // the exporter, on its non-default port, with TCP MD5; and over IPv6
		b.WriteString("protocol bgp exporter { local 198.18.1.2 as 64501; neighbor 198.18.1.1 port 1790 as 64500; password \"lab-md5\"; connect delay time 1; connect retry time 2; error wait time 1, 2;\n  ipv4 { import none; export all; }; }\n")
		b.WriteString("protocol direct direct6 { ipv6; }\n")
		b.WriteString("protocol bgp exporter6 { local 2001:db8:1::2 as 64501; neighbor 2001:db8:1::1 port 1790 as 64500; connect delay time 1; connect retry time 2; error wait time 1, 2;\n  ipv6 { import none; export all; }; }\n")
	}
	if err := os.WriteFile(l.conf(r), []byte(b.String()), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// bgpSelf is r's address on link n; bgpPeer the other side's and its AS.
func bgpSelf(r string, n int) string {
	for _, k := range bgpLinks {
		if k.n == n && k.b == r {
			return fmt.Sprintf("198.18.%d.2", n)
		}
	}
	return fmt.Sprintf("198.18.%d.1", n)
}

func bgpPeer(r string, n int) (string, int) {
	for _, k := range bgpLinks {
		if k.n != n {
			continue
		}
		other, side := k.b, 2
		if k.b == r {
			other, side = k.a, 1
		}
		for _, x := range bgpRouters {
			if x.name == other {
				return fmt.Sprintf("198.18.%d.%d", n, side), x.as
			}
		}
	}
	panic(fmt.Sprintf("no link %d at %s", n, r))
}

// birdc runs a bird command on router r.
func (l *bgpLab) birdc(r string, args ...string) string {
	return l.in(r, append([]string{"birdc", "-s", l.sock(r)}, args...)...)
}

// waitRoute waits until r's kernel routes prefix via gw.
func (l *bgpLab) waitRoute(r, prefix, gw string) {
	l.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := l.in(r, "ip", "route", "show", prefix)
		if strings.Contains(out, "via "+gw+" ") {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%s: no route to %s via %s in 30s: %q\n%s", r, prefix, gw, out, l.birdc(r, "show", "protocols"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeBGPASNDatabase maps each link's /24 to bgpLinkASN.
func writeBGPASNDatabase(t *testing.T) string {
	var b strings.Builder
	b.WriteString("range_start\trange_end\tAS_number\tcountry_code\tAS_description\n")
	for n, as := range bgpLinkASN {
		fmt.Fprintf(&b, "198.18.%d.0\t198.18.%d.255\t%d\tZZ\tLAB-AS%d\n", n, n, as, as)
	}
	path := filepath.Join(t.TempDir(), "asn.tsv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const bgpExporterConfig = `
targets:
  - name: dst4
    host: 198.18.7.2
    interval: 1s
    probes: 5
    timeout: 500ms
    max_hops: 10
bgp:
  local_as: 64500
  router_id: 198.18.1.1
  listen_port: 1790
  correlation_window: 10s
  correlation_after: 5s
  neighbors:
    - address: 198.18.1.2
      peer_as: 64501
      passive: true
      password: lab-md5
`

// bgpIPv6Neighbor is the exporter's IPv6 session with r1, added and
// removed by reloads.
const bgpIPv6Neighbor = `
    - address: 2001:db8:1::2
      peer_as: 64501
      passive: true
`

// bgpAPIChange is what the test reads of a change in the JSON API.
type bgpAPIChange struct {
	ID      uint64 `json:"id"`
	Kind    string `json:"kind"`
	Verdict string `json:"verdict"`
	Before  struct {
		Hops   int  `json:"hops"`
		BGPLen *int `json:"bgp_as_path_length"`
	} `json:"before"`
	After struct {
		Hops   int  `json:"hops"`
		BGPLen *int `json:"bgp_as_path_length"`
	} `json:"after"`
	BGPChecked bool `json:"bgp_checked"`
	BGP        []struct {
		Before *struct {
			Prefix string   `json:"prefix"`
			ASPath []uint32 `json:"as_path"`
		} `json:"before"`
		After *struct {
			Prefix string   `json:"prefix"`
			ASPath []uint32 `json:"as_path"`
		} `json:"after"`
		Description string `json:"description"`
	} `json:"bgp"`
}

func (e *exporter) changes(t *testing.T, target string) []bgpAPIChange {
	t.Helper()
	resp, err := e.client.Get("http://" + e.addr + "/api/v1/targets/" + target + "/changes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Changes []bgpAPIChange `json:"changes"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("changes: %v\n%s", err, b)
	}
	return out.Changes
}

func lenOf(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// TestBGPCorrelation: the exporter peers with r1 over BGP; withdrawing
// the destination's prefix on the short route (r2 shuts its session to
// r4) moves the traffic to the long route: one path change carrying the
// BGP update, with the BGP AS path 3 -> 4, verdict worse, route changes
// 1. r6 prepending its AS twice moves no traffic: a routing-only event
// (BGP AS path 4 -> 6), no mismatch (prepends collapse). Forging the
// origin AS on the long route (r6 replaces the AS path) moves no traffic
// either: traceroute_as_path_mismatch 1 and another routing-only event.
// Reloads add and remove an IPv6 session without touching the IPv4 one.
// r1 shutting the session down and back up: the session recovers and
// probing never notices.
func TestBGPCorrelation(t *testing.T) {
	l := newBGPLab(t)
	l.waitRoute("r1", "198.18.7.0/24", "198.18.2.2")
	l.waitRoute("r4", "198.18.1.0/24", "198.18.3.1") // the way back
	for i := 0; i < 20 && runIn(l.name("src"), "ping", "-c", "1", "-W", "1", "198.18.7.2") != nil; i++ {
	}
	e := startExporter(t, l.name("src"), 10188, bgpExporterConfig, "--asn.database="+writeBGPASNDatabase(t))
	tg := map[string]string{"target": "dst4"}
	nb := map[string]string{"neighbor": "198.18.1.2"}

	m := e.waitFor(30*time.Second, "session up, the short route, 4 hops, no mismatch", func(m metrics) bool {
		up, _ := m.get("traceroute_bgp_session_up", nb)
		info, _ := m.get("traceroute_bgp_route_info", map[string]string{"target": "dst4", "prefix": "198.18.7.0/24", "as_path": "64501 64502 64504", "next_hop": "198.18.1.2"})
		hops, _ := m.get("traceroute_hops", tg)
		mm, known := m.get("traceroute_as_path_mismatch", tg)
		return up == 1 && info == 1 && hops == 4 && known && mm == 0
	})
	if v := m.value(t, "traceroute_bgp_route_changes_total", tg); v != 0 {
		t.Errorf("route changes before any change: %v, want 0 (the first route is learnt, not a change)", v)
	}
	if v := m.value(t, "traceroute_bgp_routes_received", map[string]string{"neighbor": "198.18.1.2", "afi": "ipv4"}); v < 7 {
		t.Errorf("routes received %v, want r1's 7 networks at least", v)
	}
	if out := l.birdc("r1", "show", "route", "protocol", "exporter"); strings.Contains(out, "198.18.") {
		t.Errorf("the exporter announced routes to r1:\n%s", out)
	}
	if v := m.value(t, "traceroute_bgp_as_path_length", tg); v != 3 {
		t.Errorf("BGP AS path length %v, want 3", v)
	}

	// Withdraw the prefix on the short route.
	l.birdc("r2", "disable", "l3")
	m = e.waitFor(30*time.Second, "the long route: 5 hops, one path change, BGP AS path 4", func(m metrics) bool {
		hops, _ := m.get("traceroute_hops", tg)
		pc, _ := m.get("traceroute_path_changes_total", tg)
		bl, _ := m.get("traceroute_bgp_as_path_length", tg)
		deg, _ := m.get("traceroute_path_degradations_total", tg)
		return hops == 5 && pc == 1 && bl == 4 && deg == 1
	})
	if v := m.value(t, "traceroute_bgp_route_changes_total", tg); v != 1 {
		t.Errorf("route changes after the withdrawal: %v, want 1", v)
	}
	if v, _ := m.get("traceroute_path_last_change_info", map[string]string{"target": "dst4", "verdict": "worse"}); v != 1 ||
		!strings.Contains(lastChangeBGP(m), "198.18.7.0/24 AS path 64501 64502 64504 via 198.18.1.2 -> 198.18.7.0/24 AS path 64501 64505 64506 64504") {
		t.Errorf("path_last_change_info: worse %v, bgp %q", v, lastChangeBGP(m))
	}
	cs := e.changes(t, "dst4")
	if len(cs) != 1 {
		t.Fatalf("%d change events after the withdrawal, want 1: %+v", len(cs), cs)
	}
	c := cs[0]
	if c.Kind != "path" || c.Verdict != "worse" || c.Before.Hops != 4 || c.After.Hops != 5 || !c.BGPChecked || len(c.BGP) != 1 ||
		lenOf(c.Before.BGPLen) != 3 || lenOf(c.After.BGPLen) != 4 {
		t.Fatalf("path change %+v", c)
	}
	if b := c.BGP[0]; b.Before == nil || b.After == nil || len(b.Before.ASPath) != 3 || len(b.After.ASPath) != 4 {
		t.Errorf("BGP update of the change: %+v", b)
	}

	// r6 prepends its AS twice: the route changes, the traffic does not.
	l.writeBird("r6", `if net = 198.18.7.0/24 then { bgp_path.prepend(64506); bgp_path.prepend(64506); }`)
	l.birdc("r6", "configure")
	m = e.waitFor(20*time.Second, "the prepended route", func(m metrics) bool {
		bl, _ := m.get("traceroute_bgp_as_path_length", tg)
		return bl == 6
	})
	if v := m.value(t, "traceroute_as_path_mismatch", tg); v != 0 {
		t.Errorf("mismatch %v after prepends, want 0", v)
	}
	e.waitFor(30*time.Second, "a routing-only event", func(metrics) bool {
		cs = e.changes(t, "dst4")
		return len(cs) == 2
	})
	if r := cs[0]; r.Kind != "routing" || r.Verdict != "neutral" || r.Before.Hops != 5 || r.After.Hops != 5 || len(r.BGP) != 1 ||
		lenOf(r.Before.BGPLen) != 4 || lenOf(r.After.BGPLen) != 6 {
		t.Errorf("routing-only event after the prepends %+v", r)
	}

	// Forge the origin on the long route: r6 sends 198.18.7.0/24 as if
	// AS 64666 originated it. Forwarding does not change.
	l.writeBird("r6", `if net = 198.18.7.0/24 then { bgp_path.empty; bgp_path.prepend(64666); }`)
	l.birdc("r6", "configure")
	m = e.waitFor(20*time.Second, "the forged route and the mismatch", func(m metrics) bool {
		mm, _ := m.get("traceroute_as_path_mismatch", tg)
		info, _ := m.get("traceroute_bgp_route_info", map[string]string{"target": "dst4", "as_path": "64501 64505 64506 64666"})
		return mm == 1 && info == 1
	})
	if v := m.value(t, "traceroute_bgp_route_changes_total", tg); v != 3 {
		t.Errorf("route changes after the forged origin: %v, want 3", v)
	}
	e.waitFor(30*time.Second, "a second routing-only event", func(metrics) bool {
		cs = e.changes(t, "dst4")
		return len(cs) == 3
	})
	r := cs[0]
	if r.Kind != "routing" || r.Verdict != "neutral" || r.Before.Hops != 5 || r.After.Hops != 5 || len(r.BGP) != 1 || r.BGP[0].After == nil ||
		r.BGP[0].After.ASPath[len(r.BGP[0].After.ASPath)-1] != 64666 {
		t.Errorf("routing-only event %+v", r)
	}
	m = e.scrape()
	if v := m.value(t, "traceroute_path_changes_total", tg); v != 1 {
		t.Errorf("path changes after the forged origin: %v, want 1", v)
	}

	// A reload adds an IPv6 session (IPv6 unicast routes) without
	// touching the IPv4 one; a bad reload keeps it; another removes it.
	since := protocolSince(t, l.birdc("r1", "show", "protocols", "exporter"))
	writeConfig := func(c string) {
		if err := os.WriteFile(e.config, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(bgpExporterConfig + bgpIPv6Neighbor)
	if code, body := e.post("/-/reload"); code != 200 {
		t.Fatalf("reload adding the IPv6 neighbor: %d %s", code, body)
	}
	nb6 := map[string]string{"neighbor": "2001:db8:1::2"}
	e.waitFor(20*time.Second, "the IPv6 session up with IPv6 routes", func(m metrics) bool {
		up, _ := m.get("traceroute_bgp_session_up", nb6)
		n, _ := m.get("traceroute_bgp_routes_received", map[string]string{"neighbor": "2001:db8:1::2", "afi": "ipv6"})
		return up == 1 && n >= 3
	})
	writeConfig(strings.Replace(bgpExporterConfig, "peer_as: 64501", "peer_as: 0", 1))
	if code, body := e.post("/-/reload"); code != 500 || !strings.Contains(body, "bgp: neighbors[0] (198.18.1.2): peer_as: 0 is out of range") {
		t.Errorf("bad reload: %d %s", code, body)
	}
	writeConfig(bgpExporterConfig)
	if code, body := e.post("/-/reload"); code != 200 {
		t.Fatalf("reload removing the IPv6 neighbor: %d %s", code, body)
	}
	m = e.waitFor(10*time.Second, "the IPv6 neighbor gone", func(m metrics) bool {
		_, ok := m.get("traceroute_bgp_session_up", nb6)
		up, _ := m.get("traceroute_bgp_session_up", nb)
		return !ok && up == 1
	})
	if now := protocolSince(t, l.birdc("r1", "show", "protocols", "exporter")); !sameSince(t, now, since) {
		t.Errorf("the IPv4 session was reset by the reloads: up since %s, before since %s", now, since)
	}

	// A listener that cannot be opened (an address the host does not
	// have): the speaker comes back with its previous settings.
	writeConfig(strings.Replace(bgpExporterConfig, "listen_port: 1790", "listen_port: 1790\n  listen_address: 198.18.99.99", 1))
	e.post("/-/reload")
	writeConfig(bgpExporterConfig)
	e.waitFor(20*time.Second, "the speaker back with its previous settings", func(m metrics) bool {
		up, _ := m.get("traceroute_bgp_session_up", nb)
		return up == 1 && strings.Contains(e.log.String(), "BGP speaker restarted with its previous settings")
	})

	// r1 shuts its session with the exporter down and back up.
	sent := m.value(t, "traceroute_probes_sent_total", tg)
	l.birdc("r1", "disable", "exporter")
	e.waitFor(10*time.Second, "the session down", func(m metrics) bool {
		up, _ := m.get("traceroute_bgp_session_up", nb)
		present, _ := m.get("traceroute_bgp_route_present", tg)
		return up == 0 && present == 0
	})
	l.birdc("r1", "enable", "exporter")
	m = e.waitFor(20*time.Second, "the session up again with the route", func(m metrics) bool {
		up, _ := m.get("traceroute_bgp_session_up", nb)
		present, _ := m.get("traceroute_bgp_route_present", tg)
		return up == 1 && present == 1
	})
	if v := m.value(t, "traceroute_path_changes_total", tg); v != 1 {
		t.Errorf("path changes after the session flap: %v, want 1 (probing must not notice)", v)
	}
	if v := m.value(t, "traceroute_destination_reached", tg); v != 1 {
		t.Errorf("destination reached %v after the session flap", v)
	}
	if v := m.value(t, "traceroute_probes_sent_total", tg); v <= sent {
		t.Errorf("probes sent %v, not above %v: probing stopped", v, sent)
	}
	if !strings.Contains(e.log.String(), "BGP session down") {
		t.Errorf("the session going down was not logged")
	}
}

// lastChangeBGP is the bgp label of dst4's traceroute_path_last_change_info.
func lastChangeBGP(m metrics) string {
	for _, s := range m["traceroute_path_last_change_info"].GetMetric() {
		if l := labels(s); l["target"] == "dst4" {
			return l["bgp"]
		}
	}
	return ""
}

// protocolSince is the Since column of a bird protocol's line: when it
// last changed state.
// sameSince reports whether two of bird's "since" times (15:04:05.000) are
// the same moment: bird derives them from the session's age, so the same
// session reads a millisecond apart now and then (seen: .492 and .493),
// while a reset session is seconds younger.
func sameSince(t *testing.T, a, b string) bool {
	ta, err1 := time.Parse("15:04:05.000", a)
	tb, err2 := time.Parse("15:04:05.000", b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	d := ta.Sub(tb)
	return d > -100*time.Millisecond && d < 100*time.Millisecond
}

func protocolSince(t *testing.T, out string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 5 && strings.HasPrefix(f[0], "exporter") {
			return f[4]
		}
	}
	t.Fatalf("no exporter protocol in:\n%s", out)
	return ""
}
