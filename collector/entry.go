package collector

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/traceroute-exporter/traceroute_exporter/bgp"
	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
)

// entry is what a scrape needs of one target beyond its snapshot and
// evidence: its label values, rendered once, and the TTLs of its path.
// It is built once per (snapshot, evidence, label set), never changed
// after, and shared by every scrape until one of the three changes (a
// snapshot is replaced after every interval, the evidence at most as
// often). It is kept small: per TTL only a pointer into the snapshot;
// addresses and AS numbers are rendered as they are written.
type entry struct {
	snap *pathstate.Snapshot // as the target had it (nil: none)
	s    *pathstate.Snapshot // never nil
	evid *enrich.Evidence    // as the target had it (nil: none)
	ev   *enrich.Evidence    // never nil
	// known: a path is known and hops are its TTLs.
	known bool
	// tok: every target label value is valid UTF-8 (else the registry
	// drops every series of the target).
	tok bool
	// tv are the values of layouts.tnames (target and static labels);
	// tj is them rendered `name="escaped value"`, comma-separated, with
	// the one of tv[k] starting at toff[k] (toff[len(tv)] = len(tj)+1).
	tv   []string
	tj   string
	toff []int
	hops []hopEntry
}

// hopEntry is one TTL of one flow's path.
type hopEntry struct {
	st   *pathstate.Hop
	flow int
}

var (
	noHopInfo  enrich.HopInfo
	noSnapshot pathstate.Snapshot // for a target given without one
)

func newEntry(t Target, l *layouts) *entry {
	e := &entry{snap: t.Snapshot, s: t.Snapshot, evid: t.Evidence, ev: t.Evidence, tok: true}
	if e.ev == nil {
		e.ev = &noEvidence
	}
	if e.s == nil {
		e.s = &noSnapshot
	}
	var b strings.Builder
	for k, n := range l.tnames {
		v := t.Labels[n]
		if k == l.target {
			v = t.Name
		}
		e.tv = append(e.tv, v)
		e.tok = e.tok && utf8.ValidString(v)
		if k > 0 {
			b.WriteByte(',')
		}
		e.toff = append(e.toff, b.Len())
		b.WriteString(n)
		b.WriteString(`="`)
		b.Write(appendEscaped(nil, v))
		b.WriteByte('"')
	}
	e.tj = b.String()
	e.toff = append(e.toff, len(e.tj)+1)

	s := e.s
	e.known = s.Observed && s.Path.Known()
	if !e.known {
		return e
	}
	if len(s.Flows) > 1 {
		for k := range s.Flows {
			for i := range s.Flows[k].Last.HopStats {
				e.hops = append(e.hops, hopEntry{&s.Flows[k].Last.HopStats[i], k})
			}
		}
		return e
	}
	for i := range s.Last.HopStats {
		e.hops = append(e.hops, hopEntry{&s.Last.HopStats[i], 0})
	}
	return e
}

// responder is the address that answers at TTL h on h's flow's path;
// invalid when none does.
func (e *entry) responder(h *hopEntry) netip.Addr {
	hops := e.s.Hops
	if len(e.s.Flows) > 1 {
		hops = e.s.Flows[h.flow].Hops
	}
	if ttl := h.st.TTL; ttl >= 1 && ttl <= len(hops) {
		return hops[ttl-1]
	}
	return netip.Addr{}
}

// info is what is known of the responder at TTL h: its name and AS come
// for flow 0's path (the evidence follows flow 0).
func (e *entry) info(h *hopEntry) *enrich.HopInfo {
	if ttl := h.st.TTL; h.flow == 0 && ttl >= 1 && ttl <= len(e.ev.Hops) {
		return &e.ev.Hops[ttl-1]
	}
	return &noHopInfo
}

// count is how many candidate series of group g e has; member tells
// which of them exist and valid whether their label values can be
// exported (the registry rejects values that are not UTF-8).
func (e *entry) count(g group) int {
	if g >= gHop {
		return len(e.hops)
	}
	return 1
}

func (e *entry) member(g group, i int) bool {
	switch g {
	case gAddress:
		return e.s.Address.IsValid()
	case gChange:
		return e.ev.LastChange != nil
	case gRoute:
		return e.ev.BGP != nil && e.ev.BGP.Route != nil
	case gInfo:
		return e.responder(&e.hops[i]).IsValid()
	case gUnreach:
		return e.hops[i].st.Unreachable >= 0
	}
	return true
}

func (e *entry) valid(g group, i int) bool {
	switch g {
	case gChange:
		c := e.ev.LastChange
		return e.tok && utf8.ValidString(c.Verdict) && utf8.ValidString(c.Before) && utf8.ValidString(c.After) && utf8.ValidString(c.BGP)
	case gInfo:
		h := &e.hops[i]
		return e.tok && utf8.ValidString(e.info(h).Name) && utf8.ValidString(h.st.MPLS) && utf8.ValidString(h.st.Interface)
	}
	return e.tok
}

// text is the value of label s of series i when it is a string already
// (ok); addresses and large numbers are rendered by appendLabel.
func (e *entry) text(s slabel, i int) (v string, ok bool) {
	switch s {
	case sVerdict:
		return e.ev.LastChange.Verdict, true
	case sBefore:
		return e.ev.LastChange.Before, true
	case sAfter:
		return e.ev.LastChange.After, true
	case sBGP:
		return e.ev.LastChange.BGP, true
	case sAddress, sID, sPrefix, sNextHop:
		return "", false
	case sASPath:
		return bgp.FormatASPath(e.ev.BGP.Route.ASPath), true
	}
	h := &e.hops[i]
	switch s {
	case sHop:
		return decimal(h.st.TTL), true
	case sFlow:
		return decimal(h.flow), true
	case sCode:
		return decimal(h.st.Unreachable), true
	case sName:
		return e.info(h).Name, true
	case sMPLS:
		return h.st.MPLS, true
	case sInterface:
		return h.st.Interface, true
	}
	return "", false
}

// appendLabel appends the value of label s of series i, escaped for the
// text format with esc.
func (e *entry) appendLabel(b []byte, s slabel, i int, esc bool) []byte {
	if v, ok := e.text(s, i); ok {
		if esc {
			return appendEscaped(b, v)
		}
		return append(b, v...)
	}
	switch s {
	case sAddress:
		return e.s.Address.AppendTo(b)
	case sID:
		return strconv.AppendUint(b, e.ev.LastChange.ID, 10)
	case sPrefix:
		return e.ev.BGP.Route.Prefix.AppendTo(b)
	case sNextHop:
		return e.ev.BGP.Route.NextHop.AppendTo(b)
	case sIP:
		return e.responder(&e.hops[i]).AppendTo(b)
	}
	if asn := e.info(&e.hops[i]).ASN; asn != 0 { // sASN
		return strconv.AppendUint(b, uint64(asn), 10)
	}
	return b
}

// label is the value of label s of series i as a string.
func (e *entry) label(s slabel, i int) string {
	if v, ok := e.text(s, i); ok {
		return v
	}
	return string(e.appendLabel(nil, s, i, false))
}
