package bgp

import (
	"net/netip"

	"github.com/osrg/gobgp/v4/pkg/apiutil"
	gbgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// fromPath converts a best path of gobgp's: its prefix, and its route
// (nil for a withdrawal). ok is false for a path that is not IPv4 or
// IPv6 unicast.
func fromPath(p *apiutil.Path) (prefix netip.Prefix, r *Route, ok bool) {
	if p == nil || (p.Family != gbgp.RF_IPv4_UC && p.Family != gbgp.RF_IPv6_UC) {
		return netip.Prefix{}, nil, false
	}
	n, isPrefix := p.Nlri.(*gbgp.IPAddrPrefix)
	if !isPrefix || !n.Prefix.IsValid() {
		return netip.Prefix{}, nil, false
	}
	prefix = n.Prefix.Masked()
	if p.Withdrawal {
		return prefix, nil, true
	}
	r = &Route{Prefix: prefix, Neighbor: p.PeerAddress, ASPath: []uint32{}}
	for _, a := range p.Attrs {
		switch a := a.(type) {
		case *gbgp.PathAttributeAsPath:
			for _, seg := range a.Value {
				r.ASPath = append(r.ASPath, seg.GetAS()...)
			}
		case *gbgp.PathAttributeNextHop:
			r.NextHop = a.Value
		case *gbgp.PathAttributeMpReachNLRI:
			if a.Nexthop.IsValid() && !a.Nexthop.IsUnspecified() {
				r.NextHop = a.Nexthop
			} else if a.LinkLocalNexthop.IsValid() {
				r.NextHop = a.LinkLocalNexthop
			}
		}
	}
	return prefix, r, true
}
