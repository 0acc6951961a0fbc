package tracer

import (
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// pathSim answers search probes like a path: the link after router
// `at` has MTU mtu; the router says so (tell) or drops silently; loss
// lists probe numbers (1-based) that vanish.
type pathSim struct {
	mtu  int
	at   netip.Addr
	tell bool
	loss map[int]bool
	dead bool // the destination never answers
}

// run drives a search to its end and returns the result.
func (p pathSim) run(t *testing.T, v6 bool, first int) MTUResult {
	t.Helper()
	s := newMTUSearch(v6, first)
	for n := 1; ; n++ {
		size, ok := s.next()
		if !ok {
			return s.res
		}
		if n > 100 {
			t.Fatal("search does not end")
		}
		s.sent()
		switch {
		case p.loss[n]:
			s.lost(size)
		case size > p.mtu && p.tell:
			s.tooBig(size, p.mtu, p.at, false)
		case size > p.mtu, p.dead:
			s.lost(size)
		default:
			s.passed(size)
		}
	}
}

func TestMTUSearch(t *testing.T) {
	r2 := netip.MustParseAddr("198.18.2.2")
	for _, tc := range []struct {
		name      string
		v6        bool
		first     int
		sim       pathSim
		want      MTUResult
		maxProbes int
	}{
		{"router says 1400", false, 1500, pathSim{mtu: 1400, at: r2, tell: true}, MTUResult{Bytes: 1400, From: r2}, 2},
		{"first link is the smallest", false, 1500, pathSim{mtu: 9000, at: r2, tell: true}, MTUResult{Bytes: 1500, Local: true}, 1},
		{"black hole at 1400", false, 1500, pathSim{mtu: 1400, at: r2}, MTUResult{Bytes: 1400}, 30},
		{"black hole at 1280 over IPv6", true, 1500, pathSim{mtu: 1280, at: r2}, MTUResult{Bytes: 1280}, 30},
		{"one loss is not a black hole", false, 1500, pathSim{mtu: 1500, loss: map[int]bool{1: true}}, MTUResult{Bytes: 1500, Local: true}, 2},
		{"loss of the hinted size", false, 1500, pathSim{mtu: 1400, at: r2, tell: true, loss: map[int]bool{2: true}}, MTUResult{Bytes: 1400, From: r2}, 3},
		{"destination silent", false, 1500, pathSim{mtu: 1500, dead: true}, MTUResult{}, 40},
		{"loopback", false, 65536, pathSim{mtu: 65535, tell: true}, MTUResult{Bytes: 65535, Local: true}, 1},
		{"tiny first link", true, 1000, pathSim{mtu: 1280, tell: true}, MTUResult{Bytes: 1280, Local: true}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.sim.run(t, tc.v6, tc.first)
			probes := got.Probes
			got.Probes = 0
			if got != tc.want {
				t.Errorf("result %+v, want %+v", got, tc.want)
			}
			if probes > tc.maxProbes {
				t.Errorf("%d probes, want at most %d", probes, tc.maxProbes)
			}
		})
	}
}

// A router's announced MTU that is not between what passed and what was
// sent is not believed.
func TestMTUSearchIgnoresImpossibleHints(t *testing.T) {
	r := netip.MustParseAddr("198.18.2.2")
	for _, mtu := range []int{0, 1600, 40} {
		s := newMTUSearch(false, 1500)
		size, _ := s.next()
		s.sent()
		s.tooBig(size, mtu, r, false)
		next, ok := s.next()
		if !ok || next >= 1500 || next < minMTU4 {
			t.Fatalf("announced %d: next size %d (%v)", mtu, next, ok)
		}
		if mtu != 0 && next == mtu {
			t.Errorf("announced %d was believed", mtu)
		}
	}
}

// An answer above a bound (a router's wrong announcement) lifts the bound.
func TestMTUSearchAnswerAboveBound(t *testing.T) {
	s := newMTUSearch(false, 1500)
	s.next()
	s.sent()
	s.tooBig(1500, 1400, netip.MustParseAddr("198.18.2.2"), false)
	s.passed(1500) // a reply that was on its way
	if s.res.Bytes != 1500 || !s.done {
		t.Fatalf("state %+v, want done at 1500", s)
	}
}

func TestMarshalEchoSizedKeepsChecksum(t *testing.T) {
	buf := make([]byte, maxMTU)
	small := append([]byte(nil), MarshalEcho(false, 7, 9, make([]byte, EchoLen))...)
	for _, v6 := range []bool{false, true} {
		b := marshalEchoSized(v6, 7, 9, 1400, buf)
		hdr := ipv4Min
		if v6 {
			hdr = ipv6Len
		}
		if len(b)+hdr != 1400 {
			t.Errorf("v6=%v: %d bytes of ICMP, want %d", v6, len(b), 1400-hdr)
		}
		if !v6 && (b[2] != small[2] || b[3] != small[3]) {
			t.Errorf("checksum %x, want the flow's %x", b[2:4], small[2:4])
		}
		if !v6 && checksum(b) != 0 {
			t.Error("the padded Echo Request's checksum does not verify")
		}
	}
}

// mtuHarness is a harness whose fake socket refuses packets larger than
// the first link's MTU, as the kernel does.
func mtuHarness(link int) *harness {
	h := newHarness()
	h.c.linkMTU = func(netip.Addr) int { return link }
	return h
}

func mtuWrites(h *harness) []write {
	var out []write
	for _, w := range h.fc.writes {
		if w.size > EchoLen {
			out = append(out, w)
		}
	}
	return out
}

// The search runs beside the rounds, answered by a router that says its
// next link is 1400; its result rides on the interval's result.
func TestCoreMTUSearch(t *testing.T) {
	h := mtuHarness(1500)
	s := sched(2)
	s.PMTUEvery = 3
	h.addTarget(s, dstA)
	h.at(0)
	r2 := hopIP(2)
	for i := 0; i < 4; i++ {
		ws := mtuWrites(h)
		if len(ws) == 0 {
			t.Fatal("no path MTU probe sent")
		}
		w := ws[len(ws)-1]
		ipSize := w.size + ipv4Min
		if ipSize > 1400 {
			h.c.reply(h.now, h.now, Reply{Kind: KindDestUnreachable, Code: codeFragNeeded, MTU: 1400, Proto: protoICMP4, Dst: w.dst, ID: w.id, Seq: w.seq}, r2, 62)
		} else {
			h.c.reply(h.now, h.now, Reply{Kind: KindReached, Proto: protoICMP4, ID: w.id, Seq: w.seq}, w.dst, 60)
			break
		}
	}
	if n := len(mtuWrites(h)); n != 2 {
		t.Fatalf("%d search probes, want 2 (1500, then the announced 1400)", n)
	}
	if ws := mtuWrites(h); ws[0].ttl != s.MaxHops || ws[0].cksum != h.fc.writes[0].cksum || ws[0].id != h.fc.writes[0].id {
		t.Errorf("search probe %+v is not on the target's flow (%+v) with TTL %d", ws[0], h.fc.writes[0], s.MaxHops)
	}
	h.answerAll(0, 3, nil)
	h.at(1 * time.Second)
	h.at(2 * time.Second)
	h.answerAll(0, 3, nil)
	h.drain()
	h.at(4 * time.Second)
	h.drain()
	h.at(4*time.Second + 10*time.Millisecond)
	if len(h.results) == 0 || h.results[0].MTU == nil {
		t.Fatalf("no MTU result delivered: %+v", h.results)
	}
	if got := *h.results[0].MTU; got.Bytes != 1400 || got.From != r2 || got.Probes != 2 {
		t.Errorf("MTU result %+v, want 1400 from %v in 2 probes", got, r2)
	}
	// The next two intervals run no search; the one after does.
	for k := 2; k <= 3; k++ {
		before := len(mtuWrites(h))
		h.at(time.Duration(k) * 4 * time.Second)
		if got := len(mtuWrites(h)) - before; (k == 3) != (got > 0) {
			t.Errorf("interval %d sent %d search probes", k+1, got)
		}
	}
}

// A size the host's own interface refuses (EMSGSIZE) bounds the search
// without a probe on the wire; silent drops are retried, then bound it.
func TestCoreMTUSearchLocalAndSilent(t *testing.T) {
	h := mtuHarness(9000)
	s := sched(1)
	s.PMTUEvery = 1
	refuse := 1500
	conn := &sizeConn{fakeConn: h.fc, max: refuse - ipv4Min}
	h.c.conns[0][sockICMP] = conn
	h.addTarget(s, dstA)
	h.at(0)
	// Answer every probe up to 1300 bytes, drop the larger ones silently.
	d := time.Duration(0)
	hasMTU := func() bool {
		for _, r := range h.results {
			if r.MTU != nil {
				return true
			}
		}
		return false
	}
	for i := 0; i < 100 && !hasMTU(); i++ {
		ws := mtuWrites(h)
		if len(ws) > 0 {
			w := ws[len(ws)-1]
			if w.size+ipv4Min <= 1300 && !conn.answered[w.seq] {
				conn.answered[w.seq] = true
				h.c.reply(h.now, h.now, Reply{Kind: KindReached, Proto: protoICMP4, ID: w.id, Seq: w.seq}, w.dst, 60)
			}
		}
		d += 500 * time.Millisecond
		h.drain()
		h.at(d)
	}
	for _, r := range h.results {
		if r.MTU != nil {
			if r.MTU.Bytes != 1300 || r.MTU.From.IsValid() || r.MTU.Local {
				t.Errorf("MTU result %+v, want 1300 from a silent drop", *r.MTU)
			}
			if conn.refused == 0 {
				t.Error("the interface's limit was never hit")
			}
			return
		}
	}
	for _, w := range mtuWrites(h) {
		t.Logf("write %d at %v", w.size+ipv4Min, w.at.Sub(t0))
	}
	t.Fatalf("no MTU result; %d results, refused %d", len(h.results), conn.refused)
}

// sizeConn refuses packets above max bytes of ICMP with EMSGSIZE.
type sizeConn struct {
	*fakeConn
	max      int
	refused  int
	answered map[uint16]bool
}

func (c *sizeConn) WriteTo(b []byte, dst, src netip.Addr, ttl int) error {
	if c.answered == nil {
		c.answered = map[uint16]bool{}
	}
	if len(b) > c.max {
		c.refused++
		return syscall.EMSGSIZE
	}
	return c.fakeConn.WriteTo(b, dst, src, ttl)
}

// Removing a target mid-search sends nothing more, and a Packet Too Big
// quoting a round's probe is not an answer to it.
func TestCoreMTUSearchStopsAndTooBigOnlyAnswersSearch(t *testing.T) {
	h := mtuHarness(1500)
	s := sched(1)
	s.PMTUEvery = 1
	tg := h.addTarget(s, dstA)
	h.at(0)
	var round write
	for _, w := range h.fc.writes {
		if w.size == EchoLen {
			round = w
			break
		}
	}
	if h.c.reply(h.now, h.now, Reply{Kind: KindTooBig, MTU: 1280, Proto: protoICMP4, Dst: round.dst, ID: round.id, Seq: round.seq}, hopIP(1), 63) {
		t.Error("a Packet Too Big answered a round's probe")
	}
	if h.st.unmatched.Load() != 1 {
		t.Errorf("unmatched %d, want 1", h.st.unmatched.Load())
	}
	h.c.remove(tg)
	n := len(h.fc.writes)
	for d := time.Second; d < 10*time.Second; d += time.Second {
		h.at(d)
	}
	if len(h.fc.writes) != n {
		t.Errorf("%d probes sent after the target was removed", len(h.fc.writes)-n)
	}
	if len(h.c.inflight) != 0 {
		t.Errorf("%d probes still in flight", len(h.c.inflight))
	}
}

// Fragmentation Needed (IPv4) and Packet Too Big (IPv6) quoting an Echo
// Request decode with the announced MTU.
func TestParseTooBig(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		probe := marshalEchoSized(v6, 0x1234, 77, 1500, make([]byte, maxMTU))
		var quote []byte
		if v6 {
			quote = make([]byte, ipv6Len)
			quote[0], quote[6] = 6<<4, protoICMP6
			copy(quote[24:40], netip.MustParseAddr("2001:db8:7::2").AsSlice())
		} else {
			quote = make([]byte, ipv4Min)
			quote[0], quote[9] = 0x45, protoICMP4
			copy(quote[16:20], dstA.AsSlice())
		}
		msg := []byte{icmp4DestUnreachable, codeFragNeeded, 0, 0, 0, 0, 0x05, 0x78} // MTU 1400
		if v6 {
			msg = []byte{icmp6PacketTooBig, 0, 0, 0, 0, 0, 0x05, 0x78}
		}
		msg = append(append(msg, quote...), probe[:64]...)
		r, err := ParseReply(v6, msg)
		if err != nil {
			t.Fatalf("v6=%v: %v", v6, err)
		}
		want := KindDestUnreachable
		if v6 {
			want = KindTooBig
		}
		if r.Kind != want || r.MTU != 1400 || r.ID != 0x1234 || r.Seq != 77 {
			t.Errorf("v6=%v: %+v, want kind %v, MTU 1400, id 0x1234, seq 77", v6, r, want)
		}
	}
}

// A send error other than EMSGSIZE (no route) ends the search at once,
// without a result, instead of spending its probes on errors.
func TestCoreMTUSearchSendError(t *testing.T) {
	h := mtuHarness(1500)
	s := sched(1)
	s.PMTUEvery = 1
	h.fc.fail = syscall.ENETUNREACH
	tg := h.addTarget(s, dstA)
	h.at(0)
	if tg.mtu != nil || tg.mtuDone != nil {
		t.Fatalf("search still running (%v) or a result kept (%v)", tg.mtu != nil, tg.mtuDone)
	}
	// The round's probes failed too; the search added one error, not 40.
	if got := h.st.sendErrors.Load(); got != 8+1 {
		t.Errorf("%d send errors, want 9 (8 round probes, 1 search probe)", got)
	}
}
