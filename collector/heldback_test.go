package collector

import (
	"strings"
	"testing"
	"time"
)

// A hop none of whose probes went out in the interval (the hop budget
// held them back) has no loss series: 0 would claim probes that were
// never sent. Its responder stays in hop_info, and the other hops keep
// theirs.
func TestHopHeldBackHasNoLoss(t *testing.T) {
	dst := ip("198.18.7.2")
	s := traced(t0, ip("198.18.1.2"), ip("198.18.2.2"), dst)
	r := trace(dst, t0.Add(time.Minute), 2, ip("198.18.1.2"), ip("198.18.2.2"), dst)
	kept := r.Probes[:0]
	for _, p := range r.Probes {
		if p.TTL != 1 {
			kept = append(kept, p)
		}
	}
	r.Probes = kept
	s.Observe(r)
	targets := []Target{{Name: "x", Snapshot: s.Snapshot()}}
	out := mustMatch(t, New(sourcesOf(&targets)), sourcesOf(&targets))
	for _, series := range []string{`traceroute_hop_loss_ratio{hop="1"`, `traceroute_hop_forward_loss_ratio{hop="1"`, `traceroute_hop_rtt_seconds{hop="1"`} {
		if strings.Contains(out, series) {
			t.Errorf("%s exported for a hop none of whose probes went out", series)
		}
	}
	for _, series := range []string{`traceroute_hop_loss_ratio{hop="2",target="x"} 0`, `traceroute_hop_info{asn="",hop="1",interface="",ip="198.18.1.2"`} {
		if !strings.Contains(out, series) {
			t.Errorf("%s missing", series)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", out)
	}
}
