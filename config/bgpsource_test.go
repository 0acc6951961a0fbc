package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBGPSourceParsed(t *testing.T) {
	c, err := Parse([]byte(`
bgp: {local_as: 64500, router_id: 198.18.0.1}
target_sources:
  - name: routes
    max_targets: 20
    bgp:
      prefixes: [198.18.0.0/15, 2001:db8::/32]
      as_path_regex: "^64501 "
      origin_as: [64502, 64503]
      max_prefix_length_v4: 24
      min_prefix_length_v6: 32
      max_prefix_length_v6: 48
      address_offset: 10
      refresh_interval: 5s
  - name: all
    bgp: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Sources[0].BGP
	if c.Sources[0].MaxTargets != 20 || len(b.Prefixes) != 2 || b.Prefixes[1] != netip.MustParsePrefix("2001:db8::/32") ||
		b.ASPathRegex.String() != "^64501 " || len(b.OriginAS) != 2 || b.OriginAS[1] != 64503 ||
		b.MinLengthV4 != 1 || b.MaxLengthV4 != 24 || b.MinLengthV6 != 32 || b.MaxLengthV6 != 48 ||
		b.AddressOffset != 10 || b.RefreshInterval != 5*time.Second {
		t.Errorf("bgp source %+v", b)
	}
	a := c.Sources[1].BGP
	if a.Prefixes != nil || a.ASPathRegex != nil || a.OriginAS != nil || a.MinLengthV4 != DefaultBGPMinPrefixLength || a.MaxLengthV4 != 32 ||
		a.MinLengthV6 != DefaultBGPMinPrefixLength || a.MaxLengthV6 != 128 || a.AddressOffset != DefaultBGPAddressOffset || a.RefreshInterval != DefaultBGPSourceRefresh {
		t.Errorf("bgp source defaults %+v", a)
	}
	s0, s1 := c.Sources[0], c.Sources[1]
	if !s0.SameLocation(s0) || s0.SameLocation(s1) || !s1.SameLocation(s1) {
		t.Error("SameLocation wrong")
	}
	o, _ := Parse([]byte(`
bgp: {local_as: 64500, router_id: 198.18.0.1}
target_sources:
  - {name: routes, bgp: {as_path_regex: "^64502 "}}
`))
	if o.Sources[0].SameLocation(s0) {
		t.Error("another as_path_regex is the same location")
	}
}

// TestReadmeBGPSourceExample keeps the README's bgp source example valid.
func TestReadmeBGPSourceExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "- **bgp** lists one address")
	j := strings.Index(s[i:], "```yaml\n")
	k := strings.Index(s[i+j+8:], "```")
	if i < 0 || j < 0 || k < 0 {
		t.Fatal("no yaml block under README's bgp source")
	}
	c, err := Parse([]byte(s[i+j+8 : i+j+8+k]))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 1 || c.Sources[0].BGP == nil || c.Sources[0].BGP.MaxLengthV6 != 48 || c.BGP == nil {
		t.Fatalf("README example: %+v, want one bgp source", c.Sources)
	}
}
