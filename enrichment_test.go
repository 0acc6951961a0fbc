package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// TestASNReloadState follows the ASN database through reloads: a file
// that fails to load keeps the database loaded before and shows as a
// failed load (traceroute_exporter_asn_database_last_reload_successful 0)
// until a good one loads.
func TestASNReloadState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "asn.tsv")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &config.Config{}
	asnOf := func(e *enrichment) uint32 {
		info, _ := e.asn.Lookup(netip.MustParseAddr("198.18.1.2"))
		return info.ASN
	}

	none, err := openEnrichment(context.Background(), enrichFlags{}, cfg, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer none.close()
	if configured, _ := none.asnState(); configured {
		t.Errorf("without --asn.database: configured")
	}

	write("198.18.1.0\t198.18.1.255\t64501\tZZ\tLAB-A\n")
	e, err := openEnrichment(context.Background(), enrichFlags{asnDB: path}, cfg, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	for _, step := range []struct {
		name    string
		content string
		ok      bool
		asn     uint32
	}{
		{"at start", "", true, 64501},
		{"a gzip stream cut short", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x32\x34", false, 64501},
		{"not a database", "this is not\nan ASN database\n", false, 64501},
		{"a missing file", "-", false, 64501},
		{"a good one again", "198.18.1.0\t198.18.1.255\t64999\tZZ\tLAB-B\n", true, 64999},
	} {
		switch step.content {
		case "":
		case "-":
			os.Remove(path)
		default:
			write(step.content)
		}
		if step.content != "" {
			e.reload(cfg)
		}
		if configured, ok := e.asnState(); !configured || ok != step.ok {
			t.Errorf("%s: asnState = %v, %v; want true, %v", step.name, configured, ok, step.ok)
		}
		if got := asnOf(e); got != step.asn {
			t.Errorf("%s: 198.18.1.2 in AS%d, want AS%d", step.name, got, step.asn)
		}
	}
}
