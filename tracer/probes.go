package tracer

import (
	"net/netip"
	"time"
)

// probeRec is how an interval keeps a probe while it runs: the fields of
// Probe in 48 bytes instead of 112, since every target holds one per TTL
// and round for a whole interval. The interval's Result gets them as
// Probes when it is delivered.
type probeRec struct {
	from     netip.Addr
	rtt      time.Duration
	ext      *hopExt // MPLS and interface, when the router sent any
	round    uint16
	ttl      uint8
	flow     uint8
	kind     Kind
	code     uint8
	replyTTL int16
	failed   bool
}

// newProbeRec records a probe of round `round` with the given TTL and flow.
func newProbeRec(round, ttl, flow int) probeRec {
	return probeRec{round: uint16(round), ttl: uint8(ttl), flow: uint8(flow), replyTTL: -1}
}

// probe expands the record.
func (r *probeRec) probe() Probe {
	p := Probe{Round: int(r.round), TTL: int(r.ttl), Flow: int(r.flow), Kind: r.kind, Code: r.code,
		From: r.from, RTT: r.rtt, ReplyTTL: int(r.replyTTL), SendFailed: r.failed}
	if r.ext != nil {
		p.MPLS, p.Interface = r.ext.mpls, r.ext.iface
	}
	return p
}

// expandProbes returns the records as the Result's Probes.
func expandProbes(recs []probeRec) []Probe {
	if len(recs) == 0 {
		return nil
	}
	out := make([]Probe, len(recs))
	for i := range recs {
		out[i] = recs[i].probe()
	}
	return out
}
