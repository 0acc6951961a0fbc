package bgp

import (
	"net/netip"
	"testing"

	"github.com/osrg/gobgp/v4/pkg/apiutil"
	gbgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

func TestFromPath(t *testing.T) {
	v4, _ := gbgp.NewIPAddrPrefix(netip.MustParsePrefix("198.18.7.0/24"))
	v6, _ := gbgp.NewIPAddrPrefix(netip.MustParsePrefix("2001:db8:7::/48"))
	nh, _ := gbgp.NewPathAttributeNextHop(netip.MustParseAddr("198.18.1.1"))
	asPath := gbgp.NewPathAttributeAsPath([]gbgp.AsPathParamInterface{
		gbgp.NewAs4PathParam(gbgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{64501, 64502}),
		gbgp.NewAs4PathParam(gbgp.BGP_ASPATH_ATTR_TYPE_SET, []uint32{64504}),
	})
	mp, err := gbgp.NewPathAttributeMpReachNLRI(gbgp.RF_IPv6_UC, []gbgp.PathNLRI{{NLRI: v6}}, netip.MustParseAddr("2001:db8:1::1"))
	if err != nil {
		t.Fatal(err)
	}
	peer := netip.MustParseAddr("198.18.1.1")
	for _, c := range []struct {
		name   string
		path   *apiutil.Path
		prefix string
		route  string // "" for a withdrawal
		ok     bool
	}{
		{"ipv4", &apiutil.Path{Family: gbgp.RF_IPv4_UC, Nlri: v4, Attrs: []gbgp.PathAttributeInterface{asPath, nh}, PeerAddress: peer},
			"198.18.7.0/24", "64501 64502 64504 via 198.18.1.1", true},
		{"ipv6", &apiutil.Path{Family: gbgp.RF_IPv6_UC, Nlri: v6, Attrs: []gbgp.PathAttributeInterface{asPath, mp}, PeerAddress: peer},
			"2001:db8:7::/48", "64501 64502 64504 via 2001:db8:1::1", true},
		{"withdrawal", &apiutil.Path{Family: gbgp.RF_IPv4_UC, Nlri: v4, Withdrawal: true}, "198.18.7.0/24", "", true},
		{"other family", &apiutil.Path{Family: gbgp.RF_FS_IPv4_UC, Nlri: v4}, "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, r, ok := fromPath(c.path)
			if ok != c.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			got := ""
			if r != nil {
				got = FormatASPath(r.ASPath) + " via " + r.NextHop.String()
				if r.Neighbor != peer || r.Prefix != p {
					t.Errorf("route %+v", r)
				}
			}
			if p.String() != c.prefix || got != c.route {
				t.Errorf("got %s %q, want %s %q", p, got, c.prefix, c.route)
			}
		})
	}
}
