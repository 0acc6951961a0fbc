package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/asn"
	"github.com/traceroute-exporter/traceroute_exporter/config"
)

func TestConfigLoads(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		v    configVariant
		want int
	}{{configPlain, 100}, {configChanged, 95}} {
		p := filepath.Join(dir, "c.yml")
		if err := writeConfig(p, 100, tc.v); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(p)
		if err != nil {
			t.Fatalf("variant %d: %v", tc.v, err)
		}
		if len(c.Targets) != tc.want {
			t.Errorf("variant %d: %d targets, want %d", tc.v, len(c.Targets), tc.want)
		}
	}
	p := filepath.Join(dir, "bad.yml")
	if err := writeConfig(p, 100, configBad); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(p); err == nil {
		t.Error("the bad variant loads")
	}
}

func TestHosts(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hosts")
	if err := writeHosts(p, 100, false); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !strings.Contains(string(b), "198.19.1.11\th0010.soak.test\n") || strings.Count(string(b), "\n") != 11 {
		t.Errorf("hosts:\n%s", b)
	}
	if err := writeHosts(p, 100, true); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(p)
	if !strings.Contains(string(b), "198.19.1.111\th0010.soak.test\n") || strings.Contains(string(b), "h0070") {
		t.Errorf("moved hosts:\n%s", b)
	}
}

func TestASN(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "asn.tsv")
	if err := writeASN(p, false); err != nil {
		t.Fatal(err)
	}
	db, err := asn.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := db.Lookup(netip.MustParseAddr("198.18.3.2")); !ok || info.ASN != 64503 {
		t.Errorf("198.18.3.2: %+v, %v; want AS64503", info, ok)
	}
	if err := writeASN(p, true); err != nil {
		t.Fatal(err)
	}
	if _, err := asn.Open(p); err == nil {
		t.Error("the corrupt database opens")
	}
}
