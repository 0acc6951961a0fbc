package sources

import (
	"net/netip"
	"slices"

	"github.com/traceroute-exporter/traceroute_exporter/bgp"
	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// PrefixLabel is the label a bgp source's targets carry their prefix in
// ("prefix" is taken by traceroute_bgp_route_info).
const PrefixLabel = "bgp_prefix"

// BGPItems lists one item per route that passes c's filters, in the
// routes' order: its host is Representative(prefix, c.AddressOffset) and
// its PrefixLabel label the prefix. family ("ip4", "ip6"; empty: both)
// leaves out the prefixes of the other family, which the source's
// defaults could not trace.
func BGPItems(c config.BGPSD, family string, routes []bgp.Route) []Item {
	var out []Item
	for i := range routes {
		r := &routes[i]
		if !BGPMatch(c, family, r) {
			continue
		}
		out = append(out, Item{
			Host:   Representative(r.Prefix, c.AddressOffset).String(),
			Labels: map[string]string{PrefixLabel: r.Prefix.String()},
		})
	}
	return out
}

// BGPMatch reports whether r passes every filter of c and is of family.
func BGPMatch(c config.BGPSD, family string, r *bgp.Route) bool {
	p := r.Prefix
	lo, hi := c.MinLengthV4, c.MaxLengthV4
	if p.Addr().Is6() {
		lo, hi = c.MinLengthV6, c.MaxLengthV6
		if family == "ip4" {
			return false
		}
	} else if family == "ip6" {
		return false
	}
	if p.Bits() < lo || p.Bits() > hi {
		return false
	}
	if len(c.Prefixes) > 0 && !slices.ContainsFunc(c.Prefixes, func(w netip.Prefix) bool { return within(p, w) }) {
		return false
	}
	if len(c.OriginAS) > 0 && !slices.Contains(c.OriginAS, r.Origin()) {
		return false
	}
	if c.ASPathRegex != nil && !c.ASPathRegex.MatchString(bgp.FormatASPath(r.ASPath)) {
		return false
	}
	return true
}

// within reports whether p equals w or is more specific inside it.
func within(p, w netip.Prefix) bool {
	return p.Addr().Is4() == w.Addr().Is4() && p.Bits() >= w.Bits() && w.Contains(p.Addr())
}

// Representative is the address a prefix is traced at: its address plus
// offset (1: the first host), the prefix's last address when the offset
// falls outside it; a /32 or /128 is its own address.
func Representative(p netip.Prefix, offset uint32) netip.Addr {
	p = p.Masked()
	a := p.Addr()
	if p.Bits() == a.BitLen() {
		return a
	}
	b := a.As16()
	carry := uint64(offset)
	for i := 15; i >= 0 && carry > 0; i-- {
		s := uint64(b[i]) + carry&0xff
		b[i] = byte(s)
		carry = carry>>8 + s>>8
	}
	r := netip.AddrFrom16(b)
	if a.Is4() {
		r = r.Unmap()
	}
	if carry > 0 || !p.Contains(r) {
		return last(p)
	}
	return r
}

// last is the last address of p.
func last(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
