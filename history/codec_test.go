package history

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden records under testdata/records")

var (
	goldenTime = time.Date(2025, 3, 4, 5, 6, 7, 890, time.UTC)
	goldenHops = []Hop{
		{TTL: 1, Addr: netip.MustParseAddr("192.0.2.1"), Name: "gw.example.net", ASN: 64500},
		{TTL: 2},
		{TTL: 3, Addr: netip.MustParseAddr("2001:db8::9"), ASN: 4200000000},
	}
	goldenPath   = Path{ID: math.MaxUint64, Hops: goldenHops, FirstSeen: goldenTime, LastSeen: goldenTime.Add(time.Hour), TimesSeen: 42}
	goldenChange = Change{
		ID: 17, Time: goldenTime, Target: "cloudflare-dns",
		Before:   Snapshot{Hops: 2, Path: goldenHops[:2], ASPath: []uint32{64500}, DestRTT: 1500 * time.Microsecond, DestLoss: 0, Reached: true},
		After:    Snapshot{Hops: 3, Path: goldenHops, ASPath: []uint32{64500, 4200000000}, DestRTT: 0, DestLoss: math.NaN()},
		DiffTTLs: []int{2, 3}, Verdict: Worse,
	}
	// goldenBGPChange is a path change with the BGP updates correlated
	// with it (added fields: records without them are read as before).
	goldenBGPChange = Change{
		ID: 18, Time: goldenTime, Target: "cloudflare-dns", Kind: KindPath, BGPChecked: true,
		Before:   Snapshot{Hops: 2, Path: goldenHops[:2], DestLoss: 0, Reached: true, BGPASPathLength: 2},
		After:    Snapshot{Hops: 3, Path: goldenHops, DestLoss: 0, Reached: true, BGPASPathLength: 3},
		DiffTTLs: []int{2, 3}, Verdict: Worse,
		BGP: []BGPChange{
			{Time: goldenTime.Add(-time.Minute), Before: &BGPRoute{Prefix: netip.MustParsePrefix("198.18.7.0/24"), ASPath: []uint32{64501, 64504}, NextHop: netip.MustParseAddr("198.18.1.1")}},
			{Time: goldenTime.Add(-time.Minute), After: &BGPRoute{Prefix: netip.MustParsePrefix("2001:db8::/32"), ASPath: []uint32{64502, 64503, 64504}, NextHop: netip.MustParseAddr("2001:db8::1")}},
		},
	}
)

// TestGoldenRecords pins the stored encoding: a change to it must come
// with a new record version. Run with -update to rewrite the files.
func TestGoldenRecords(t *testing.T) {
	tests := []struct {
		file   string
		encode func() ([]byte, error)
		check  func(t *testing.T, b []byte)
	}{
		{"path.bin", func() ([]byte, error) { return encodePath(goldenPath) }, func(t *testing.T, b []byte) {
			p, err := decodePath(b)
			if err != nil || !reflect.DeepEqual(p, goldenPath) {
				t.Errorf("decodePath = %+v, %v; want %+v", p, err, goldenPath)
			}
		}},
		{"change.bin", func() ([]byte, error) { return encodeChange(goldenChange) }, func(t *testing.T, b []byte) {
			c, err := decodeChange(b)
			if err != nil || !math.IsNaN(c.After.DestLoss) {
				t.Fatalf("decodeChange = %+v, %v; want NaN loss after", c, err)
			}
			c.After.DestLoss = 0
			want := goldenChange
			want.After.DestLoss = 0
			if !reflect.DeepEqual(c, want) {
				t.Errorf("decodeChange =\n%+v\nwant\n%+v", c, want)
			}
		}},
		{"change-bgp.bin", func() ([]byte, error) { return encodeChange(goldenBGPChange) }, func(t *testing.T, b []byte) {
			c, err := decodeChange(b)
			if err != nil || !reflect.DeepEqual(c, goldenBGPChange) {
				t.Errorf("decodeChange =\n%+v\nwant\n%+v", c, goldenBGPChange)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := tt.encode()
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join("testdata", "records", tt.file)
			if *update {
				if err := os.WriteFile(name, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding changed:\n got %q\nwant %q", got, want)
			}
			tt.check(t, want)
		})
	}
}

func TestDecodeBadRecords(t *testing.T) {
	tests := []struct {
		name, rec string
		change    bool
		err       string
	}{
		{"empty", "", false, "empty"},
		{"future version", "\x02{}", false, "unsupported record version 2 (want 1)"},
		{"no version byte", `{"id":1}`, false, "unsupported record version 123"},
		{"not json", "\x01{", false, "unexpected EOF"},
		{"trailing data", "\x01{} {}", false, "trailing data"},
		{"wrong type", "\x01{\"id\":\"one\"}", false, "cannot unmarshal"},
		{"bad address", "\x01{\"hops\":[{\"ttl\":1,\"addr\":\"300.1.1.1\"}]}", false, "ParseAddr"},
		{"ttl 0", "\x01{\"hops\":[{\"ttl\":0}]}", false, "hop 0: TTL 0 out of 1..255"},
		{"negative count", "\x01{\"seen\":-1}", false, "times seen -1"},
		{"bad verdict", "\x01{\"verdict\":\"awful\"}", true, `verdict "awful"`},
		{"bad diff ttl", "\x01{\"diff_ttls\":[0]}", true, "differing TTL 0"},
		{"bad hop count", "\x01{\"before\":{\"hops\":-2}}", true, "hop count -2"},
		{"bad snapshot hop", "\x01{\"after\":{\"path\":[{\"ttl\":999}]}}", true, "TTL 999"},
		{"bad kind", "\x01{\"kind\":\"rumour\"}", true, `kind "rumour"`},
		{"BGP change without prefix", "\x01{\"bgp\":[{\"after\":{\"as_path\":[1]}}]}", true, "BGP change 0: invalid prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.change {
				_, err = decodeChange([]byte(tt.rec))
			} else {
				_, err = decodePath([]byte(tt.rec))
			}
			if !errors.Is(err, ErrBadRecord) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want ErrBadRecord containing %q", err, tt.err)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	if _, err := encodePath(Path{Hops: []Hop{{TTL: 256}}}); err == nil {
		t.Error("encodePath accepted TTL 256")
	}
	c := goldenChange
	c.Before.Path = []Hop{{TTL: -1}}
	if _, err := encodeChange(c); err == nil {
		t.Error("encodeChange accepted TTL -1")
	}
}

// FuzzDecodeRecord feeds arbitrary bytes to both record decoders: they
// must never panic, and what they accept must encode again and decode to
// the same encoding. Seeds: testdata/records/*.bin.
func FuzzDecodeRecord(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "records", "*.bin"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x01{\"hops\":[{\"ttl\":1,\"addr\":\"fe80::1%eth0\"}],\"before\":{\"loss\":1e308}}"))
	f.Add([]byte("\x02{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := decodePath(b); err == nil {
			stable(t, b, func() ([]byte, error) { return encodePath(p) }, func(b []byte) ([]byte, error) {
				p, err := decodePath(b)
				if err != nil {
					return nil, err
				}
				return encodePath(p)
			})
		}
		if c, err := decodeChange(b); err == nil {
			stable(t, b, func() ([]byte, error) { return encodeChange(c) }, func(b []byte) ([]byte, error) {
				c, err := decodeChange(b)
				if err != nil {
					return nil, err
				}
				return encodeChange(c)
			})
		}
	})
}

// stable checks that an accepted record re-encodes, and that decoding and
// encoding that again gives the same bytes.
func stable(t *testing.T, in []byte, encode func() ([]byte, error), again func([]byte) ([]byte, error)) {
	t.Helper()
	b1, err := encode()
	if err != nil {
		t.Fatalf("accepted %q but cannot encode it: %v", in, err)
	}
	b2, err := again(b1)
	if err != nil {
		t.Fatalf("cannot decode own encoding %q: %v", b1, err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("unstable encoding of %q:\n%q\n%q", in, b1, b2)
	}
}
