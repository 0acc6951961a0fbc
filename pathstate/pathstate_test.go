package pathstate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

var (
	t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a  = netip.MustParseAddr("198.18.1.2")
	b  = netip.MustParseAddr("198.18.2.2")
	d  = netip.MustParseAddr("198.18.7.2")
)

// round describes one round: the responder of each TTL from 1 (invalid: no
// reply). An entry equal to d is an Echo Reply.
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
					p.Kind = tracer.KindReached
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
	), 3, true)
	if len(in.HopStats) != 3 || !in.Reached {
		t.Fatalf("%d hops reached %v, want 3 true", len(in.HopStats), in.Reached)
	}
	if got := in.HopStats[1]; got.Sent != 4 || got.Replies != 3 || got.Loss != 0.25 {
		t.Errorf("hop 2: sent %d replies %d loss %v, want 4 3 0.25", got.Sent, got.Replies, got.Loss)
	}
	if in.Dest.Loss != 0.25 || in.Dest.RTT.N != 3 {
		t.Errorf("destination loss %v with %d RTTs, want 0.25 and 3 (the look-ahead probe at TTL 4 is not the destination's TTL)", in.Dest.Loss, in.Dest.RTT.N)
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
	if un := Summarize(result(round{a, b, none}), 2, false); un.Dest.Loss != 1 || un.Reached {
		t.Errorf("unreached: destination loss %v reached %v, want 1 false", un.Dest.Loss, un.Reached)
	}
}

func TestHashStable(t *testing.T) {
	p := Path{Hops: 3, Addrs: []netip.Addr{a, none, d}}
	// FNV-1a 64 of "3|198.18.1.2|*|198.18.7.2", low 52 bits. A change of
	// this value breaks every stored series: it is part of the contract.
	const want = uint64(0x9bd5493d425ae) // computed independently with a Python FNV-1a
	got := p.Hash()
	if got >= 1<<52 || uint64(float64(got)) != got {
		t.Fatalf("hash %#x does not fit 52 bits or a float64", got)
	}
	if got != want {
		t.Fatalf("hash of %v is %#x, want %#x", p, got, want)
	}
	if (Path{Hops: 3, Addrs: []netip.Addr{a, b, d}}).Hash() == got {
		t.Fatal("different paths hash alike")
	}
}

func TestSendFailuresAreLostNotSent(t *testing.T) {
	r := result(round{a, b, d}, round{a, b, d})
	for i := range r.Probes {
		if r.Probes[i].Round == 1 {
			r.Probes[i] = tracer.Probe{Round: 1, TTL: r.Probes[i].TTL, SendFailed: true}
		}
	}
	in := Summarize(r, 3, true)
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

// agree checks the invariant the exporter promises at every scrape: the
// hop count, the identity, the hash and the per-hop responders describe
// one path.
func agree(t *testing.T, where string, s *Snapshot) {
	t.Helper()
	if !s.Path.Known() {
		return
	}
	if len(s.Path.Addrs) != s.Path.Hops || len(s.Hops) != s.Path.Hops || len(s.Last.HopStats) != s.Path.Hops || s.PathHash != s.Path.Hash() {
		t.Fatalf("%s: hops %d, identity %d, responders %d, hop stats %d, hash ok %v: they must agree",
			where, s.Path.Hops, len(s.Path.Addrs), len(s.Hops), len(s.Last.HopStats), s.PathHash == s.Path.Hash())
	}
	for i, id := range s.Path.Addrs {
		if id.IsValid() && s.Hops[i] != id {
			t.Fatalf("%s: hop %d responder %v differs from the identity's %v", where, i+1, s.Hops[i], id)
		}
	}
}

func steady(routers []netip.Addr, dst netip.Addr) *netModel {
	return &netModel{routers: routers, dst: dst}
}

func TestSteadyPathUnderLossSilenceAndRateLimits(t *testing.T) {
	routers := addrs(1, 4)
	tests := []struct {
		name  string
		model netModel
	}{
		{"40% loss before the destination", netModel{loss: 0.4, lossFrom: 4}},
		{"40% loss from hop 2 on", netModel{loss: 0.4, lossFrom: 2}},
		{"silent router before the destination", netModel{silent: map[int]bool{4: true}}},
		{"silent router and 40% loss", netModel{silent: map[int]bool{4: true}, loss: 0.4, lossFrom: 4}},
		{"routers rate-limited to 10%", netModel{rateLimit: 0.9}},
		{"rate limits and loss", netModel{rateLimit: 0.7, loss: 0.3, lossFrom: 3}},
	}
	for _, tc := range tests {
		for _, rounds := range []int{3, 5, 10} {
			t.Run(fmt.Sprintf("%s/%d rounds", tc.name, rounds), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, uint64(rounds)))
				s := NewState()
				// Establish on a clean network, then 300 intervals of trouble.
				run(s, rng, 1, rounds, func(int, int) *netModel { return steady(routers, d) }, nil)
				hash := s.Snapshot().PathHash
				m := tc.model
				m.routers, m.dst = routers, d
				run(s, rng, 300, rounds, func(int, int) *netModel { return &m }, func(i int, snap *Snapshot) {
					agree(t, fmt.Sprintf("interval %d", i), snap)
					if snap.PathChanges != 0 || snap.Path.Hops != 5 || snap.PathHash != hash {
						t.Fatalf("interval %d: %d changes, %d hops, hash moved %v; want 0 changes and the exact 5 hops",
							i, snap.PathChanges, snap.Path.Hops, snap.PathHash != hash)
					}
				})
			})
		}
	}
}

func TestFirstPathUnderSilenceIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	s := NewState()
	m := netModel{routers: addrs(1, 4), dst: d, silent: map[int]bool{4: true}}
	run(s, rng, 20, 5, func(int, int) *netModel { return &m }, func(i int, snap *Snapshot) {
		agree(t, fmt.Sprintf("interval %d", i), snap)
		if snap.Path.Hops != 5 || snap.PathChanges != 0 || snap.Hops[3].IsValid() {
			t.Fatalf("interval %d: %d hops, %d changes, hop 4 %v; want 5, 0 and a wildcard", i, snap.Path.Hops, snap.PathChanges, snap.Hops[3])
		}
	})
}

func TestSwitchAtEveryRoundPositionCountsOnce(t *testing.T) {
	oldR := addrs(1, 4)
	newR := append(addrs(1, 2), addrs(8, 3)...) // 6 hops: hops 3-5 differ
	for _, cond := range []struct {
		name string
		m    netModel
	}{
		{"clean", netModel{}},
		{"rate-limited routers", netModel{rateLimit: 0.6}},
		{"silent router before the destination", netModel{silent: map[int]bool{5: true}}},
		{"loss", netModel{loss: 0.2, lossFrom: 3}},
	} {
		for _, rounds := range []int{3, 5, 10} {
			for pos := 0; pos < rounds; pos++ {
				t.Run(fmt.Sprintf("%s/%d rounds/switch before round %d", cond.name, rounds, pos), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(3, uint64(rounds*100+pos)))
					s := NewState()
					om, nm := cond.m, cond.m
					om.routers, om.dst, nm.routers, nm.dst = oldR, d, newR, d
					om.silent = nil
					clean := steady(oldR, d)
					run(s, rng, 2, rounds, func(int, int) *netModel { return clean }, nil)
					before := s.Snapshot().PathHash
					seen := -1
					run(s, rng, 12, rounds, func(i, k int) *netModel {
						if i > 0 || k >= pos {
							return &nm
						}
						return &om
					}, func(i int, snap *Snapshot) {
						agree(t, fmt.Sprintf("interval %d", i), snap)
						if snap.PathChanges > 1 {
							t.Fatalf("interval %d: %d changes after one switch", i, snap.PathChanges)
						}
						if snap.PathChanges == 1 && seen < 0 {
							seen = i
						}
					})
					snap := s.Snapshot()
					if snap.PathChanges != 1 || snap.Path.Hops != 6 || snap.PathHash == before {
						t.Fatalf("after the switch: %d changes, %d hops; want 1 and 6", snap.PathChanges, snap.Path.Hops)
					}
					if seen > 1 && cond.name != "loss" && cond.name != "rate-limited routers" {
						t.Fatalf("switch seen in interval %d, want within two intervals", seen)
					}
					for i, x := range snap.Hops[:5] {
						if x.IsValid() && x != newR[i] {
							t.Fatalf("hop %d is %v, an old-path responder; want %v", i+1, x, newR[i])
						}
					}
				})
			}
		}
	}
}

func TestLengtheningBehindSilentRouterIsFound(t *testing.T) {
	// The destination moves from 5 to 6 hops and the new hop 5 is silent:
	// no reply contradicts the old path; the destination answering only
	// at TTL 6, round after round, does.
	rng := rand.New(rand.NewPCG(4, 4))
	s := NewState()
	oldM := steady(addrs(1, 4), d)
	newM := &netModel{routers: append(addrs(1, 4), addrs(9, 1)...), dst: d, silent: map[int]bool{5: true}}
	run(s, rng, 2, 5, func(int, int) *netModel { return oldM }, nil)
	run(s, rng, 4, 5, func(int, int) *netModel { return newM }, func(i int, snap *Snapshot) { agree(t, fmt.Sprint(i), snap) })
	if snap := s.Snapshot(); snap.PathChanges != 1 || snap.Path.Hops != 6 {
		t.Fatalf("after lengthening behind a silent hop: %d changes, %d hops; want 1, 6", snap.PathChanges, snap.Path.Hops)
	}
	// Negative control: the same run of rounds with loss instead of a
	// longer path (the destination's TTL sometimes answers) is no change.
	s = NewState()
	run(s, rng, 2, 5, func(int, int) *netModel { return oldM }, nil)
	lossy := &netModel{routers: addrs(1, 4), dst: d, silent: map[int]bool{4: true}, loss: 0.5, lossFrom: 5}
	run(s, rng, 200, 5, func(int, int) *netModel { return lossy }, nil)
	if snap := s.Snapshot(); snap.PathChanges != 0 || snap.Path.Hops != 5 {
		t.Fatalf("loss at the destination: %d changes, %d hops; want 0, 5", snap.PathChanges, snap.Path.Hops)
	}
}

func TestRouteBackTakesTheOldIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	s := NewState()
	p1 := steady(addrs(1, 4), d)
	p2 := steady(append(addrs(1, 2), addrs(8, 3)...), d)
	run(s, rng, 2, 5, func(int, int) *netModel { return p1 }, nil)
	h1 := s.Snapshot().PathHash
	run(s, rng, 3, 5, func(int, int) *netModel { return p2 }, nil)
	h2 := s.Snapshot().PathHash
	run(s, rng, 3, 5, func(int, int) *netModel { return p1 }, nil)
	snap := s.Snapshot()
	if snap.PathChanges != 2 || h2 == h1 || snap.PathHash != h1 {
		t.Fatalf("switch and back: %d changes, hashes %x %x %x; want 2 changes and the first hash again", snap.PathChanges, h1, h2, snap.PathHash)
	}
}

func TestShorterPathAndUnreachable(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	s := NewState()
	run(s, rng, 2, 5, func(int, int) *netModel { return steady(addrs(1, 4), d) }, nil)
	run(s, rng, 2, 5, func(int, int) *netModel { return steady(addrs(1, 2), d) }, nil)
	if snap := s.Snapshot(); snap.PathChanges != 1 || snap.Path.Hops != 3 {
		t.Fatalf("shorter: %d changes, %d hops; want 1, 3", snap.PathChanges, snap.Path.Hops)
	}
	gone := &netModel{routers: addrs(1, 2), dst: d, unreachAt: 2}
	run(s, rng, 2, 5, func(int, int) *netModel { return gone }, nil)
	snap := s.Snapshot()
	if snap.PathChanges != 2 || snap.Path.Hops != 2 || snap.Reached || snap.Last.Unreachable < 0 {
		t.Fatalf("unreachable at hop 2: %d changes, %d hops, reached %v, code %d; want 2, 2, false, a code", snap.PathChanges, snap.Path.Hops, snap.Reached, snap.Last.Unreachable)
	}
}

func TestDestinationDownIsNotAChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	s := NewState()
	run(s, rng, 2, 5, func(int, int) *netModel { return steady(addrs(1, 4), d) }, nil)
	down := &netModel{routers: addrs(1, 4), dst: d, loss: 1, lossFrom: 5}
	run(s, rng, 5, 5, func(int, int) *netModel { return down }, func(i int, snap *Snapshot) {
		if snap.Last.Reached || snap.Path.Hops != 5 || snap.PathChanges != 0 {
			t.Fatalf("destination down, interval %d: reached %v hops %d changes %d; want false 5 0", i, snap.Last.Reached, snap.Path.Hops, snap.PathChanges)
		}
	})
	run(s, rng, 2, 5, func(int, int) *netModel { return steady(addrs(1, 4), d) }, nil)
	if snap := s.Snapshot(); !snap.Last.Reached || snap.PathChanges != 0 {
		t.Fatalf("destination back: reached %v changes %d", snap.Last.Reached, snap.PathChanges)
	}
}

func TestAddressChangeStartsNewIdentityWithoutChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	s := NewState()
	s.SetAddress(d)
	run(s, rng, 2, 5, func(int, int) *netModel { return steady(addrs(1, 4), d) }, nil)
	other := netip.MustParseAddr("198.18.7.3")
	if !s.SetAddress(other) || s.SetAddress(other) {
		t.Fatal("SetAddress must report a change once")
	}
	// An interval still in flight for the old address is not evidence.
	run(s, rng, 1, 5, func(int, int) *netModel { return steady(addrs(2, 6), d) }, nil)
	if snap := s.Snapshot(); snap.Observed || snap.PathChanges != 0 {
		t.Fatalf("old address's interval after the switch: observed %v changes %d", snap.Observed, snap.PathChanges)
	}
	run(s, rng, 2, 5, func(int, int) *netModel { return steady(addrs(2, 6), other) }, nil)
	snap := s.Snapshot()
	if snap.PathChanges != 0 || snap.AddressChanges != 1 || snap.Path.Hops != 7 || snap.Address != other {
		t.Fatalf("after an address change: %d path changes, %d address changes, %d hops, %v", snap.PathChanges, snap.AddressChanges, snap.Path.Hops, snap.Address)
	}
}

func TestChangesReportBeforeAndAfter(t *testing.T) {
	s := NewState()
	c := netip.MustParseAddr("198.18.3.2")
	e := netip.MustParseAddr("198.18.8.2")
	s.Observe(result(round{a, b, c, d}, round{a, b, c, d}))
	got := s.Observe(result(round{a, e, c, d}, round{a, e, c, d}))
	if len(got) != 1 || got[0].Before.Hops != 4 || got[0].AfterHops[1] != e || got[0].BeforeHops[1] != b {
		t.Fatalf("changes %+v; want one from b to e at hop 2", got)
	}
	if got[0].Before.String() != "198.18.1.2 198.18.2.2 198.18.3.2 198.18.7.2" {
		t.Fatalf("before path %q", got[0].Before.String())
	}
}

func TestForwardLossIgnoresRateLimitedRouters(t *testing.T) {
	c := netip.MustParseAddr("198.18.3.2")
	// Hop 2 sheds its ICMP in two rounds, but later hops answer: no
	// forward loss there. In round 3 everything from hop 2 on is lost:
	// forward loss at hops 2, 3 and the destination.
	in := Summarize(result(
		round{a, none, c, d},
		round{a, none, c, d},
		round{a, b, c, d},
		round{a, none, none, none},
	), 4, true)
	want := []float64{0, 0.25, 0.25, 0.25}
	wantLoss := []float64{0, 0.75, 0.25, 0.25}
	for i, h := range in.HopStats {
		if h.ForwardLoss != want[i] || h.Loss != wantLoss[i] {
			t.Errorf("hop %d: loss %v forward loss %v, want %v and %v", i+1, h.Loss, h.ForwardLoss, wantLoss[i], want[i])
		}
	}
	// A rate-limited middle hop over many rounds: response loss, no
	// forward loss.
	rng := rand.New(rand.NewPCG(9, 9))
	m := &netModel{routers: addrs(1, 4), dst: d, silent: map[int]bool{2: true}}
	s := NewState()
	run(s, rng, 3, 10, func(int, int) *netModel { return m }, nil)
	h := s.Snapshot().Last.HopStats[1]
	if h.Loss != 1 || h.ForwardLoss != 0 {
		t.Fatalf("silent hop 2: loss %v forward loss %v, want 1 and 0", h.Loss, h.ForwardLoss)
	}
}
