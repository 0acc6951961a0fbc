package api

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// Source gives the current state of the targets.
type Source interface {
	// Targets returns every target, sorted by name; their Path is
	// ignored.
	Targets() []Target
	// Target returns the named target with its Path, and false when
	// there is no such target.
	Target(name string) (Target, bool)
}

// History is the part of history.Store the API reads; nil when
// persistence is off. Every history.Store implements it.
type History interface {
	// Paths returns the target's distinct paths, most recently seen
	// first.
	Paths(target string) ([]history.Path, error)
	// Changes returns the target's changes at or after since (all when
	// since is zero), newest first, at most limit of them.
	Changes(target string, since time.Time, limit int) ([]history.Change, error)
}

// Target is the current state of one target. Its field names are the JSON
// contract of the API.
type Target struct {
	// Name is the target's configured name (the target label).
	Name string `json:"name"`
	// Labels are the target's configured extra labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Address is the address being traced; empty while unresolved.
	Address string `json:"address,omitempty"`
	// Observed is false until the target's first interval ended; the
	// fields below are meaningful only once it is true.
	Observed bool `json:"observed"`
	// Reached tells whether the destination answered in the last interval.
	Reached bool `json:"reached"`
	// Hops is the current path's hop count.
	Hops int `json:"hops"`
	// PathHash is the current path's identity hash, formatted by
	// FormatHash (the "id" of its entry in the target's paths).
	PathHash string `json:"path_hash"`
	// PathChanges counts the target's confirmed path changes.
	PathChanges uint64 `json:"path_changes"`
	// PathSince is when the current path was first seen, if known.
	PathSince *time.Time `json:"path_since,omitempty"`
	// DestRTTSeconds is the destination's mean RTT over the last
	// interval; nil when unknown.
	DestRTTSeconds *float64 `json:"destination_rtt_seconds,omitempty"`
	// DestLossRatio is the destination's loss ratio over the last
	// interval, 0 to 1; nil when unknown.
	DestLossRatio *float64 `json:"destination_loss_ratio,omitempty"`
	// ASPath is the sequence of distinct consecutive known ASNs; rendered
	// as [] (never null) when unknown.
	ASPath []uint32 `json:"as_path"`
	// ASPathChanges counts the target's AS path changes.
	ASPathChanges uint64 `json:"as_path_changes"`
	// Degradations counts the path changes judged worse.
	Degradations uint64 `json:"degradations"`
	// LastChange summarizes the latest path change, if any.
	LastChange *ChangeSummary `json:"last_change,omitempty"`
	// BGP is the target's view of BGP; absent without BGP.
	BGP *BGP `json:"bgp,omitempty"`
	// Path is the current path's hops with their statistics; only in
	// the single-target response.
	Path []Hop `json:"path,omitempty"`
	// Flows are the paths of the target's flows when it is traced by more
	// than one (only in the single-target response; Path is flow 0's);
	// PathFlows counts the distinct ones.
	Flows     [][]Hop `json:"flows,omitempty"`
	PathFlows int     `json:"path_flows"`
}

// BGP is a target's view of BGP: the best route covering its address
// (absent when none does), how often it changed, and whether the traced
// AS path disagrees with the route's (null when nothing to compare).
type BGP struct {
	Prefix   string   `json:"prefix,omitempty"`
	ASPath   []uint32 `json:"as_path"`
	NextHop  string   `json:"next_hop,omitempty"`
	Present  bool     `json:"route_present"`
	Changes  uint64   `json:"route_changes"`
	Mismatch *bool    `json:"as_path_mismatch"`
}

// ChangeSummary is the gist of a target's latest path change.
type ChangeSummary struct {
	// Time is when the change was seen.
	Time time.Time `json:"time"`
	// Verdict is history.Worse, history.Better or history.Neutral.
	Verdict string `json:"verdict"`
	// FromHops and ToHops are the hop counts before and after.
	FromHops int `json:"from_hops"`
	ToHops   int `json:"to_hops"`
}

// Hop is one TTL of a target's current path, with its statistics over the
// last interval.
type Hop struct {
	// TTL is the hop's distance, 1 for the first router.
	TTL int `json:"hop"`
	// Address is the responder; empty for a silent hop.
	Address string `json:"address,omitempty"`
	// Name is the responder's reverse-DNS name, if known.
	Name string `json:"name,omitempty"`
	// ASN and ASOrg are the responder's autonomous system, if known.
	ASN   uint32 `json:"asn,omitempty"`
	ASOrg string `json:"as_org,omitempty"`
	// MPLS describes the MPLS label stack the responder quoted (RFC
	// 4950), if any.
	MPLS string `json:"mpls,omitempty"`
	// Sent and Replies are the probes sent to this TTL and answered.
	Sent    int `json:"sent"`
	Replies int `json:"replies"`
	// LossRatio is the response loss, 0 to 1; ForwardLossRatio the part
	// of it that persisted to the destination in the same round. A
	// non-finite value is rendered as null.
	LossRatio        float64 `json:"loss_ratio"`
	ForwardLossRatio float64 `json:"forward_loss_ratio"`
	// RTT summarizes the replies' round-trip times; nil without replies.
	RTT *RTT `json:"rtt,omitempty"`
}

// RTT summarizes round-trip times, in seconds. A non-finite value is
// rendered as null.
type RTT struct {
	MeanSeconds   float64 `json:"mean_seconds"`
	MinSeconds    float64 `json:"min_seconds"`
	MaxSeconds    float64 `json:"max_seconds"`
	StddevSeconds float64 `json:"stddev_seconds"`
}

// FormatHash formats a path identity hash as the API shows it: 16
// lower-case hex digits. Target.PathHash must be filled with it so that it
// matches the "id" of the path in /api/v1/targets/{name}/paths.
func FormatHash(h uint64) string { return fmt.Sprintf("%016x", h) }

// MarshalJSON renders h with its non-finite ratios as null.
func (h Hop) MarshalJSON() ([]byte, error) {
	type plain Hop
	return json.Marshal(struct {
		plain
		LossRatio        number `json:"loss_ratio"`
		ForwardLossRatio number `json:"forward_loss_ratio"`
	}{plain(h), number(h.LossRatio), number(h.ForwardLossRatio)})
}

// MarshalJSON renders r with its non-finite values as null.
func (r RTT) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		MeanSeconds   number `json:"mean_seconds"`
		MinSeconds    number `json:"min_seconds"`
		MaxSeconds    number `json:"max_seconds"`
		StddevSeconds number `json:"stddev_seconds"`
	}{number(r.MeanSeconds), number(r.MinSeconds), number(r.MaxSeconds), number(r.StddevSeconds)})
}
