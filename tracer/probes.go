package tracer

import (
	"net/netip"
	"time"
)

// probeRec is how an interval keeps a probe while it runs: the fields of
// Probe in 24 bytes instead of 112, since every target holds one per TTL
// and round for a whole interval. Responders and ICMP extensions, which
// repeat, are kept once per interval (recTables) and referred to by
// index. The interval's Result gets them as Probes when it is delivered.
type probeRec struct {
	rtt       time.Duration
	from      uint16 // 1 + index in recTables.addrs; 0: no reply
	ext       uint16 // 1 + index in recTables.exts; 0: none
	round     uint16
	ttl       uint8
	flow      uint8
	kind      Kind
	code      uint8
	replyTTL  int16
	failed    bool
	discovery bool
}

// recTables are an interval's distinct responders and extensions.
type recTables struct {
	addrs []netip.Addr
	exts  []*hopExt
}

// addr returns the index+1 of a in the table, adding it if new. An
// interval has few distinct responders (hops times flows), so a scan is
// cheap; past 65535 the last index is reused rather than overflowing.
func (t *recTables) addr(a netip.Addr) uint16 {
	for i, b := range t.addrs {
		if a == b {
			return uint16(i + 1)
		}
	}
	if len(t.addrs) == 0xffff {
		return 0xffff
	}
	t.addrs = append(t.addrs, a)
	return uint16(len(t.addrs))
}

// ext returns the index+1 of x in the table, adding it if new.
func (t *recTables) ext(x *hopExt) uint16 {
	if x == nil {
		return 0
	}
	for i, y := range t.exts {
		if *x == *y {
			return uint16(i + 1)
		}
	}
	if len(t.exts) == 0xffff {
		return 0xffff
	}
	t.exts = append(t.exts, x)
	return uint16(len(t.exts))
}

// newProbeRec records a probe of round `round` with the given TTL and flow.
func newProbeRec(round, ttl, flow int) probeRec {
	return probeRec{round: uint16(round), ttl: uint8(ttl), flow: uint8(flow), replyTTL: -1}
}

// probe expands the record.
func (t *recTables) probe(r *probeRec) Probe {
	p := Probe{Round: int(r.round), TTL: int(r.ttl), Flow: int(r.flow), Kind: r.kind, Code: r.code,
		RTT: r.rtt, ReplyTTL: int(r.replyTTL), SendFailed: r.failed, Discovery: r.discovery}
	if r.from > 0 {
		p.From = t.addrs[r.from-1]
	}
	if r.ext > 0 {
		x := t.exts[r.ext-1]
		p.MPLS, p.Interface = x.mpls, x.iface
	}
	return p
}

// expandProbes returns the records as the Result's Probes.
func (t *recTables) expandProbes(recs []probeRec) []Probe {
	if len(recs) == 0 {
		return nil
	}
	out := make([]Probe, len(recs))
	for i := range recs {
		out[i] = t.probe(&recs[i])
	}
	return out
}
