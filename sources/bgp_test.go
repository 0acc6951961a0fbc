package sources

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bgp"
	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// fakeRoutes is a table whose routes the test sets.
type fakeRoutes struct {
	mu sync.Mutex
	rs []bgp.Route
}

func (f *fakeRoutes) Routes() []bgp.Route {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bgp.Route(nil), f.rs...)
}

func (f *fakeRoutes) set(rs ...bgp.Route) {
	f.mu.Lock()
	f.rs = rs
	f.mu.Unlock()
}

func rt(p string, path ...uint32) bgp.Route {
	return bgp.Route{Prefix: netip.MustParsePrefix(p), ASPath: path}
}

// all is a bgp source's configuration that passes every route but
// default routes, as the config package's defaults.
func all() config.BGPSD {
	return config.BGPSD{MinLengthV4: 1, MaxLengthV4: 32, MinLengthV6: 1, MaxLengthV6: 128, AddressOffset: 1, RefreshInterval: time.Minute}
}

func bgpHosts(items []Item) string {
	var s []string
	for _, it := range items {
		s = append(s, it.Host+"="+it.Labels[PrefixLabel])
	}
	return fmt.Sprint(s)
}

var bgpTable = []bgp.Route{
	rt("0.0.0.0/0", 64501),
	rt("198.18.0.0/16", 64501),
	rt("198.18.1.0/24", 64501, 64502),
	rt("198.18.1.128/25", 64501, 64502, 64503),
	rt("198.19.7.0/24", 64501, 64503),
	rt("198.19.9.9/32", 64501, 64504),
	rt("203.0.113.0/24", 64501, 64505),
	rt("::/0", 64501),
	rt("2001:db8::/32", 64501),
	rt("2001:db8:1::/48", 64501, 64502),
	rt("2001:db8:2::/64", 64501, 64503),
	rt("2001:db8:3::1/128", 64501, 64503),
}

func TestBGPItemsFilters(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(c *config.BGPSD)
		family string
		want   string
	}{
		{"all but default routes", func(*config.BGPSD) {}, "",
			"[198.18.0.1=198.18.0.0/16 198.18.1.1=198.18.1.0/24 198.18.1.129=198.18.1.128/25 198.19.7.1=198.19.7.0/24 198.19.9.9=198.19.9.9/32 203.0.113.1=203.0.113.0/24 " +
				"2001:db8::1=2001:db8::/32 2001:db8:1::1=2001:db8:1::/48 2001:db8:2::1=2001:db8:2::/64 2001:db8:3::1=2001:db8:3::1/128]"},
		{"default routes too", func(c *config.BGPSD) { c.MinLengthV4, c.MinLengthV6, c.MaxLengthV4, c.MaxLengthV6 = 0, 0, 0, 0 }, "",
			"[0.0.0.1=0.0.0.0/0 ::1=::/0]"},
		{"within prefix lists", func(c *config.BGPSD) {
			c.Prefixes = []netip.Prefix{netip.MustParsePrefix("198.18.1.0/24"), netip.MustParsePrefix("2001:db8:2::/48")}
		}, "", "[198.18.1.1=198.18.1.0/24 198.18.1.129=198.18.1.128/25 2001:db8:2::1=2001:db8:2::/64]"},
		{"a wider prefix is not within", func(c *config.BGPSD) {
			c.Prefixes = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/17")}
		}, "", "[198.18.1.1=198.18.1.0/24 198.18.1.129=198.18.1.128/25]"},
		{"as path regex", func(c *config.BGPSD) { c.ASPathRegex = regexp.MustCompile(`^64501 64502( |$)`) }, "",
			"[198.18.1.1=198.18.1.0/24 198.18.1.129=198.18.1.128/25 2001:db8:1::1=2001:db8:1::/48]"},
		{"origin as", func(c *config.BGPSD) { c.OriginAS = []uint32{64503, 64504} }, "",
			"[198.18.1.129=198.18.1.128/25 198.19.7.1=198.19.7.0/24 198.19.9.9=198.19.9.9/32 2001:db8:2::1=2001:db8:2::/64 2001:db8:3::1=2001:db8:3::1/128]"},
		{"length bounds per family", func(c *config.BGPSD) { c.MinLengthV4, c.MaxLengthV4, c.MinLengthV6, c.MaxLengthV6 = 24, 24, 33, 64 }, "",
			"[198.18.1.1=198.18.1.0/24 198.19.7.1=198.19.7.0/24 203.0.113.1=203.0.113.0/24 2001:db8:1::1=2001:db8:1::/48 2001:db8:2::1=2001:db8:2::/64]"},
		{"ip6 defaults", func(c *config.BGPSD) { c.OriginAS = []uint32{64503} }, "ip6",
			"[2001:db8:2::1=2001:db8:2::/64 2001:db8:3::1=2001:db8:3::1/128]"},
		{"ip4 defaults", func(c *config.BGPSD) { c.OriginAS = []uint32{64503} }, "ip4",
			"[198.18.1.129=198.18.1.128/25 198.19.7.1=198.19.7.0/24]"},
		{"all filters at once", func(c *config.BGPSD) {
			c.Prefixes = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}
			c.OriginAS = []uint32{64502, 64503}
			c.ASPathRegex = regexp.MustCompile(`^64501 64502`)
			c.MaxLengthV4 = 24
		}, "", "[198.18.1.1=198.18.1.0/24]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := all()
			tc.edit(&c)
			if got := bgpHosts(BGPItems(c, tc.family, bgpTable)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestRepresentative(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		offset uint32
		want   string
	}{
		{"198.18.1.0/24", 1, "198.18.1.1"},
		{"198.18.1.0/24", 0, "198.18.1.0"},
		{"198.18.1.0/24", 255, "198.18.1.255"},
		{"198.18.1.0/24", 256, "198.18.1.255"},   // outside: the last address
		{"198.18.0.0/15", 300, "198.18.1.44"},    // carries into the next byte
		{"198.18.1.7/24", 1, "198.18.1.1"},       // masked first
		{"198.18.1.128/25", 200, "198.18.1.255"}, // 128+200 carries out of the prefix
		{"198.18.1.9/32", 1, "198.18.1.9"},
		{"198.18.1.8/31", 1, "198.18.1.9"},
		{"198.18.1.8/31", 2, "198.18.1.9"},
		{"255.255.255.0/24", 4294967295, "255.255.255.255"}, // no wrap to IPv6
		{"2001:db8::/32", 1, "2001:db8::1"},
		{"2001:db8::/32", 65536, "2001:db8::1:0"},
		{"2001:db8:1::5/128", 1, "2001:db8:1::5"},
		{"2001:db8:1::4/127", 7, "2001:db8:1::5"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120", 4294967295, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	} {
		if got := Representative(netip.MustParsePrefix(tc.prefix), tc.offset); got.String() != tc.want {
			t.Errorf("Representative(%s, %d) = %s, want %s", tc.prefix, tc.offset, got, tc.want)
		}
	}
}

// TestBGPSourceFollowsTable drives refreshes by hand: an announcement
// adds a target, a withdrawal removes it.
func TestBGPSourceFollowsTable(t *testing.T) {
	f := &fakeRoutes{}
	f.set(rt("198.18.1.0/24", 64501), rt("198.18.2.0/24", 64501))
	tick := make(chan time.Time)
	reports := make(chan []Item)
	b := &BGP{Config: all(), Table: f, tick: func(time.Duration) (<-chan time.Time, func()) { return tick, func() {} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		b.Run(ctx, func(items []Item, err error) {
			if err != nil {
				t.Errorf("report error %v", err)
			}
			reports <- items
		})
		close(done)
	}()
	want := func(step, s string) {
		t.Helper()
		select {
		case items := <-reports:
			if got := bgpHosts(items); got != s {
				t.Fatalf("%s: got %s, want %s", step, got, s)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no report", step)
		}
	}
	want("start", "[198.18.1.1=198.18.1.0/24 198.18.2.1=198.18.2.0/24]")
	f.set(rt("198.18.1.0/24", 64501), rt("198.18.2.0/24", 64501), rt("2001:db8:5::/48", 64501))
	tick <- time.Now()
	want("announced", "[198.18.1.1=198.18.1.0/24 198.18.2.1=198.18.2.0/24 2001:db8:5::1=2001:db8:5::/48]")
	f.set(rt("198.18.2.0/24", 64501), rt("2001:db8:5::/48", 64501))
	tick <- time.Now()
	want("withdrawn", "[198.18.2.1=198.18.2.0/24 2001:db8:5::1=2001:db8:5::/48]")
	cancel()
	<-done
}

// TestBGPSourceReadsRealTable runs the source over a bgp.Table: the
// table satisfies Routes and a withdrawal there leaves the list.
func TestBGPSourceReadsRealTable(t *testing.T) {
	tb := bgp.NewTable()
	at := time.Unix(0, 0)
	tb.Update(netip.MustParsePrefix("198.18.1.0/24"), &bgp.Route{ASPath: []uint32{64501}}, at)
	tb.Update(netip.MustParsePrefix("198.18.3.0/24"), &bgp.Route{ASPath: []uint32{64501, 64503}}, at)
	c := all()
	c.OriginAS = []uint32{64501}
	if got := bgpHosts(BGPItems(c, "", tb.Routes())); got != "[198.18.1.1=198.18.1.0/24]" {
		t.Fatalf("got %s", got)
	}
	tb.Update(netip.MustParsePrefix("198.18.1.0/24"), nil, at)
	if got := BGPItems(c, "", tb.Routes()); len(got) != 0 {
		t.Fatalf("withdrawn prefix still listed: %s", bgpHosts(got))
	}
}

func TestBGPSourceWithoutTable(t *testing.T) {
	var got error
	(&BGP{Config: all()}).Run(context.Background(), func(_ []Item, err error) { got = err })
	if got != errNoTable {
		t.Fatalf("error %v, want %v", got, errNoTable)
	}
}

// TestBGPSourceTargets builds targets from a bgp source's items: name
// the address, the prefix and the source as labels, max_targets caps.
func TestBGPSourceTargets(t *testing.T) {
	c, err := config.Parse([]byte(`
bgp: {local_as: 64500, router_id: 198.18.0.1}
target_sources:
  - {name: routes, max_targets: 2, defaults: {labels: {team: net}}, bgp: {}}
`))
	if err != nil {
		t.Fatal(err)
	}
	src := c.Sources[0]
	items := BGPItems(*src.BGP, src.Family(), bgpTable)
	ts, dropped, err := Build(src, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || dropped != len(items)-2 {
		t.Fatalf("%d targets, %d dropped of %d", len(ts), dropped, len(items))
	}
	if ts[1].Name != "198.18.1.1" || ts[1].Host != "198.18.1.1" ||
		fmt.Sprint(ts[1].Labels) != "map[bgp_prefix:198.18.1.0/24 source:routes team:net]" {
		t.Errorf("target %+v", ts[1])
	}
}
