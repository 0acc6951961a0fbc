package asn

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tsvSeeds adds the sample files under testdata/tsv to a fuzz corpus, each
// with the arguments args returns for it.
func tsvSeeds(f *testing.F, args func(b []byte) []any) {
	files, _ := filepath.Glob(filepath.Join("testdata", "tsv", "*.tsv"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(args(b)...)
	}
}

// FuzzOpenTSV feeds arbitrary content to the TSV reader the way Open does,
// plain (mode 0), gzip-compressed by the test (mode 1) or as a gzip stream
// of arbitrary bytes (mode 2). It must never panic; every error must wrap
// ErrFormat and name the file (the content is in memory, so no error is
// an I/O error); a database it accepts must describe itself consistently;
// and compressing a file must not change what is read from it. Seeds:
// testdata/tsv and testdata/fuzz/FuzzOpenTSV.
func FuzzOpenTSV(f *testing.F) {
	tsvSeeds(f, func(b []byte) []any { return []any{uint8(1), b} })
	f.Add(uint8(0), []byte("192.0.2.0\t192.0.2.255\t64496\tZZ\tDOC\n"))
	f.Add(uint8(2), gzipped([]byte("192.0.2.0\t192.0.2.255\t64496\tZZ\tDOC\n")))
	f.Fuzz(func(t *testing.T, mode uint8, b []byte) {
		in, gz := b, mode%3 != 0
		if mode%3 == 1 {
			in = gzipped(b)
		}
		db, err := openTSV(bytes.NewReader(in), "fuzz.tsv", gz)
		if err != nil {
			if db != nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "fuzz.tsv") {
				t.Fatalf("openTSV(gz=%v) = %v, %q (%#v); want only an error wrapping ErrFormat that names the file", gz, db, err, errors.Unwrap(err))
			}
			if mode%3 == 1 {
				if _, perr := openTSV(bytes.NewReader(b), "fuzz.tsv", false); perr == nil {
					t.Fatalf("the file reads plain but not compressed: %v", err)
				}
			}
			return
		}
		m := db.Meta()
		var le *LineError
		switch {
		case m.Entries < 1, m.Path != "fuzz.tsv", m.Format != map[bool]Format{false: FormatTSV, true: FormatTSVGz}[gz]:
			t.Fatalf("accepted database with meta %+v", m)
		case (m.SkippedLines > 0) != (m.FirstSkipped != nil):
			t.Fatalf("%d skipped lines but first skipped %v", m.SkippedLines, m.FirstSkipped)
		case m.FirstSkipped != nil && (!errors.As(m.FirstSkipped, &le) || le.Line < 1 || le.Path != "fuzz.tsv"):
			t.Fatalf("first skipped line %#v does not name the file and line", m.FirstSkipped)
		}
		if mode%3 == 1 {
			plain, err := openTSV(bytes.NewReader(b), "fuzz.tsv", false)
			if err != nil {
				t.Fatalf("the file reads compressed but not plain: %v", err)
			}
			pm := plain.Meta()
			pm.Format = FormatTSVGz
			if fmt.Sprint(pm) != fmt.Sprint(m) {
				t.Fatalf("compressed: %+v; plain: %+v", m, plain.Meta())
			}
		}
	})
}

// gzipped compresses b.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// FuzzTSVRoundTrip: a table the reader accepts, written out as a TSV with
// one line per range, must be read back without a bad line and hold the
// same ranges with the same AS number and name. Seeds: testdata/tsv and
// testdata/fuzz/FuzzTSVRoundTrip.
func FuzzTSVRoundTrip(f *testing.F) {
	tsvSeeds(f, func(b []byte) []any { return []any{b} })
	f.Add([]byte("192.0.2.0 192.0.2.9 AS64496 ZZ Doc  net\n2001:db8::\t2001:db8::ffff\t64497\tZZ\t tab\there \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, _, err := parseTSV(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		out := formatTSV(tab)
		again, st, err := parseTSV(bytes.NewReader(out), "again")
		if err != nil || st.bad != 0 {
			t.Fatalf("accepted %q, but not its own table written out:\n%q\n%v (%d bad lines, first %v)", b, out, err, st.bad, st.firstBad)
		}
		if got, want := rangesOf(again), rangesOf(tab); got != want {
			t.Fatalf("accepted %q as\n%s\nbut read it written out as\n%s", b, want, got)
		}
	})
}

// formatTSV writes t as an iptoasn TSV, one line per range.
func formatTSV(t *table) []byte {
	var b bytes.Buffer
	line := func(lo, hi netip.Addr, in Info) { fmt.Fprintf(&b, "%s\t%s\t%d\tZZ\t%s\n", lo, hi, in.ASN, in.Org) }
	for _, r := range t.v4 {
		line(addr4(r.lo), addr4(r.hi), t.infos[r.info])
	}
	for _, r := range t.v6 {
		line(netip.AddrFrom16(r.lo), netip.AddrFrom16(r.hi), t.infos[r.info])
	}
	return b.Bytes()
}

// rangesOf lists t's ranges in order with what they map to.
func rangesOf(t *table) string {
	var b strings.Builder
	for _, r := range t.v4 {
		in := t.infos[r.info]
		fmt.Fprintf(&b, "%s-%s AS%d %+q\n", addr4(r.lo), addr4(r.hi), in.ASN, in.Org)
	}
	for _, r := range t.v6 {
		in := t.infos[r.info]
		fmt.Fprintf(&b, "%s-%s AS%d %+q\n", netip.AddrFrom16(r.lo), netip.AddrFrom16(r.hi), in.ASN, in.Org)
	}
	return b.String()
}

func addr4(k uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})
}
