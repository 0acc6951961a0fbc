package history

import (
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzEncodeRecord builds a path and a change from arbitrary field values.
// Whatever the encoders accept must decode to the same value: a record a
// store writes is one it can read back (a Bolt store skips and counts a
// record that does not decode, a Memory store refuses it, so an encoder
// that accepted more than its decoder would make the two disagree). The
// seed corpus is testdata/fuzz/FuzzEncodeRecord.
//
// The stored form normalises on purpose, and the expected value does the
// same: times are Unix nanoseconds in UTC (0 is "unset", so 1970-01-01
// reads back as the zero time and times outside 1678..2262 cannot be
// stored), a non-finite loss reads back as NaN ("unknown"), empty slices
// as nil. Strings are made valid UTF-8 first: JSON replaces invalid bytes
// with U+FFFD, and names (reverse DNS) and targets (YAML) are valid UTF-8.
func FuzzEncodeRecord(f *testing.F) {
	f.Add(uint64(17), 3, []byte{192, 0, 2, 1}, "gw.example.net", uint32(64500), int64(1741064767000000890),
		int64(1741068367000000890), 42, "cloudflare-dns", 2, int64(1500000), 0.0, true, 2, uint8(0))
	f.Add(uint64(0), 255, netip.MustParseAddr("2001:db8::9").AsSlice(), "", uint32(4200000000), int64(0),
		int64(-1), 1, "", 255, int64(-1), math.Inf(1), false, 255, uint8(3))
	f.Fuzz(func(t *testing.T, id uint64, ttl int, addr []byte, name string, asn uint32, first, last int64,
		seen int, target string, hops int, rtt int64, loss float64, reached bool, diff int, verdict uint8) {
		name, target = strings.ToValidUTF8(name, "\uFFFD"), strings.ToValidUTF8(target, "\uFFFD")
		a, _ := netip.AddrFromSlice(addr)
		path := []Hop{{TTL: 1}, {TTL: ttl, Addr: a, Name: name, ASN: asn}}
		p := Path{ID: id, Hops: path, FirstSeen: fuzzTime(first), LastSeen: fuzzTime(last), TimesSeen: seen}
		if b, err := encodePath(p); err == nil {
			got, err := decodePath(b)
			if err != nil {
				t.Fatalf("encodePath(%+v) = %q, which does not decode: %v", p, b, err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Fatalf("path %+v read back as %+v (record %q)", p, got, b)
			}
		}

		c := Change{
			ID: id, Time: fuzzTime(first), Target: target,
			Before:   Snapshot{Hops: hops, Path: path, ASPath: []uint32{asn}, DestRTT: time.Duration(rtt), DestLoss: loss, Reached: reached},
			After:    Snapshot{Path: []Hop{}, ASPath: []uint32{}, DestLoss: math.NaN()},
			DiffTTLs: []int{diff},
			Verdict:  []string{Worse, Better, Neutral, "", "awful"}[verdict%5],
			// BGP correlation, from the same inputs: a route of a's
			// prefix of ttl bits (none when that is no prefix).
			Kind:       []string{KindPath, KindRouting, "", "rumour"}[verdict%4],
			BGPChecked: reached,
		}
		c.Before.BGPASPathLength = hops
		if pfx, err := a.Prefix(ttl); err == nil {
			c.BGP = []BGPChange{{Time: fuzzTime(last), Before: &BGPRoute{Prefix: pfx, ASPath: []uint32{asn}, NextHop: a}}}
		}
		b, err := encodeChange(c)
		if err != nil {
			return
		}
		got, err := decodeChange(b)
		if err != nil {
			t.Fatalf("encodeChange(%+v) = %q, which does not decode: %v", c, b, err)
		}
		want := c
		want.After.Path, want.After.ASPath = nil, nil
		if math.IsInf(loss, 0) {
			want.Before.DestLoss = math.NaN()
		}
		if !sameLoss(got.Before.DestLoss, want.Before.DestLoss) || !math.IsNaN(got.After.DestLoss) {
			t.Fatalf("losses %v, %v read back as %v, %v (record %q)", want.Before.DestLoss, want.After.DestLoss,
				got.Before.DestLoss, got.After.DestLoss, b)
		}
		got.Before.DestLoss, got.After.DestLoss, want.Before.DestLoss, want.After.DestLoss = 0, 0, 0, 0
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("change %+v read back as %+v (record %q)", want, got, b)
		}
		if !utf8.Valid(b) {
			t.Fatalf("record %q is not valid UTF-8", b)
		}
	})
}

// fuzzTime is the time n nanoseconds after the epoch in UTC, or the zero
// time for 0 (how the codec stores "unset").
func fuzzTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// sameLoss compares two losses, NaN equal to NaN.
func sameLoss(a, b float64) bool {
	return a == b || math.IsNaN(a) && math.IsNaN(b)
}
