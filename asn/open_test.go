package asn_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/traceroute-exporter/traceroute_exporter/asn"
)

// writeMMDB builds a small MaxMind DB with one record per network and
// writes it to dir/name.
func writeMMDB(t testing.TB, dir, name string, records map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "GeoLite2-ASN",
		RecordSize:              24,
		IncludeReservedNetworks: true, // the tests use documentation prefixes
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range records {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// geolite is a GeoLite2-ASN-style database; dbip-style files use the same
// field names. The other records use the "asn" field as numbers and as
// "AS…" strings, as other publishers do.
func geolite(t testing.TB, dir, name string) string {
	return writeMMDB(t, dir, name, map[string]mmdbtype.Map{
		"198.51.100.0/25": {"autonomous_system_number": mmdbtype.Uint32(64500), "autonomous_system_organization": mmdbtype.String("EXAMPLE-A")},
		"203.0.113.0/24":  {"autonomous_system_number": mmdbtype.Uint32(4200000000)},
		"2001:db8::/48":   {"autonomous_system_number": mmdbtype.Uint32(64502), "autonomous_system_organization": mmdbtype.String("EXAMPLE-V6")},
		"192.0.2.0/24":    {"asn": mmdbtype.String("AS64496"), "as_name": mmdbtype.String("IPINFO-STYLE")},
		"2001:db8:1::/48": {"asn": mmdbtype.Uint64(64497), "as_org": mmdbtype.String("NUMERIC-ASN")},
		"100.64.0.0/10":   {"asn": mmdbtype.String("not a number")},
		"100.128.0.0/16":  {"autonomous_system_number": mmdbtype.Uint32(0)},
		"100.129.0.0/16":  {"country": mmdbtype.String("ZZ")},
	})
}

func gzipFile(t testing.TB, src, dst string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// lookupCase is one address and the AS expected for it (0: a miss).
type lookupCase struct {
	addr string
	asn  uint32
	org  string
}

func checkLookups(t *testing.T, db *asn.DB, cases []lookupCase) {
	t.Helper()
	for _, c := range cases {
		in, ok := db.Lookup(netip.MustParseAddr(c.addr))
		if ok != (c.asn != 0) || in != (asn.Info{ASN: c.asn, Org: c.org}) {
			t.Errorf("Lookup(%s) = %+v, %v; want ASN %d %q", c.addr, in, ok, c.asn, c.org)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join("testdata", "tsv", "ip2asn-combined-sample.tsv")
	tsvCases := []lookupCase{
		{"1.0.0.0", 13335, "CLOUDFLARENET"}, {"1.0.0.255", 13335, "CLOUDFLARENET"},
		{"1.0.2.1", 0, ""}, // not routed
		{"1.0.5.5", 38803, "WPL-AS-AP Wirefreebroadband Pty Ltd"},
		{"198.51.100.127", 64500, "EXAMPLE-A transit, Inc."}, {"198.51.100.128", 64501, "EXAMPLE-B"},
		{"::ffff:198.51.100.1", 64500, "EXAMPLE-A transit, Inc."},
		{"203.0.113.7", 4200000000, "EXAMPLE-32BIT"}, {"8.8.8.8", 0, ""},
		{"2001:db8::1", 64502, "EXAMPLE-V6"}, {"2001:db8:1::1", 0, ""},
		{"2606:4700:4700::1111", 13335, "CLOUDFLARENET"}, {"2606:4701::", 0, ""},
		{"fe80::1%eth0", 0, ""},
	}
	mmdbCases := []lookupCase{
		{"198.51.100.1", 64500, "EXAMPLE-A"}, {"198.51.100.200", 0, ""},
		{"::ffff:198.51.100.1", 64500, "EXAMPLE-A"},
		{"203.0.113.9", 4200000000, ""}, {"192.0.2.1", 64496, "IPINFO-STYLE"},
		{"2001:db8::5", 64502, "EXAMPLE-V6"}, {"2001:db8:1::5", 64497, "NUMERIC-ASN"},
		{"2001:db8:2::5", 0, ""}, {"8.8.8.8", 0, ""},
		{"100.64.0.1", 0, ""}, {"100.128.0.1", 0, ""}, {"100.129.0.1", 0, ""},
	}
	tests := []struct {
		name   string
		path   string
		format asn.Format
		cases  []lookupCase
	}{
		{"tsv", sample, asn.FormatTSV, tsvCases},
		{"tsv.gz", gzipFile(t, sample, filepath.Join(dir, "ip2asn.tsv.gz")), asn.FormatTSVGz, tsvCases},
		{"gz by content", gzipFile(t, sample, filepath.Join(dir, "ip2asn.dat")), asn.FormatTSVGz, tsvCases},
		{"mmdb", geolite(t, dir, "GeoLite2-ASN.mmdb"), asn.FormatMMDB, mmdbCases},
		{"mmdb by content", geolite(t, dir, "asn.bin"), asn.FormatMMDB, mmdbCases},
		{"spaces and header", filepath.Join("testdata", "tsv", "spaces-header.tsv"), asn.FormatTSV, []lookupCase{
			{"192.0.2.128", 64496, "Documentation net one"}, {"2001:db8:ffff::ff", 64497, ""}, {"2001:db8:ffff::1:0", 0, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := asn.Open(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if m := db.Meta(); m.Format != tt.format || m.Path != tt.path || m.Entries == 0 {
				t.Errorf("Meta = %+v, want format %s for %s", m, tt.format, tt.path)
			}
			checkLookups(t, db, tt.cases)
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := geolite(t, dir, "good.mmdb")
	b, _ := os.ReadFile(good)
	gz, _ := os.ReadFile(gzipFile(t, filepath.Join("testdata", "tsv", "ip2asn-combined-sample.tsv"), filepath.Join(dir, "sample.gz")))
	tests := []struct {
		name, path string
		err        string
		format     bool // errors.Is(err, ErrFormat)
	}{
		{"missing", filepath.Join(dir, "nope.mmdb"), "no such file", false},
		{"directory", dir, "is a directory", true},
		{"garbage with mmdb extension", write("bad.mmdb", "not a database"), "bad.mmdb: invalid ASN database", true},
		{"truncated mmdb", write("trunc.mmdb", string(b[:len(b)/2])), "trunc.mmdb: invalid ASN database", true},
		{"bad gzip", write("bad.tsv.gz", "\x1f\x8bnot gzip"), "bad.tsv.gz: invalid ASN database", true},
		{"truncated gzip", write("trunc.tsv.gz", string(gz[:len(gz)/2])), "trunc.tsv.gz:", true},
		{"bad tsv", filepath.Join("testdata", "tsv", "bad-lines.tsv"), "bad-lines.tsv:2: range overlaps the range of line 1", true},
		{"empty", write("empty.tsv", ""), "no routed ranges", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := asn.Open(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Open = %v, %v; want error containing %q", db, err, tt.err)
			}
			if errors.Is(err, asn.ErrFormat) != tt.format {
				t.Errorf("errors.Is(%v, ErrFormat) = %v, want %v", err, !tt.format, tt.format)
			}
		})
	}
}

// TestCorruptMMDBNoPanic flips bytes all over the search tree and data
// section of a valid file: lookups may miss but never panic.
func TestCorruptMMDBNoPanic(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(geolite(t, dir, "good.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	marker := bytes.LastIndex(good, []byte("\xab\xcd\xefMaxMind.com"))
	addrs := []string{"198.51.100.1", "203.0.113.9", "192.0.2.1", "2001:db8::5", "2001:db8:1::5", "8.8.8.8", "::1"}
	for step := 1; step < 13; step++ {
		t.Run(strconv.Itoa(step), func(t *testing.T) {
			b := bytes.Clone(good)
			for i := step; i < marker; i += step * 7 {
				b[i] ^= byte(0x5a + step)
			}
			p := filepath.Join(dir, "corrupt.mmdb")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			db, err := asn.Open(p)
			if err != nil {
				return
			}
			for _, a := range addrs {
				db.Lookup(netip.MustParseAddr(a))
			}
		})
	}
}

func TestSkippedLinesReported(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		b.WriteString("10.0." + strconv.Itoa(i) + ".0\t10.0." + strconv.Itoa(i) + ".255\t64500\tZZ\tX\n")
	}
	b.WriteString("10.1.0.0\t10.1.0.255\tnot-a-number\n")
	p := filepath.Join(t.TempDir(), "few-bad.tsv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := asn.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	m := db.Meta()
	if m.SkippedLines != 1 || m.FirstSkipped == nil || !strings.Contains(m.FirstSkipped.Error(), "few-bad.tsv:201: asn") {
		t.Errorf("Meta = %+v, want 1 skipped line, line 201", m)
	}
}

func TestNilDB(t *testing.T) {
	var db *asn.DB
	if _, ok := db.Lookup(netip.MustParseAddr("192.0.2.1")); ok {
		t.Error("nil DB found something")
	}
	if (db.Meta() != asn.Meta{}) {
		t.Error("nil DB has metadata")
	}
}
