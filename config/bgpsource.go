package config

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"time"
)

// Defaults of a bgp target source.
const (
	// DefaultBGPSourceRefresh is how often a bgp source reads the table.
	DefaultBGPSourceRefresh = 30 * time.Second
	// DefaultBGPAddressOffset picks a prefix's first host.
	DefaultBGPAddressOffset = 1
	// DefaultBGPMinPrefixLength leaves default routes (length 0) out.
	DefaultBGPMinPrefixLength = 1
)

// BGPSD lists one address of every prefix the BGP speaker received (the
// top-level `bgp:` section) that passes all of its filters. An empty
// filter passes every prefix.
type BGPSD struct {
	// Prefixes: a prefix must lie within one of them (equal or more
	// specific).
	Prefixes []netip.Prefix
	// ASPathRegex must match the route's AS path written as
	// "64501 64502" (nearest AS first, origin last); RE2, unanchored.
	ASPathRegex *regexp.Regexp
	// OriginAS: the route's origin AS (last of its path) must be one of
	// them.
	OriginAS []uint32
	// MinLengthV4..MaxLengthV6 bound the prefix length, per family.
	MinLengthV4, MaxLengthV4 int
	MinLengthV6, MaxLengthV6 int
	// AddressOffset is added to a prefix's address to pick the target
	// (1: the first host); a /32 or /128 is its own address, and a
	// prefix too small for the offset gives its last address.
	AddressOffset uint32
	// RefreshInterval is how often the table is read.
	RefreshInterval time.Duration
}

type fileBGPSource struct {
	Prefixes          []string `yaml:"prefixes"`
	ASPathRegex       *string  `yaml:"as_path_regex"`
	OriginAS          []int64  `yaml:"origin_as"`
	MinPrefixLengthV4 *int     `yaml:"min_prefix_length_v4"`
	MaxPrefixLengthV4 *int     `yaml:"max_prefix_length_v4"`
	MinPrefixLengthV6 *int     `yaml:"min_prefix_length_v6"`
	MaxPrefixLengthV6 *int     `yaml:"max_prefix_length_v6"`
	AddressOffset     *int64   `yaml:"address_offset"`
	RefreshInterval   *string  `yaml:"refresh_interval"`
}

func buildBGPSource(f *fileBGPSource) (*BGPSD, error) {
	c := &BGPSD{AddressOffset: DefaultBGPAddressOffset}
	for i, s := range f.Prefixes {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("bgp: prefixes[%d]: %q is not a CIDR prefix", i, s)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("bgp: prefixes[%d]: %q has host bits set (use %s)", i, s, p.Masked())
		}
		c.Prefixes = append(c.Prefixes, p)
	}
	if f.ASPathRegex != nil {
		re, err := regexp.Compile(*f.ASPathRegex)
		if err != nil {
			return nil, fmt.Errorf("bgp: as_path_regex: %q: %w", *f.ASPathRegex, err)
		}
		c.ASPathRegex = re
	}
	for i, a := range f.OriginAS {
		if a < 1 || a > 4294967295 {
			return nil, fmt.Errorf("bgp: origin_as[%d]: %d is out of range 1..4294967295", i, a)
		}
		c.OriginAS = append(c.OriginAS, uint32(a))
	}
	var err error
	if c.MinLengthV4, c.MaxLengthV4, err = lengths("v4", f.MinPrefixLengthV4, f.MaxPrefixLengthV4, 32); err != nil {
		return nil, err
	}
	if c.MinLengthV6, c.MaxLengthV6, err = lengths("v6", f.MinPrefixLengthV6, f.MaxPrefixLengthV6, 128); err != nil {
		return nil, err
	}
	if f.AddressOffset != nil {
		if *f.AddressOffset < 0 || *f.AddressOffset > 4294967295 {
			return nil, fmt.Errorf("bgp: address_offset: %d is out of range 0..4294967295", *f.AddressOffset)
		}
		c.AddressOffset = uint32(*f.AddressOffset)
	}
	c.RefreshInterval, err = refresh("bgp: refresh_interval", f.RefreshInterval, DefaultBGPSourceRefresh)
	return c, err
}

// lengths validates one family's prefix length bounds.
func lengths(fam string, min, max *int, bits int) (int, int, error) {
	lo, hi := DefaultBGPMinPrefixLength, bits
	if min != nil {
		lo = *min
	}
	if max != nil {
		hi = *max
	}
	if lo < 0 || lo > bits {
		return 0, 0, fmt.Errorf("bgp: min_prefix_length_%s: %d is out of range 0..%d", fam, lo, bits)
	}
	if hi < 0 || hi > bits {
		return 0, 0, fmt.Errorf("bgp: max_prefix_length_%s: %d is out of range 0..%d", fam, hi, bits)
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("bgp: min_prefix_length_%s: %d is above max_prefix_length_%s %d", fam, lo, fam, hi)
	}
	return lo, hi, nil
}

// errBGPSourceWithoutSpeaker is the error of a bgp source in a file
// without the `bgp:` section that runs the speaker it reads.
var errBGPSourceWithoutSpeaker = errors.New("bgp: needs the top-level bgp: section (the BGP speaker whose received routes it lists)")
