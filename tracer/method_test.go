package tracer

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// rawWrite is one packet a fake socket was asked to send, as bytes.
type rawWrite struct {
	b        []byte
	dst, src netip.Addr
	ttl      int
}

// byteConn is a fake socket that keeps the bytes of every write.
type byteConn struct {
	writes []rawWrite
	wakes  int
}

func (f *byteConn) WriteTo(b []byte, dst, src netip.Addr, ttl int) error {
	f.writes = append(f.writes, rawWrite{append([]byte(nil), b...), dst, src, ttl})
	return nil
}
func (f *byteConn) ReadPacket([]byte) (Packet, error) { select {} }
func (f *byteConn) Wake()                             { f.wakes++ }
func (f *byteConn) Close() error                      { return nil }

// methodHarness drives a core whose IPv4 family has ICMP, UDP and TCP
// sockets.
type methodHarness struct {
	*harness
	udp, tcp *byteConn
	src      netip.Addr
}

func newMethodHarness() *methodHarness {
	h := newHarness()
	m := &methodHarness{harness: h, udp: &byteConn{}, tcp: &byteConn{}, src: netip.MustParseAddr("198.18.1.1")}
	h.c.conns[0][sockUDP], h.c.conns[0][sockTCP] = m.udp, m.tcp
	h.c.route = func(netip.Addr) (netip.Addr, error) { return m.src, nil }
	return m
}

// quote builds the ICMP error of type typ/code from `from` quoting the
// probe w (an IPv4 header and the first 8 bytes of the transport header).
func quote(typ, code uint8, proto byte, w rawWrite) []byte {
	ip := make([]byte, 20)
	ip[0], ip[9] = 0x45, proto
	s, d := w.src.As4(), w.dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	return append(append([]byte{typ, code, 0, 0, 0, 0, 0, 0}, ip...), w.b[:8]...)
}

func (m *methodHarness) errorReply(t *testing.T, w rawWrite, typ, code uint8, proto byte, from netip.Addr) bool {
	t.Helper()
	r, err := ParseReply(false, quote(typ, code, proto, w))
	if err != nil {
		t.Fatal(err)
	}
	return m.c.reply(m.now, m.now, r, from, 60)
}

func TestUDPProbesKeepOneFlowAndReachWithPortUnreachable(t *testing.T) {
	m := newMethodHarness()
	tg := m.addTarget(Schedule{Method: UDP, Interval: 4 * time.Second, Rounds: 2, MaxHops: 3, Timeout: time.Second}, dstA)
	m.at(0)
	if len(m.udp.writes) != 3 || len(m.fc.writes) != 0 {
		t.Fatalf("%d UDP and %d ICMP probes, want 3 UDP", len(m.udp.writes), len(m.fc.writes))
	}
	for _, w := range m.udp.writes {
		w.src = m.src
		sp, dp := binary.BigEndian.Uint16(w.b[0:]), binary.BigEndian.Uint16(w.b[2:])
		if sp != tg.flows[0].id || dp != 33434 || sp < minFlowPort || binary.BigEndian.Uint16(w.b[6:]) == 0 {
			t.Fatalf("UDP probe %x: ports %d->%d, want the flow's port -> 33434 and a non-zero checksum", w.b, sp, dp)
		}
	}
	ws := sortedRaw(m.udp.writes)
	for i := range ws {
		ws[i].src = m.src
	}
	if !m.errorReply(t, ws[0], 11, 0, protoUDP, hopIP(1)) || !m.errorReply(t, ws[1], 11, 0, protoUDP, hopIP(2)) {
		t.Fatal("Time Exceeded quoting our UDP probes not matched")
	}
	// Port Unreachable from a router is an unreachable; from the destination, reached.
	if !m.errorReply(t, ws[2], 3, 3, protoUDP, dstA) {
		t.Fatal("Port Unreachable from the destination not matched")
	}
	// A quote with another destination port is not ours.
	other := ws[0]
	other.b = append([]byte(nil), other.b...)
	binary.BigEndian.PutUint16(other.b[2:], 53)
	if m.errorReply(t, other, 11, 0, protoUDP, hopIP(1)) {
		t.Fatal("a quote of another destination port matched")
	}
	m.at(2 * time.Second)
	m.drain()
	m.at(4 * time.Second)
	m.drain()
	r := m.results[0]
	kinds := map[int]Kind{}
	for _, p := range r.Probes[:3] {
		kinds[p.TTL] = p.Kind
	}
	if kinds[1] != KindTimeExceeded || kinds[2] != KindTimeExceeded || kinds[3] != KindReached {
		t.Fatalf("kinds by TTL %v, want routers at 1, 2 and the destination at 3", kinds)
	}
}

func TestTCPProbesMatchSynAckAndWaitForBothSockets(t *testing.T) {
	m := newMethodHarness()
	// The deadline (2.5s) plus drainGrace lies after the interval's end.
	m.addTarget(Schedule{Method: TCP, Port: 8443, Interval: 4 * time.Second, Rounds: 1, MaxHops: 3, Timeout: 2500 * time.Millisecond}, dstA)
	m.at(0)
	if len(m.tcp.writes) != 3 {
		t.Fatalf("%d TCP probes, want 3", len(m.tcp.writes))
	}
	ws := sortedRaw(m.tcp.writes)
	for i := range ws {
		ws[i].src = m.src
		if ws[i].b[13] != 0x02 || binary.BigEndian.Uint16(ws[i].b[2:]) != 8443 {
			t.Fatalf("probe %x is not a SYN to port 8443", ws[i].b)
		}
	}
	m.errorReply(t, ws[0], 11, 0, protoTCP, hopIP(1))
	// The destination's SYN-ACK, as the raw TCP socket reads it.
	seq := binary.BigEndian.Uint32(ws[1].b[4:])
	synAck := make([]byte, 20)
	copy(synAck[0:], ws[1].b[2:4]) // source port: the target's
	copy(synAck[2:], ws[1].b[0:2]) // destination port: the flow's
	binary.BigEndian.PutUint32(synAck[8:], seq+1)
	synAck[12], synAck[13] = 5<<4, 0x12
	r, err := parseTCPAnswer(false, synAck, dstA)
	if err != nil || !m.c.reply(m.now, m.now, r, dstA, 60) {
		t.Fatalf("SYN-ACK %+v (%v) not matched", r, err)
	}
	m.at(4 * time.Second)
	// The probe at TTL 3 got no answer yet. Only the ICMP socket drained:
	// the TCP socket may still hold its SYN-ACK.
	m.c.drained(m.now, 0, sockICMP, m.now)
	if len(m.results) != 0 || m.tcp.wakes == 0 {
		t.Fatalf("finished (%d results) before the TCP socket was drained; TCP wakes %d", len(m.results), m.tcp.wakes)
	}
	m.c.drained(m.now, 0, sockTCP, m.now)
	if len(m.results) != 1 || m.results[0].Probes[1].Kind != KindReached {
		t.Fatalf("results %+v, want one with the destination reached at TTL 2", m.results)
	}
}

// TestExtensionsReachTheProbe: a Time Exceeded carrying an MPLS label stack
// in the common non-compliant form (extensions 128 bytes after the ICMP
// header, no length field) is matched, and the stack lands on its probe.
func TestExtensionsReachTheProbe(t *testing.T) {
	h := newHarness()
	h.addTarget(Schedule{Interval: 4 * time.Second, Rounds: 1, MaxHops: 2, Timeout: time.Second}, dstA)
	h.at(0)
	w := h.fc.writes[0]
	var buf [EchoLen]byte
	echo := MarshalEcho(false, w.id, w.seq, buf[:])
	ip := make([]byte, 20)
	ip[0], ip[9] = 0x45, protoICMP4
	d := dstA.As4()
	copy(ip[16:], d[:])
	quoted := make([]byte, 128)
	copy(quoted, append(ip, echo...))
	label := uint32(24001)<<12 | 1<<8 | 254 // label 24001, TC 0, bottom of stack, TTL 254
	ext := []byte{0x20, 0, 0, 0, 0, 8, 1, 1, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(ext[8:], label)
	msg := append(append([]byte{11, 0, 0, 0, 0, 0, 0, 0}, quoted...), ext...)
	r, err := ParseReply(false, msg)
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{})
	r.ext = e.extensions(false, msg)
	if !h.c.reply(h.now, h.now, r, hopIP(1), 63) {
		t.Fatal("reply with extensions not matched")
	}
	h.at(4 * time.Second)
	h.drain()
	p := h.results[0].Probes[0]
	if p.MPLS != "24001/0/1/254" || e.Stats().BadExtensions != 0 {
		t.Fatalf("probe MPLS %q, bad extensions %d; want 24001/0/1/254 and 0", p.MPLS, e.Stats().BadExtensions)
	}
	// A malformed extension is counted and the reply still matches.
	bad := append([]byte(nil), msg...)
	bad[len(bad)-7] = 200 // object length past the end
	if x := e.extensions(false, bad); e.Stats().BadExtensions != 1 || (x != nil && x.mpls != "") {
		t.Fatalf("malformed extension: %+v, counted %d", x, e.Stats().BadExtensions)
	}
	if _, err := ParseReply(false, bad); err != nil {
		t.Fatalf("a malformed extension broke decoding: %v", err)
	}
}

// sortedRaw orders raw writes by TTL (rounds send the highest TTL first).
func sortedRaw(writes []rawWrite) []rawWrite {
	out := append([]rawWrite(nil), writes...)
	slices.SortStableFunc(out, func(a, b rawWrite) int { return a.ttl - b.ttl })
	return out
}

// TestFlowsProbeEveryTTLOncePerFlow: with flows: 3 each round sends every
// TTL once per flow, the flows have distinct identifiers (so distinct
// checksums), and replies are matched to their flow.
func TestFlowsProbeEveryTTLOncePerFlow(t *testing.T) {
	h := newHarness()
	tg := h.addTarget(Schedule{Interval: 4 * time.Second, Rounds: 1, MaxHops: 2, Timeout: time.Second, Flows: 3}, dstA)
	h.at(0)
	if len(h.fc.writes) != 6 || len(tg.flows) != 3 {
		t.Fatalf("%d probes from %d flows, want 2 TTLs x 3 flows", len(h.fc.writes), len(tg.flows))
	}
	ids, sums := map[uint16]bool{}, map[uint16]bool{}
	for _, w := range h.fc.writes {
		ids[w.id], sums[w.cksum] = true, true
	}
	if len(ids) != 3 || len(sums) != 3 {
		t.Fatalf("identifiers %v checksums %v, want 3 distinct of each", ids, sums)
	}
	h.answerAll(0, 2, nil)
	h.at(4 * time.Second)
	h.drain()
	perFlow := map[int]int{}
	for _, p := range h.results[0].Probes {
		if p.Kind != KindNone {
			perFlow[p.Flow]++
		}
	}
	if h.results[0].Flows != 3 || perFlow[0] != 2 || perFlow[1] != 2 || perFlow[2] != 2 {
		t.Fatalf("flows %d, answered probes per flow %v; want 3 flows with 2 each", h.results[0].Flows, perFlow)
	}
}
