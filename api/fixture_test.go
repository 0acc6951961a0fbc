package api

import (
	"errors"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// fakeSource is a Source over a fixed list of targets.
type fakeSource []Target

func (s fakeSource) Targets() []Target {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b Target) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (s fakeSource) Target(name string) (Target, bool) {
	for _, t := range s {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// failingHistory is a History whose store is broken.
type failingHistory struct{ err error }

func (f failingHistory) Paths(string) ([]history.Path, error) { return nil, f.err }
func (f failingHistory) Changes(string, time.Time, int) ([]history.Change, error) {
	return nil, f.err
}

// Every history.Store is a History.
var _ History = history.Store(nil)

var (
	t0         = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	oldPathID  = uint64(0x000a1b2c3d4e5f6)
	newPathID  = uint64(0x00f0e0d0c0b0a09)
	errBadDisk = errors.New("history: read data/traceroute_exporter.db: input/output error")
)

func ptr[T any](v T) *T { return &v }

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// oldHops and newHops are the paths before and after the fixture's
// changes: the new one is longer, through AS 64502, with a silent hop.
var (
	oldHops = []history.Hop{
		{TTL: 1, Addr: addr("192.0.2.1"), Name: "gw.example.net", ASN: 64500},
		{TTL: 2, Addr: addr("198.51.100.1"), ASN: 64501},
		{TTL: 3, Addr: addr("1.1.1.1"), Name: "one.one.one.one", ASN: 13335},
	}
	newHops = []history.Hop{
		{TTL: 1, Addr: addr("192.0.2.1"), Name: "gw.example.net", ASN: 64500},
		{TTL: 2, Addr: addr("203.0.113.9"), ASN: 64502},
		{TTL: 3},
		{TTL: 4, Addr: addr("1.1.1.1"), Name: "one.one.one.one", ASN: 13335},
	}
)

// targets is the fixture's current state: a traced target with a change,
// a target not yet observed whose name needs escaping, and one with
// non-finite numbers.
func targets() fakeSource {
	return fakeSource{
		{
			Name: "cloudflare-dns", Labels: map[string]string{"provider": "cloudflare"}, Address: "1.1.1.1",
			Observed: true, Reached: true, Hops: 4, PathHash: FormatHash(newPathID), PathChanges: 2,
			PathSince:      ptr(t0.Add(10 * time.Minute)),
			DestRTTSeconds: ptr(0.0125), DestLossRatio: ptr(0.0),
			ASPath: []uint32{64500, 64502, 13335}, ASPathChanges: 2, Degradations: 1,
			LastChange: &ChangeSummary{Time: t0.Add(10 * time.Minute), Verdict: history.Worse, FromHops: 3, ToHops: 4},
			Path: []Hop{
				{TTL: 1, Address: "192.0.2.1", Name: "gw.example.net", ASN: 64500, ASOrg: "EXAMPLE-GW", Sent: 10, Replies: 10,
					RTT: &RTT{MeanSeconds: 0.001, MinSeconds: 0.0008, MaxSeconds: 0.0015, StddevSeconds: 0.0002}},
				{TTL: 2, Address: "203.0.113.9", ASN: 64502, MPLS: "label=24001 tc=0 s=1 ttl=1", Sent: 10, Replies: 6,
					LossRatio: 0.4, RTT: &RTT{MeanSeconds: 0.005, MinSeconds: 0.004, MaxSeconds: 0.007, StddevSeconds: 0.001}},
				{TTL: 3, Sent: 10, LossRatio: 1},
				{TTL: 4, Address: "1.1.1.1", Name: "one.one.one.one", ASN: 13335, Sent: 10, Replies: 10,
					RTT: &RTT{MeanSeconds: 0.0125, MinSeconds: 0.011, MaxSeconds: 0.015, StddevSeconds: 0.0011}},
			},
		},
		{Name: "a/b c", Address: "192.0.2.77"},
		{
			Name: "nan.example-1", Address: "2001:db8::1", Observed: true, Hops: 1, PathHash: FormatHash(7),
			DestRTTSeconds: ptr(math.NaN()), DestLossRatio: ptr(math.Inf(1)),
			Path: []Hop{{TTL: 1, LossRatio: math.NaN(), ForwardLossRatio: math.NaN(),
				RTT: &RTT{MeanSeconds: 0.002, MinSeconds: 0.002, MaxSeconds: 0.002, StddevSeconds: math.NaN()}}},
		},
	}
}

// store returns a history of cloudflare-dns: the two paths and three
// changes, 10 minutes apart, the first with an unknown (NaN) loss.
func store(t *testing.T) *history.Memory {
	t.Helper()
	m := history.NewMemory(history.DefaultOptions())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.RecordPath("cloudflare-dns", history.Path{ID: oldPathID, Hops: oldHops}, t0.Add(-time.Hour)))
	must(m.RecordPath("cloudflare-dns", history.Path{ID: oldPathID, Hops: oldHops}, t0))
	must(m.RecordPath("cloudflare-dns", history.Path{ID: newPathID, Hops: newHops}, t0.Add(10*time.Minute)))
	oldSnap := history.Snapshot{Hops: 3, Path: oldHops, ASPath: []uint32{64500, 64501, 13335},
		DestRTT: 10 * time.Millisecond, DestLoss: 0, Reached: true}
	newSnap := history.Snapshot{Hops: 4, Path: newHops, ASPath: []uint32{64500, 64502, 13335},
		DestRTT: 12500 * time.Microsecond, DestLoss: 0.1, Reached: true}
	lost := history.Snapshot{Hops: 2, Path: oldHops[:2], DestLoss: math.NaN()}
	for i, c := range []history.Change{
		{Before: oldSnap, After: lost, Verdict: history.Worse},
		{Before: lost, After: oldSnap, Verdict: history.Better},
		{Before: bgpLen(oldSnap, 3), After: bgpLen(newSnap, 4), Verdict: history.Worse, Kind: history.KindPath, BGPChecked: true,
			BGP: []history.BGPChange{{Time: t0.Add(9 * time.Minute),
				Before: &history.BGPRoute{Prefix: netip.MustParsePrefix("1.1.1.0/24"), ASPath: []uint32{64501, 64510, 13335}, NextHop: netip.MustParseAddr("192.0.2.1")},
				After:  &history.BGPRoute{Prefix: netip.MustParsePrefix("1.1.1.0/24"), ASPath: []uint32{64502, 64520, 64530, 13335}, NextHop: netip.MustParseAddr("192.0.2.1")}}}},
	} {
		c.Target, c.Time = "cloudflare-dns", t0.Add(time.Duration(i-1)*10*time.Minute)
		c.DiffTTLs = history.DiffTTLs(c.Before.Path, c.After.Path)
		_, err := m.AddChange(c)
		must(err)
	}
	return m
}

// bgpLen is s with a BGP route of an AS path of length n.
func bgpLen(s history.Snapshot, n int) history.Snapshot {
	s.BGPASPathLength = n
	return s
}
