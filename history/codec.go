package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"time"
)

// recordVersion is the first byte of every stored record; the rest is
// JSON of the wire types below. A decoder meeting another version refuses
// the record (ErrBadRecord) rather than guess.
const recordVersion byte = 1

// maxTTL bounds a hop's TTL, as the IP header does.
const maxTTL = 255

// wireHop is a Hop as stored.
type wireHop struct {
	TTL  int        `json:"ttl"`
	Addr netip.Addr `json:"addr,omitzero"`
	Name string     `json:"name,omitempty"`
	ASN  uint32     `json:"asn,omitempty"`
}

// wirePath is a Path as stored; times are Unix nanoseconds, 0 for zero.
type wirePath struct {
	ID    uint64    `json:"id"`
	Hops  []wireHop `json:"hops"`
	First int64     `json:"first,omitempty"`
	Last  int64     `json:"last,omitempty"`
	Seen  int       `json:"seen"`
}

// wireSnapshot is a Snapshot as stored; Loss is absent when unknown (NaN,
// which JSON cannot carry).
type wireSnapshot struct {
	Hops    int       `json:"hops"`
	Path    []wireHop `json:"path,omitempty"`
	ASPath  []uint32  `json:"as_path,omitempty"`
	RTT     int64     `json:"rtt_ns,omitempty"`
	Loss    *float64  `json:"loss,omitempty"`
	Reached bool      `json:"reached,omitempty"`
	BGPLen  int       `json:"bgp_as_path_len,omitempty"`
}

// wireRoute and wireBGPChange are a BGPRoute and a BGPChange as stored.
type wireRoute struct {
	Prefix  netip.Prefix `json:"prefix"`
	ASPath  []uint32     `json:"as_path,omitempty"`
	NextHop netip.Addr   `json:"next_hop,omitzero"`
}

type wireBGPChange struct {
	Time   int64      `json:"time,omitempty"`
	Before *wireRoute `json:"before,omitempty"`
	After  *wireRoute `json:"after,omitempty"`
}

// wireChange is a Change as stored.
type wireChange struct {
	ID      uint64          `json:"id"`
	Time    int64           `json:"time,omitempty"`
	Target  string          `json:"target"`
	Before  wireSnapshot    `json:"before"`
	After   wireSnapshot    `json:"after"`
	Diff    []int           `json:"diff_ttls,omitempty"`
	Verdict string          `json:"verdict,omitempty"`
	Kind    string          `json:"kind,omitempty"`
	Checked bool            `json:"bgp_checked,omitempty"`
	BGP     []wireBGPChange `json:"bgp,omitempty"`
}

// encodePath encodes p for storage.
func encodePath(p Path) ([]byte, error) {
	hops, err := toWireHops(p.Hops)
	if err != nil {
		return nil, err
	}
	w := wirePath{ID: p.ID, Hops: hops, First: toNanos(p.FirstSeen), Last: toNanos(p.LastSeen), Seen: p.TimesSeen}
	if err := checkPath(w); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return encode(w)
}

// decodePath decodes a stored path; errors wrap ErrBadRecord.
func decodePath(b []byte) (Path, error) {
	var w wirePath
	if err := decode(b, &w); err != nil {
		return Path{}, err
	}
	hops, err := fromWireHops(w.Hops)
	if err != nil {
		return Path{}, err
	}
	if err := checkPath(w); err != nil {
		return Path{}, fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	return Path{ID: w.ID, Hops: hops, FirstSeen: fromNanos(w.First), LastSeen: fromNanos(w.Last), TimesSeen: w.Seen}, nil
}

// encodeChange encodes c for storage.
func encodeChange(c Change) ([]byte, error) {
	before, err := toWireSnapshot(c.Before)
	if err != nil {
		return nil, err
	}
	after, err := toWireSnapshot(c.After)
	if err != nil {
		return nil, err
	}
	w := wireChange{ID: c.ID, Time: toNanos(c.Time), Target: c.Target,
		Before: before, After: after, Diff: c.DiffTTLs, Verdict: c.Verdict, Kind: c.Kind, Checked: c.BGPChecked, BGP: toWireBGP(c.BGP)}
	if err := checkChange(w); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return encode(w)
}

// decodeChange decodes a stored change; errors wrap ErrBadRecord.
func decodeChange(b []byte) (Change, error) {
	var w wireChange
	if err := decode(b, &w); err != nil {
		return Change{}, err
	}
	if err := checkChange(w); err != nil {
		return Change{}, fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	before, err := fromWireSnapshot(w.Before)
	if err != nil {
		return Change{}, err
	}
	after, err := fromWireSnapshot(w.After)
	if err != nil {
		return Change{}, err
	}
	return Change{ID: w.ID, Time: fromNanos(w.Time), Target: w.Target,
		Before: before, After: after, DiffTTLs: w.Diff, Verdict: w.Verdict,
		Kind: w.Kind, BGPChecked: w.Checked, BGP: fromWireBGP(w.BGP)}, nil
}

// checkPath and checkChange are the checks of a record's fields beyond
// its hops' TTLs. Encoders and decoders apply the same ones, so a record a
// store writes is one it reads back.
func checkPath(w wirePath) error {
	if w.Seen < 0 {
		return fmt.Errorf("times seen %d", w.Seen)
	}
	return nil
}

func checkChange(w wireChange) error {
	switch w.Verdict {
	case Worse, Better, Neutral, "":
	default:
		return fmt.Errorf("verdict %q", w.Verdict)
	}
	switch w.Kind {
	case "", KindPath, KindRouting:
	default:
		return fmt.Errorf("kind %q", w.Kind)
	}
	for i, b := range w.BGP {
		for _, r := range []*wireRoute{b.Before, b.After} {
			if r != nil && !r.Prefix.IsValid() {
				return fmt.Errorf("BGP change %d: invalid prefix", i)
			}
		}
	}
	for _, ttl := range w.Diff {
		if ttl < 1 || ttl > maxTTL {
			return fmt.Errorf("differing TTL %d", ttl)
		}
	}
	for _, s := range []wireSnapshot{w.Before, w.After} {
		if s.Hops < 0 || s.Hops > maxTTL {
			return fmt.Errorf("hop count %d out of 0..%d", s.Hops, maxTTL)
		}
	}
	return nil
}

func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("history: encode: %w", err)
	}
	return append([]byte{recordVersion}, b...), nil
}

// decode checks the version byte and decodes the JSON strictly: one
// value, no trailing data.
func decode(b []byte, v any) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrBadRecord)
	}
	if b[0] != recordVersion {
		return fmt.Errorf("%w: unsupported record version %d (want %d)", ErrBadRecord, b[0], recordVersion)
	}
	d := json.NewDecoder(bytes.NewReader(b[1:]))
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data", ErrBadRecord)
	}
	return nil
}

func toWireHops(hops []Hop) ([]wireHop, error) {
	out := make([]wireHop, len(hops))
	for i, h := range hops {
		if h.TTL < 1 || h.TTL > maxTTL {
			return nil, fmt.Errorf("history: hop %d: TTL %d out of 1..%d", i, h.TTL, maxTTL)
		}
		out[i] = wireHop{TTL: h.TTL, Addr: h.Addr, Name: h.Name, ASN: h.ASN}
	}
	return out, nil
}

func fromWireHops(hops []wireHop) ([]Hop, error) {
	if len(hops) == 0 {
		return nil, nil
	}
	out := make([]Hop, len(hops))
	for i, h := range hops {
		if h.TTL < 1 || h.TTL > maxTTL {
			return nil, fmt.Errorf("%w: hop %d: TTL %d out of 1..%d", ErrBadRecord, i, h.TTL, maxTTL)
		}
		out[i] = Hop{TTL: h.TTL, Addr: h.Addr, Name: h.Name, ASN: h.ASN}
	}
	return out, nil
}

func toWireSnapshot(s Snapshot) (wireSnapshot, error) {
	hops, err := toWireHops(s.Path)
	if err != nil {
		return wireSnapshot{}, err
	}
	w := wireSnapshot{Hops: s.Hops, Path: hops, ASPath: s.ASPath, RTT: int64(s.DestRTT), Reached: s.Reached, BGPLen: s.BGPASPathLength}
	if !math.IsNaN(s.DestLoss) && !math.IsInf(s.DestLoss, 0) {
		w.Loss = &s.DestLoss
	}
	return w, nil
}

func fromWireSnapshot(w wireSnapshot) (Snapshot, error) {
	hops, err := fromWireHops(w.Path)
	if err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{Hops: w.Hops, Path: hops, ASPath: w.ASPath, DestRTT: time.Duration(w.RTT), DestLoss: math.NaN(), Reached: w.Reached, BGPASPathLength: w.BGPLen}
	if w.Loss != nil {
		s.DestLoss = *w.Loss
	}
	return s, nil
}

// toNanos returns t as Unix nanoseconds, 0 for the zero time.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of toNanos; times come back in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func toWireBGP(cs []BGPChange) []wireBGPChange {
	if len(cs) == 0 {
		return nil
	}
	route := func(r *BGPRoute) *wireRoute {
		if r == nil {
			return nil
		}
		return &wireRoute{Prefix: r.Prefix, ASPath: r.ASPath, NextHop: r.NextHop}
	}
	out := make([]wireBGPChange, len(cs))
	for i, c := range cs {
		out[i] = wireBGPChange{Time: toNanos(c.Time), Before: route(c.Before), After: route(c.After)}
	}
	return out
}

func fromWireBGP(ws []wireBGPChange) []BGPChange {
	if len(ws) == 0 {
		return nil
	}
	route := func(r *wireRoute) *BGPRoute {
		if r == nil {
			return nil
		}
		return &BGPRoute{Prefix: r.Prefix, ASPath: r.ASPath, NextHop: r.NextHop}
	}
	out := make([]BGPChange, len(ws))
	for i, w := range ws {
		out[i] = BGPChange{Time: fromNanos(w.Time), Before: route(w.Before), After: route(w.After)}
	}
	return out
}
