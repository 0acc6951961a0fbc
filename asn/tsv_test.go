package asn

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name, line string
		lo, hi     string
		asn        uint32
		desc       string
		err        string
	}{
		{name: "iptoasn v4", line: "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET", lo: "1.0.0.0", hi: "1.0.0.255", asn: 13335, desc: "CLOUDFLARENET"},
		{name: "description with spaces", line: "1.0.4.0\t1.0.7.255\t38803\tAU\tWPL-AS-AP Wirefreebroadband Pty Ltd", lo: "1.0.4.0", hi: "1.0.7.255", asn: 38803, desc: "WPL-AS-AP Wirefreebroadband Pty Ltd"},
		{name: "iptoasn v6", line: "2606:4700::\t2606:4700:ffff:ffff:ffff:ffff:ffff:ffff\t13335\tUS\tCLOUDFLARENET", lo: "2606:4700::", hi: "2606:4700:ffff:ffff:ffff:ffff:ffff:ffff", asn: 13335, desc: "CLOUDFLARENET"},
		{name: "not routed", line: "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed", lo: "1.0.1.0", hi: "1.0.3.255", asn: 0, desc: "Not routed"},
		{name: "three fields", line: "192.0.2.0\t192.0.2.0\t64496", lo: "192.0.2.0", hi: "192.0.2.0", asn: 64496},
		{name: "AS prefix", line: "192.0.2.0\t192.0.2.9\tAS64496\tZZ\tX", lo: "192.0.2.0", hi: "192.0.2.9", asn: 64496, desc: "X"},
		{name: "spaces", line: "192.0.2.0  192.0.2.9 64496 ZZ Doc  net", lo: "192.0.2.0", hi: "192.0.2.9", asn: 64496, desc: "Doc net"},
		{name: "mapped v4 is v4", line: "::ffff:192.0.2.0\t::ffff:192.0.2.9\t1", lo: "192.0.2.0", hi: "192.0.2.9", asn: 1},
		{name: "32-bit asn", line: "192.0.2.0\t192.0.2.9\t4294967295", lo: "192.0.2.0", hi: "192.0.2.9", asn: 4294967295},
		{name: "too few fields", line: "192.0.2.0\t192.0.2.9", err: "2 fields"},
		{name: "bad start", line: "192.0.2\t192.0.2.9\t1", err: "range_start"},
		{name: "bad end", line: "192.0.2.0\tx\t1", err: "range_end"},
		{name: "mixed families", line: "192.0.2.0\t2001:db8::\t1", err: "mixes IPv4 and IPv6"},
		{name: "end before start", line: "192.0.2.9\t192.0.2.0\t1", err: "before start"},
		{name: "asn too big", line: "192.0.2.0\t192.0.2.9\t4294967296", err: "asn"},
		{name: "asn negative", line: "192.0.2.0\t192.0.2.9\t-1", err: "asn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi, asn, desc, err := parseLine(tt.line)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if lo != netip.MustParseAddr(tt.lo) || hi != netip.MustParseAddr(tt.hi) || asn != tt.asn || desc != tt.desc {
				t.Errorf("got %v %v %d %q, want %s %s %d %q", lo, hi, asn, desc, tt.lo, tt.hi, tt.asn, tt.desc)
			}
		})
	}
}

// lines returns n good, disjoint IPv4 range lines.
func lines(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.%d.%d.0\t10.%d.%d.255\t%d\tZZ\tAS-%d", i>>8, i&255, i>>8, i&255, 64500+i%7, i%7)
	}
	return out
}

func TestParseTSVBadLines(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		skipped int
		err     string
	}{
		{name: "all good", lines: lines(50)},
		{name: "1 bad in 101 is skipped", lines: append(lines(100), "garbage"), skipped: 1},
		{name: "2 bad in 102 fail", lines: append(append(lines(100), "garbage"), "10.0.0.0\t10.0.0.0\tx"),
			err: "2 of 102 lines are bad (at most 1% may be), first: f.tsv:101: 1 fields"},
		{name: "overlap counts as bad", lines: []string{"10.0.0.0\t10.0.0.255\t1", "10.0.0.128\t10.0.1.0\t2"},
			err: "f.tsv:2: range overlaps the range of line 1"},
		{name: "v6 overlap", lines: []string{"2001:db8::\t2001:db8::ff\t1", "2001:db8::ff\t2001:db8::1ff\t2"},
			err: "f.tsv:2: range overlaps the range of line 1"},
		{name: "first bad by line number", lines: []string{"10.0.0.128\t10.0.1.0\t2", "x", "10.0.0.0\t10.0.0.255\t1"},
			err: "first: f.tsv:1: range overlaps the range of line 3"},
		{name: "only not routed", lines: []string{"10.0.0.0\t10.0.0.255\t0\tNone\tNot routed"}, err: "no routed ranges"},
		{name: "empty", lines: nil, err: "no routed ranges"},
		{name: "comments only", lines: []string{"# nothing", "", "  "}, err: "no routed ranges"},
		{name: "line too long", lines: []string{strings.Repeat("1", maxLineLen+1)}, err: "f.tsv:1: line longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, st, err := parseTSV(strings.NewReader(strings.Join(tt.lines, "\n")), "f.tsv")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.bad != tt.skipped {
				t.Errorf("skipped %d lines, want %d (first %v)", st.bad, tt.skipped, st.firstBad)
			}
			if tab.len() != len(tt.lines)-tt.skipped {
				t.Errorf("%d ranges, want %d", tab.len(), len(tt.lines)-tt.skipped)
			}
		})
	}
}

func TestParseTSVLineErrorIs(t *testing.T) {
	_, _, err := parseTSV(strings.NewReader("x\ny\n"), "f.tsv")
	var le *LineError
	if !errors.As(err, &le) || le.Line != 1 || le.Path != "f.tsv" {
		t.Fatalf("err = %v, want a *LineError for f.tsv line 1", err)
	}
	if !errors.Is(err, ErrFormat) {
		t.Errorf("err = %v, want ErrFormat", err)
	}
}

// TestTableBoundaries checks the binary search at every edge of
// adjacent and separated ranges.
func TestTableBoundaries(t *testing.T) {
	in := "0.0.0.0\t0.0.0.0\t1\n" +
		"10.0.0.0\t10.0.0.9\t2\n10.0.0.10\t10.0.0.19\t3\n" +
		"10.0.0.30\t10.0.0.30\t4\n255.255.255.0\t255.255.255.255\t5\n" +
		"::\t::1\t6\n2001:db8::\t2001:db8::ffff\t7\nffff::\tffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\t8\n"
	tab, _, err := parseTSV(strings.NewReader(in), "t")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		asn  uint32 // 0: miss
	}{
		{"0.0.0.0", 1}, {"0.0.0.1", 0}, {"9.255.255.255", 0},
		{"10.0.0.0", 2}, {"10.0.0.9", 2}, {"10.0.0.10", 3}, {"10.0.0.19", 3},
		{"10.0.0.20", 0}, {"10.0.0.29", 0}, {"10.0.0.30", 4}, {"10.0.0.31", 0},
		{"255.255.254.255", 0}, {"255.255.255.0", 5}, {"255.255.255.255", 5},
		{"::", 6}, {"::1", 6}, {"::2", 0}, {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 0},
		{"2001:db8::", 7}, {"2001:db8::ffff", 7}, {"2001:db8::1:0", 0},
		{"fffe::", 0}, {"ffff::", 8}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 8},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			in, ok := tab.lookup(netip.MustParseAddr(tt.addr))
			if ok != (tt.asn != 0) || in.ASN != tt.asn {
				t.Errorf("lookup = %v, %v; want ASN %d", in, ok, tt.asn)
			}
		})
	}
}

// TestOrgsShared checks that ranges of one AS share one Info entry.
func TestOrgsShared(t *testing.T) {
	tab, _, err := parseTSV(strings.NewReader(strings.Join(lines(700), "\n")), "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.infos) != 7 {
		t.Errorf("%d distinct infos, want 7", len(tab.infos))
	}
}

// FuzzParseTSV feeds arbitrary text to the TSV reader: it must never
// panic, and a table it accepts must be sorted and disjoint, and find
// every range's own start and end. Seeds: testdata/tsv/*.tsv.
func FuzzParseTSV(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "tsv", "*.tsv"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, _, err := parseTSV(strings.NewReader(string(b)), "fuzz")
		if err != nil {
			return
		}
		for i, r := range tab.v4 {
			if r.lo > r.hi || (i > 0 && r.lo <= tab.v4[i-1].hi) {
				t.Fatalf("v4 range %d [%x %x] not sorted or overlapping", i, r.lo, r.hi)
			}
			for _, k := range []uint32{r.lo, r.hi} {
				a := netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})
				if in, ok := tab.lookup(a); !ok || in != tab.infos[r.info] {
					t.Fatalf("lookup(%v) = %v, %v; want %v", a, in, ok, tab.infos[r.info])
				}
			}
		}
		for i, r := range tab.v6 {
			lo, hi := netip.AddrFrom16(r.lo), netip.AddrFrom16(r.hi)
			if hi.Less(lo) || (i > 0 && !netip.AddrFrom16(tab.v6[i-1].hi).Less(lo)) {
				t.Fatalf("v6 range %d [%v %v] not sorted or overlapping", i, lo, hi)
			}
			for _, a := range []netip.Addr{lo, hi} {
				if in, ok := tab.lookup(a); !ok || in != tab.infos[r.info] {
					t.Fatalf("lookup(%v) = %v, %v; want %v", a, in, ok, tab.infos[r.info])
				}
			}
		}
	})
}
