package tracer

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"
)

// A record keeps every field of its probe; responders and extensions are
// kept once per interval however many probes share them.
func TestProbeRecRoundTrip(t *testing.T) {
	if n := unsafe.Sizeof(probeRec{}); n > 24 {
		t.Errorf("probeRec is %d bytes, want at most 24", n)
	}
	var tabs recTables
	r1, r2 := netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("2001:db8:2::2")
	x := &hopExt{mpls: "24001/0/1/254", iface: "ge-0/0/1"}
	recs := []probeRec{newProbeRec(0, 1, 0), newProbeRec(0, 2, 1), newProbeRec(3, 1, 0), newProbeRec(3, 2, 0)}
	recs[0].kind, recs[0].from, recs[0].rtt, recs[0].replyTTL = KindTimeExceeded, tabs.addr(r1), 1500*time.Microsecond, 63
	recs[1].kind, recs[1].from, recs[1].ext, recs[1].code = KindDestUnreachable, tabs.addr(r2), tabs.ext(x), 13
	recs[2].kind, recs[2].from, recs[2].ext = KindTimeExceeded, tabs.addr(r1), tabs.ext(&hopExt{mpls: "24001/0/1/254", iface: "ge-0/0/1"})
	recs[3].failed = true
	if len(tabs.addrs) != 2 || len(tabs.exts) != 1 {
		t.Fatalf("tables hold %d addresses and %d extensions, want 2 and 1", len(tabs.addrs), len(tabs.exts))
	}
	got := tabs.expandProbes(recs)
	want := []Probe{
		{Round: 0, TTL: 1, Flow: 0, Kind: KindTimeExceeded, From: r1, RTT: 1500 * time.Microsecond, ReplyTTL: 63},
		{Round: 0, TTL: 2, Flow: 1, Kind: KindDestUnreachable, Code: 13, From: r2, ReplyTTL: -1, MPLS: x.mpls, Interface: x.iface},
		{Round: 3, TTL: 1, Flow: 0, Kind: KindTimeExceeded, From: r1, ReplyTTL: -1, MPLS: x.mpls, Interface: x.iface},
		{Round: 3, TTL: 2, Flow: 0, ReplyTTL: -1, SendFailed: true},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("probe %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
