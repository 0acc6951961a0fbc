package api

import (
	"cmp"
	"encoding/json"
	"math"
	"net/netip"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// This file renders the history's records as the API shows them. The
// history structs are never encoded directly: their field names, netip
// addresses, durations and NaN losses are not the JSON contract.

// number is a float64 rendered as null when it is NaN or infinite, which
// encoding/json refuses.
type number float64

// MarshalJSON implements json.Marshaler.
func (n number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// finite returns p, or nil when *p is NaN or infinite.
func finite(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return p
}

// pathHop is one hop of a recorded path; Address is empty for a hop that
// did not answer.
type pathHop struct {
	TTL     int    `json:"hop"`
	Address string `json:"address,omitempty"`
	Name    string `json:"name,omitempty"`
	ASN     uint32 `json:"asn,omitempty"`
}

// pathView is a history.Path: Hops is its hop count (the last hop's
// TTL), Path its hops.
type pathView struct {
	ID        string    `json:"id"`
	Hops      int       `json:"hops"`
	Path      []pathHop `json:"path"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	TimesSeen int       `json:"times_seen"`
}

// snapshotView is a history.Snapshot: the state on one side of a change.
type snapshotView struct {
	Hops           int       `json:"hops"`
	Path           []pathHop `json:"path"`
	ASPath         []uint32  `json:"as_path"`
	DestRTTSeconds *number   `json:"destination_rtt_seconds"`
	DestLossRatio  number    `json:"destination_loss_ratio"`
	Reached        bool      `json:"reached"`
	// BGPASPathLength is the AS path length of the BGP route covering the
	// target on this side; null when unknown (no BGP or no route).
	BGPASPathLength *int `json:"bgp_as_path_length"`
}

// bgpRouteView is a history.BGPRoute.
type bgpRouteView struct {
	Prefix  string   `json:"prefix"`
	ASPath  []uint32 `json:"as_path"`
	NextHop string   `json:"next_hop"`
}

// bgpChangeView is a history.BGPChange; a null before is an
// announcement, a null after a withdrawal.
type bgpChangeView struct {
	Time        time.Time     `json:"time"`
	Before      *bgpRouteView `json:"before"`
	After       *bgpRouteView `json:"after"`
	Description string        `json:"description"`
}

// changeView is a history.Change.
type changeView struct {
	ID       uint64       `json:"id"`
	Time     time.Time    `json:"time"`
	Verdict  string       `json:"verdict"`
	Before   snapshotView `json:"before"`
	After    snapshotView `json:"after"`
	DiffHops []int        `json:"diff_hops"`
	// Kind is "path" (the traced path changed) or "routing" (the BGP
	// route changed, the path did not).
	Kind string `json:"kind"`
	// BGPChecked tells whether BGP was correlated; BGP lists the changes
	// of the covering route that went with the event (empty: none did).
	BGPChecked bool            `json:"bgp_checked"`
	BGP        []bgpChangeView `json:"bgp"`
}

// viewHops renders hops, never as null.
func viewHops(hops []history.Hop) []pathHop {
	out := make([]pathHop, 0, len(hops))
	for _, h := range hops {
		out = append(out, pathHop{TTL: h.TTL, Address: addrString(h.Addr), Name: h.Name, ASN: h.ASN})
	}
	return out
}

// addrString is a's text, empty for the zero Addr.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// viewPath renders p.
func viewPath(p history.Path) pathView {
	v := pathView{
		ID:        FormatHash(p.ID),
		Path:      viewHops(p.Hops),
		FirstSeen: p.FirstSeen.UTC(),
		LastSeen:  p.LastSeen.UTC(),
		TimesSeen: p.TimesSeen,
	}
	if n := len(p.Hops); n > 0 {
		v.Hops = p.Hops[n-1].TTL
	}
	return v
}

// viewSnapshot renders s; an RTT of 0 (unknown) and a NaN loss are null.
func viewSnapshot(s history.Snapshot) snapshotView {
	v := snapshotView{
		Hops:          s.Hops,
		Path:          viewHops(s.Path),
		ASPath:        nonNil(s.ASPath),
		DestLossRatio: number(s.DestLoss),
		Reached:       s.Reached,
	}
	if s.DestRTT > 0 {
		rtt := number(s.DestRTT.Seconds())
		v.DestRTTSeconds = &rtt
	}
	if s.BGPASPathLength > 0 {
		n := s.BGPASPathLength
		v.BGPASPathLength = &n
	}
	return v
}

// viewBGPRoute renders r (nil: none).
func viewBGPRoute(r *history.BGPRoute) *bgpRouteView {
	if r == nil {
		return nil
	}
	return &bgpRouteView{Prefix: r.Prefix.String(), ASPath: nonNil(r.ASPath), NextHop: addrString(r.NextHop)}
}

// viewBGP renders cs, never as null.
func viewBGP(cs []history.BGPChange) []bgpChangeView {
	out := make([]bgpChangeView, 0, len(cs))
	for _, c := range cs {
		out = append(out, bgpChangeView{Time: c.Time.UTC(), Before: viewBGPRoute(c.Before), After: viewBGPRoute(c.After), Description: history.DescribeBGP(c)})
	}
	return out
}

// viewChange renders c.
func viewChange(c history.Change) changeView {
	return changeView{
		ID:         c.ID,
		Time:       c.Time.UTC(),
		Verdict:    c.Verdict,
		Before:     viewSnapshot(c.Before),
		After:      viewSnapshot(c.After),
		DiffHops:   nonNil(c.DiffTTLs),
		Kind:       cmp.Or(c.Kind, history.KindPath),
		BGPChecked: c.BGPChecked,
		BGP:        viewBGP(c.BGP),
	}
}

// viewTarget prepares t for encoding: non-finite numbers dropped, times
// in UTC, the AS path never null, the path only when withPath.
func viewTarget(t Target, withPath bool) Target {
	t.DestRTTSeconds = finite(t.DestRTTSeconds)
	t.DestLossRatio = finite(t.DestLossRatio)
	t.ASPath = nonNil(t.ASPath)
	if t.PathSince != nil {
		since := t.PathSince.UTC()
		t.PathSince = &since
	}
	if t.LastChange != nil {
		lc := *t.LastChange
		lc.Time = lc.Time.UTC()
		t.LastChange = &lc
	}
	if !withPath {
		t.Path = nil
	}
	return t
}

// nonNil returns s, or an empty slice when s is nil, so that it encodes
// as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
