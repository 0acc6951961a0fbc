package web

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/api"
	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// fakeSource is an api.Source over a fixed list of targets.
type fakeSource []api.Target

func (s fakeSource) Targets() []api.Target {
	out := slices.Clone(s)
	for i := range out {
		out[i].Path = nil
	}
	slices.SortFunc(out, func(a, b api.Target) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (s fakeSource) Target(name string) (api.Target, bool) {
	for _, t := range s {
		if t.Name == name {
			return t, true
		}
	}
	return api.Target{}, false
}

// failingHistory is an api.History whose store is broken.
type failingHistory struct{ err error }

func (f failingHistory) Paths(string) ([]history.Path, error) { return nil, f.err }
func (f failingHistory) Changes(string, time.Time, int) ([]history.Change, error) {
	return nil, f.err
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// evilName is a reverse-DNS name that needs escaping everywhere.
const evilName = `<script>alert("x")</script>'.example`

func ptr[T any](v T) *T { return &v }

func rtt(meanMS float64) *api.RTT {
	return &api.RTT{MeanSeconds: meanMS / 1000, MinSeconds: meanMS * 0.8 / 1000,
		MaxSeconds: meanMS * 1.5 / 1000, StddevSeconds: meanMS * 0.1 / 1000}
}

// hops returns n answering hops, the last one the destination 192.0.2.254.
func hops(n int) []api.Hop {
	out := make([]api.Hop, n)
	for i := range out {
		out[i] = api.Hop{TTL: i + 1, Address: fmt.Sprintf("10.%d.%d.1", i/250, i%250+1),
			Name: fmt.Sprintf("r%d.core.example.net", i+1), ASN: uint32(64500 + i/8),
			Sent: 10, Replies: 10, RTT: rtt(float64(i+1) * 1.5)}
	}
	if n > 0 {
		out[n-1].Address, out[n-1].Name = "192.0.2.254", "dest.example.net"
	}
	return out
}

// fiveHops has a lossy MPLS hop (2), a silent hop (3), a slow hop (4)
// and a long name (1).
func fiveHops() []api.Hop {
	h := hops(5)
	h[0].Name, h[0].ASOrg = "ae-1.r21.frnkge13.de.bb.gin.ntt.example.net", "EXAMPLE-TRANSIT-NETWORKS-INCORPORATED"
	h[1].LossRatio, h[1].Replies, h[1].MPLS = 0.4, 6, "label=24001 tc=0 s=1 ttl=1"
	h[2] = api.Hop{TTL: 3, Sent: 10, LossRatio: 1}
	h[3].RTT, h[3].ForwardLossRatio = rtt(180), 0.1
	return h
}

// target is a reached target with the given path.
func target(name string, path []api.Hop) api.Target {
	t := api.Target{Name: name, Address: "192.0.2.254", Observed: true, Reached: true, Hops: len(path),
		PathHash: api.FormatHash(0xabc), PathChanges: 3, PathSince: ptr(t0.Add(10 * time.Minute)),
		DestRTTSeconds: ptr(0.0125), DestLossRatio: ptr(0.0), Path: path,
		LastChange: &api.ChangeSummary{Time: t0.Add(10 * time.Minute), Verdict: history.Worse, FromHops: 3, ToHops: 4}}
	if n := len(path); n > 0 {
		t.DestRTTSeconds = ptr(path[n-1].RTT.MeanSeconds)
	}
	return t
}

// unreached is an observed target whose destination did not answer.
func unreached() api.Target {
	t := target("unreached", hops(3))
	t.Reached, t.Address, t.DestRTTSeconds, t.DestLossRatio = false, "198.51.100.99", nil, ptr(1.0)
	t.LastChange = &api.ChangeSummary{Time: t0.Add(30 * time.Minute), Verdict: history.Better, FromHops: 4, ToHops: 3}
	return t
}

// source is the pages' fixture: a changed target, an escaping nightmare,
// a target not traced yet, an unreached one and a big one.
func source() fakeSource {
	evil := target(`x"><script>alert(1)</script>`, fiveHops())
	evil.Path[0].Name, evil.LastChange = evilName, nil
	return fakeSource{
		target("cloudflare-dns", fiveHops()),
		evil,
		{Name: "a/b c", Address: "192.0.2.77"},
		unreached(),
		target("big", hops(64)),
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

var (
	oldHops = []history.Hop{
		{TTL: 1, Addr: addr("192.0.2.1"), Name: "gw.example.net", ASN: 64500},
		{TTL: 2, Addr: addr("198.51.100.1"), ASN: 64501},
		{TTL: 3, Addr: addr("1.1.1.1"), Name: "one.one.one.one", ASN: 13335},
	}
	newHops = []history.Hop{
		{TTL: 1, Addr: addr("192.0.2.1"), Name: "gw.example.net", ASN: 64500},
		{TTL: 2, Addr: addr("203.0.113.9"), Name: evilName, ASN: 64502},
		{TTL: 3},
		{TTL: 4, Addr: addr("1.1.1.1"), Name: "one.one.one.one", ASN: 13335},
	}
)

// change is the fixture's change: a longer path through AS 64502 with a
// silent hop, judged worse.
func change() history.Change {
	c := history.Change{ID: 2, Target: "cloudflare-dns", Time: t0.Add(10 * time.Minute), Verdict: history.Worse,
		Before: history.Snapshot{Hops: 3, Path: oldHops, ASPath: []uint32{64500, 64501, 13335},
			DestRTT: 10 * time.Millisecond, Reached: true},
		After: history.Snapshot{Hops: 4, Path: newHops, ASPath: []uint32{64500, 64502, 13335},
			DestRTT: 12500 * time.Microsecond, DestLoss: 0.1, Reached: true}}
	c.DiffTTLs = history.DiffTTLs(c.Before.Path, c.After.Path)
	return c
}

// store returns a history holding n copies of the fixture's change for
// cloudflare-dns, 1 minute apart (the last at change().Time), plus one
// with an unknown loss first.
func store(t *testing.T, n int) *history.Memory {
	t.Helper()
	m := history.NewMemory(history.DefaultOptions())
	lost := change()
	lost.After = history.Snapshot{Hops: 2, Path: oldHops[:2], DestLoss: math.NaN()}
	lost.Time = t0.Add(-time.Hour)
	lost.DiffTTLs = history.DiffTTLs(lost.Before.Path, lost.After.Path)
	if _, err := m.AddChange(lost); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c := change()
		c.Time = c.Time.Add(time.Duration(i-n+1) * time.Minute)
		if _, err := m.AddChange(c); err != nil {
			t.Fatal(err)
		}
	}
	return m
}
