// Package enrich adds the evidence behind an alert to each target's path,
// off the probing loop: the AS number and name of every hop, the AS path
// and its changes, and a persistent history of path changes, each judged
// worse, better or neutral. The prober calls Target.Update after every
// interval; the collector and the API read the immutable Evidence.
package enrich

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/asn"
	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// ASNLookup maps an address to its AS; *asn.Holder implements it.
type ASNLookup interface {
	Lookup(netip.Addr) (asn.Info, bool)
}

// NameLookup returns a cached reverse-DNS name without blocking;
// *rdns.Cache implements it.
type NameLookup interface {
	Name(netip.Addr) (string, bool)
}

// HopInfo is what is known about the responder of one hop.
type HopInfo struct {
	Name string
	ASN  uint32 // 0: unknown
	Org  string
}

// ChangeSummary is the latest path change of a target.
type ChangeSummary struct {
	ID       uint64
	Time     time.Time
	Verdict  string
	FromHops int
	ToHops   int
	// Before and After describe the two paths in one line each, for alert
	// e-mails: every hop's address and AS, the hop count and the
	// destination's RTT (see Describe).
	Before, After string
	// BGP describes the BGP changes correlated with the change in one
	// line ("none" when none was; empty without BGP).
	BGP string
}

// Describe renders one side of a change in one line: "198.18.1.2 AS64501,
// *, 198.18.7.2 AS64507 (3 hops, RTT 10.2 ms, loss 0%)"; "*" is a silent hop.
func Describe(s history.Snapshot) string {
	var b strings.Builder
	for i, h := range s.Path {
		if i > 0 {
			b.WriteString(", ")
		}
		if !h.Addr.IsValid() {
			b.WriteByte('*')
			continue
		}
		b.WriteString(h.Addr.String())
		if h.ASN != 0 {
			fmt.Fprintf(&b, " AS%d", h.ASN)
		}
	}
	fmt.Fprintf(&b, " (%d hops", s.Hops)
	if !s.Reached {
		b.WriteString(", destination not reached")
	} else if s.DestRTT > 0 {
		fmt.Fprintf(&b, ", RTT %.1f ms", float64(s.DestRTT)/float64(time.Millisecond))
	}
	if !math.IsNaN(s.DestLoss) {
		fmt.Fprintf(&b, ", loss %.0f%%", s.DestLoss*100)
	}
	b.WriteByte(')')
	return b.String()
}

// summarize is a stored change's summary.
func summarize(c history.Change) *ChangeSummary {
	cs := &ChangeSummary{ID: c.ID, Time: c.Time, Verdict: c.Verdict, FromHops: c.Before.Hops, ToHops: c.After.Hops,
		Before: Describe(c.Before), After: Describe(c.After)}
	if c.BGPChecked {
		cs.BGP = history.DescribeBGPChanges(c.BGP)
	}
	return cs
}

// Evidence is an immutable view of a target's enrichment, replaced after
// every interval.
type Evidence struct {
	// Hops has one entry per TTL of the current path (index TTL-1).
	Hops []HopInfo
	// ASPath is the sequence of distinct consecutive known ASNs of the
	// path; ASPathHash its hash (0 when empty).
	ASPath     []uint32
	ASPathHash uint64
	// ASPathChanges counts changes of the sequence of known ASNs;
	// Degradations counts path changes judged worse.
	ASPathChanges uint64
	Degradations  uint64
	// LastChange is the latest path change (also one recorded before a
	// restart, when history is kept), nil if none is known.
	LastChange *ChangeSummary
	// BGP is the target's view of BGP; nil without BGP or before the
	// target's address is known.
	BGP *BGPView
}

// ASPathOf returns the distinct consecutive known ASNs of hops, in order;
// unknown hops (ASN 0) are skipped.
func ASPathOf(hops []HopInfo) []uint32 {
	out := []uint32{}
	for _, h := range hops {
		if h.ASN != 0 && (len(out) == 0 || out[len(out)-1] != h.ASN) {
			out = append(out, h.ASN)
		}
	}
	return out
}

// asPathHash is a stable 52-bit FNV-1a hash of an AS path's text form
// ("64500 64501"), like the path hash, exact in a float64; 0 when empty.
func asPathHash(p []uint32) uint64 {
	if len(p) == 0 {
		return 0
	}
	h := fnv.New64a()
	for i, a := range p {
		if i > 0 {
			h.Write([]byte{' '})
		}
		h.Write([]byte(strconv.FormatUint(uint64(a), 10)))
	}
	return h.Sum64() & (1<<52 - 1)
}

func equalPath(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
