package pathstate

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

var (
	t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a  = netip.MustParseAddr("198.18.1.2")
	b  = netip.MustParseAddr("198.18.2.2")
	c  = netip.MustParseAddr("198.18.3.2")
	c2 = netip.MustParseAddr("198.18.5.2")
	d  = netip.MustParseAddr("198.18.7.2")
	e  = netip.MustParseAddr("198.18.8.2")
)

// round describes one round: the responder of each TTL from 1 (invalid: no
// reply). The last valid entry equal to dst is an Echo Reply.
type round []netip.Addr

var none netip.Addr

// result builds a tracer result for destination d from rounds, each reply
// with RTT ms(ttl, round).
func result(rounds ...round) tracer.Result {
	r := tracer.Result{Dst: d, Start: t0, End: t0.Add(10 * time.Second), Rounds: len(rounds)}
	for i, rd := range rounds {
		for j, from := range rd {
			p := tracer.Probe{Round: i, TTL: j + 1, ReplyTTL: -1}
			if from.IsValid() {
				p.Kind, p.From = tracer.KindTimeExceeded, from
				if from == d {
					p.Kind = tracer.KindEchoReply
				}
				p.RTT = time.Duration(j+1)*time.Millisecond + time.Duration(i)*100*time.Microsecond
			}
			r.Probes = append(r.Probes, p)
		}
	}
	return r
}

func TestSummarizeStats(t *testing.T) {
	in := Summarize(result(
		round{a, b, d, d},
		round{a, none, d},
		round{a, b, d},
		round{a, b, none},
	))
	if in.Hops != 3 || !in.Reached || !in.Ended {
		t.Fatalf("hops %d reached %v ended %v, want 3 true true", in.Hops, in.Reached, in.Ended)
	}
	if got := in.HopStats[1]; got.Sent != 4 || got.Replies != 3 || got.Loss != 0.25 {
		t.Errorf("hop 2: sent %d replies %d loss %v, want 4 3 0.25", got.Sent, got.Replies, got.Loss)
	}
	if in.Dest.Loss != 0.25 || in.Dest.RTT.N != 3 {
		t.Errorf("destination loss %v with %d RTTs, want 0.25 and 3", in.Dest.Loss, in.Dest.RTT.N)
	}
	// Hop 1 RTTs: 1.0, 1.1, 1.2, 1.3 ms.
	r := in.HopStats[0].RTT
	if r.Min != 1000*time.Microsecond || r.Max != 1300*time.Microsecond || r.Mean != 1150*time.Microsecond {
		t.Errorf("hop 1 RTT min %v max %v mean %v, want 1ms 1.3ms 1.15ms", r.Min, r.Max, r.Mean)
	}
	wantSD := time.Duration(math.Round(math.Sqrt((150*150 + 50*50 + 50*50 + 150*150) / 4.0 * 1e6)))
	if r.Stddev != wantSD {
		t.Errorf("hop 1 stddev %v, want %v", r.Stddev, wantSD)
	}
	if in.Sent != 13 || in.Replies != 11 {
		t.Errorf("interval sent %d replies %d, want 13 and 11", in.Sent, in.Replies)
	}
}

func TestSummarizeECMPResponders(t *testing.T) {
	in := Summarize(result(round{a, c, d}, round{a, c2, d}, round{a, c, d}))
	rs := in.HopStats[1].Responders
	if len(rs) != 2 || rs[0] != (Responder{c, 2}) || rs[1] != (Responder{c2, 1}) {
		t.Fatalf("hop 2 responders %v, want %v:2 then %v:1", rs, c, c2)
	}
	if in.Path[1] != c {
		t.Fatalf("hop 2 path responder %v, want the dominant %v", in.Path[1], c)
	}
}

func TestSummarizeMidIntervalSwitchTakesNewPath(t *testing.T) {
	// Rounds 0-1 on the old 3-hop path; round 2 hits the longer path with
	// TTLs limited to 3; round 3 probes all TTLs and reaches at 4.
	in := Summarize(result(
		round{a, b, d},
		round{a, b, d},
		round{a, e, c},
		round{a, e, c, d},
	))
	if in.Hops != 4 || !in.Reached {
		t.Fatalf("hops %d reached %v, want 4 true", in.Hops, in.Reached)
	}
	want := []netip.Addr{a, e, c, d}
	for i, x := range want {
		if in.Path[i] != x {
			t.Fatalf("path %v, want %v", in.Path, want)
		}
	}
}

func TestSummarizeUnreachableAndSilent(t *testing.T) {
	r := result(round{a, b}, round{a, b})
	for i := range r.Probes {
		if r.Probes[i].TTL == 2 {
			r.Probes[i].Kind, r.Probes[i].Code = tracer.KindDestUnreachable, 1
		}
	}
	in := Summarize(r)
	if in.Hops != 2 || in.Reached || !in.Ended || in.Unreachable != 1 || in.Dest.Loss != 1 {
		t.Fatalf("unreachable: hops %d reached %v ended %v code %d dest loss %v", in.Hops, in.Reached, in.Ended, in.Unreachable, in.Dest.Loss)
	}
	in = Summarize(result(round{a, b, none, none}, round{a, none, none, none}))
	if in.Hops != 2 || in.Reached || in.Ended || in.Dest.Loss != 1 {
		t.Fatalf("silent tail: hops %d reached %v ended %v dest loss %v, want 2 false false 1", in.Hops, in.Reached, in.Ended, in.Dest.Loss)
	}
}

func path(addrs ...netip.Addr) Path { return Path{Hops: len(addrs), Addrs: addrs} }

func TestNextAndChanged(t *testing.T) {
	prev := path(a, b, c, d)
	tests := []struct {
		name    string
		in      Interval
		want    Path
		changed bool
	}{
		{"same", Summarize(result(round{a, b, c, d})), prev, false},
		{"silent hop keeps responder", Summarize(result(round{a, none, c, d})), prev, false},
		{"silent destination keeps hop count", Summarize(result(round{a, b, c, none, none})), prev, false},
		{"nothing answered", Summarize(result(round{none, none})), prev, false},
		{"other responder", Summarize(result(round{a, b, c2, d})), path(a, b, c2, d), true},
		{"longer", Summarize(result(round{a, b, e, c, d})), path(a, b, e, c, d), true},
		{"shorter", Summarize(result(round{a, b, d})), path(a, b, d), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Next(prev, tc.in)
			if got.Hash() != tc.want.Hash() || got.Hops != tc.want.Hops {
				t.Fatalf("next %v, want %v", got, tc.want)
			}
			if Changed(prev, got) != tc.changed {
				t.Fatalf("changed %v, want %v", !tc.changed, tc.changed)
			}
		})
	}
	filled := Next(path(a, none, c, d), Summarize(result(round{a, b, c, d})))
	if filled.Addrs[1] != b || Changed(path(a, none, c, d), filled) {
		t.Fatalf("a TTL answering for the first time: path %v, counted as change %v; want filled, no change", filled, Changed(path(a, none, c, d), filled))
	}
	if Changed(Path{}, prev) {
		t.Fatal("establishing the first path counted as a change")
	}
}

func TestHashStable(t *testing.T) {
	p := path(a, none, d)
	// FNV-1a 64 of "3|198.18.1.2|*|198.18.7.2", low 52 bits. A change of
	// this value breaks every stored series: it is part of the contract.
	const want = uint64(0x9bd5493d425ae) // computed independently with a Python FNV-1a
	got := p.Hash()
	if got >= 1<<52 {
		t.Fatalf("hash %#x has more than 52 bits", got)
	}
	if float64(got) != math.Trunc(float64(got)) || uint64(float64(got)) != got {
		t.Fatalf("hash %#x does not survive float64", got)
	}
	if got != want {
		t.Fatalf("hash of %v is %#x, want %#x", p, got, want)
	}
	if path(a, none, d).Hash() == path(a, b, d).Hash() || path(a, d).Hash() == path(a, d, d).Hash() {
		t.Fatal("different paths hash alike")
	}
}

func TestStateCountsOneChangePerSwitch(t *testing.T) {
	s := NewState()
	old := round{a, b, d}
	s.Observe(result(old, old, old))
	if got := s.Snapshot(); !got.Observed || got.PathChanges != 0 || !got.PathSince.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("after the first interval: %+v, want observed, no change, since its end", got)
	}
	s.Observe(result(old, round{a, none, d}, old))
	if s.Snapshot().PathChanges != 0 {
		t.Fatal("a lost probe changed the path")
	}
	s.Observe(result(old, round{a, e, c}, round{a, e, c, d}))
	s.Observe(result(round{a, e, c, d}, round{a, e, c, d}))
	s.Observe(result(round{a, e, none, d}, round{a, e, c, d}))
	got := s.Snapshot()
	if got.PathChanges != 1 || got.Path.Hops != 4 {
		t.Fatalf("after one switch to a longer path: %d changes, %d hops; want 1 and 4", got.PathChanges, got.Path.Hops)
	}
	if got.ProbesSent != 9+9+10+8+8 {
		t.Fatalf("probes sent %d, want %d", got.ProbesSent, 9+9+10+8+8)
	}
	s.ResolveFailed()
	if s.Snapshot().ResolveErrors != 1 || s.Snapshot().PathChanges != 1 {
		t.Fatal("ResolveFailed lost state or did not count")
	}
}

func TestLostDestinationProbesDoNotLengthenPath(t *testing.T) {
	// The destination is at TTL 3. Every probe at TTL 3 is lost, so TTL 4
	// reaches it in every round: the end (4) is not certain.
	in := Summarize(result(round{a, b, none, d}, round{a, b, none, d}))
	if !in.Reached || in.Certain || in.Hops != 4 {
		t.Fatalf("reached %v certain %v hops %d; want reached, uncertain, 4", in.Reached, in.Certain, in.Hops)
	}
	prev := path(a, b, d)
	if next := Next(prev, in); Changed(prev, next) || next.Hops != 3 {
		t.Fatalf("lost destination probes changed the path to %v", next)
	}
	// One round that ends at 3 after a router at 2 makes it certain again,
	// and earlier uncertain ends do not split the rounds.
	in = Summarize(result(round{a, b, none, d}, round{a, b, d}, round{a, b, none, d}))
	if !in.Certain || in.Hops != 3 {
		t.Fatalf("certain %v hops %d; want certain, 3", in.Certain, in.Hops)
	}
}

func TestSendFailuresAreLostNotSent(t *testing.T) {
	r := result(round{a, b, d}, round{a, b, d})
	for i := range r.Probes {
		if r.Probes[i].Round == 1 {
			r.Probes[i] = tracer.Probe{Round: 1, TTL: r.Probes[i].TTL, SendFailed: true}
		}
	}
	in := Summarize(r)
	if in.Sent != 3 || in.SendFailed != 3 || in.Replies != 3 {
		t.Fatalf("sent %d failed %d replies %d, want 3 3 3", in.Sent, in.SendFailed, in.Replies)
	}
	if in.HopStats[0].Loss != 0.5 || in.Dest.Loss != 0.5 {
		t.Fatalf("hop 1 loss %v destination loss %v, want 0.5: a probe that could not be sent is lost", in.HopStats[0].Loss, in.Dest.Loss)
	}
	s := NewState()
	s.Observe(r)
	if s.Snapshot().ProbesSent != 3 {
		t.Fatalf("probes sent counter %d, want 3: refused probes were not sent", s.Snapshot().ProbesSent)
	}
}
