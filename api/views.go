package api

import (
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
}

// changeView is a history.Change.
type changeView struct {
	ID       uint64       `json:"id"`
	Time     time.Time    `json:"time"`
	Verdict  string       `json:"verdict"`
	Before   snapshotView `json:"before"`
	After    snapshotView `json:"after"`
	DiffHops []int        `json:"diff_hops"`
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
	return v
}

// viewChange renders c.
func viewChange(c history.Change) changeView {
	return changeView{
		ID:       c.ID,
		Time:     c.Time.UTC(),
		Verdict:  c.Verdict,
		Before:   viewSnapshot(c.Before),
		After:    viewSnapshot(c.After),
		DiffHops: nonNil(c.DiffTTLs),
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
