package e2e

import (
	endian "encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The forger of the spoofing test (spoof_test.go): an attacker in r1 that
// reads what crosses r1's link to src, learns the exporter's flows from
// its probes, and sends forged replies to src (forgery_test.go builds
// them).

// Kinds of forged packets.
const (
	fWrongID     = iota // Time Exceeded quoting a probe with another identifier
	fWrongSeq           // Time Exceeded quoting a probe with another sequence number
	fDstWrongID         // the destination's answer, from its address, with another identifier
	fDstWrongSeq        // the same with another sequence number
	fCrossTE            // Time Exceeded quoting one target's destination or port with another's flow
	fCrossDst           // the destination's answer with another target's flow
	fOtherSender        // the destination's answer with a live probe's identity, from another address
	fReplay             // a real reply, again, replayAfter later
	nForged
)

var forgedNames = [nForged]string{"te-wrong-id", "te-wrong-seq", "dst-wrong-id", "dst-wrong-seq", "te-cross-flow", "dst-cross-flow", "other-sender", "replay"}

// flowKey is a probe flow as the forger sees it on the wire.
type flowKey struct {
	v6    bool
	proto byte // ipICMP or ipICMPv6, ipUDP, ipTCP
	dst   netip.Addr
	id    uint16 // ICMP identifier, or source port
	port  uint16 // destination port; 0 for ICMP
}

// liveFlow is a flow with its latest probe.
type liveFlow struct {
	flowKey
	seq     uint16 // Echo sequence, UDP checksum, or low half of the TCP sequence number
	seqHigh uint16 // TCP: the high half
	probe   []byte // the latest probe, an IP packet
	ttl     byte   // its TTL when it reached r1
	at      time.Time
}

// forgedCounts is how many packets of each kind the forger sent, and how
// many of them while their probe surely waited for its answer.
type forgedCounts struct {
	n, live                           [nForged]int64
	skipped, errs, captured, provoked int64
}

func (c forgedCounts) total() int64 {
	var s int64
	for _, n := range c.n {
		s += n
	}
	return s
}

func (c forgedCounts) String() string {
	var parts []string
	for k, n := range c.n {
		parts = append(parts, fmt.Sprintf("%s=%d (%d live)", forgedNames[k], n, c.live[k]))
	}
	return fmt.Sprintf("%d packets: %s; %d skipped as colliding with a live probe; %d send errors; %d real replies captured for replay; %d real ICMP errors provoked",
		c.total(), strings.Join(parts, ", "), c.skipped, c.errs, c.captured, c.provoked)
}

// forger is the attacker in r1: it reads the frames of r1's link to src
// and writes forged ones to src.
type forger struct {
	t      testing.TB
	w      *wire
	host   [2]netip.Addr // src's address, per family: where everything goes
	router [2]netip.Addr // r3a's address: the source of forged Time Exceeded
	// others are the addresses that answer in a destination's stead:
	// r1's, r2's, and both destinations' (each for the other's flows).
	// src's kernel answers a forged SYN-ACK with a RST to its sender, so
	// they are addresses r1 has a route to: an unroutable one would have
	// r1 answer each RST with a (real, unmatched) Destination
	// Unreachable.
	others [2][]netip.Addr
	// raceUDP answers UDP probes from another address as they pass,
	// before the real answer (TRX_SPOOF_UDP_RACE=1); see
	// unreachableFromOther.
	raceUDP bool

	mu      sync.Mutex
	flows   map[flowKey]*liveFlow
	replays []replay

	forging  atomic.Bool
	n, live  [nForged]atomic.Int64
	skipped  atomic.Int64
	errs     atomic.Int64
	captured atomic.Int64
	provoked atomic.Int64
	rotate   atomic.Uint32 // picks the next of others
	flip     atomic.Uint32 // alternates SYN-ACK and RST
	done     chan struct{}
}

type replay struct {
	at  time.Time
	pkt []byte
}

// newForger starts reading r1's link to src; it learns flows at once and
// forges only after start.
func newForger(t testing.TB, tp *topo) *forger {
	fg := &forger{t: t, flows: map[flowKey]*liveFlow{}, done: make(chan struct{}), raceUDP: os.Getenv("TRX_SPOOF_UDP_RACE") == "1"}
	for f, v6 := range []bool{false, true} {
		fg.host[f] = netip.MustParseAddr(hostAddr(v6))
		fg.router[f] = netip.MustParseAddr(addr(v6, 3))
		fg.others[f] = []netip.Addr{netip.MustParseAddr(addr(v6, 1)), netip.MustParseAddr(addr(v6, 2)),
			netip.MustParseAddr(addr(v6, 7)), netip.MustParseAddr(anyIP(v6, 11))}
	}
	fg.w = openWire(tp.lab, "r1", "to-src", "src", "to-r1", true)
	go fg.read()
	t.Cleanup(func() {
		fg.forging.Store(false)
		fg.w.close()
		<-fg.done
	})
	return fg
}

// hostAddr is src's address on its link to r1.
func hostAddr(v6 bool) string {
	if v6 {
		return "2001:db8:1::1"
	}
	return "198.18.1.1"
}

// read learns every probe src sends through r1 and, while forging, forges
// from it at once; it keeps the real replies r1 forwards to src for
// replay.
func (fg *forger) read() {
	defer close(fg.done)
	buf := make([]byte, 65536)
	for {
		pkt, out, at, err := fg.w.readFrame(buf)
		if err != nil {
			return
		}
		h, err := parseIP(pkt)
		if err != nil {
			continue
		}
		f := fam(h.src)
		switch {
		case !out && h.src == fg.host[f]:
			if lf, ok := parseProbe(h, pkt); ok {
				lf.ttl, lf.at = h.ttl, at
				fg.mu.Lock()
				fg.flows[lf.flowKey] = &lf
				fg.mu.Unlock()
				if fg.forging.Load() {
					fg.forgeFrom(lf)
				}
			}
		case out && h.dst == fg.host[f] && h.ttl != forgedTTL && fg.forging.Load() && isReply(h):
			fg.mu.Lock()
			if len(fg.replays) < spoofMax {
				fg.replays = append(fg.replays, replay{at, append([]byte(nil), pkt...)})
				fg.captured.Add(1)
			}
			fg.mu.Unlock()
			if provoked(h, fg.host[f]) {
				fg.provoked.Add(1)
			}
			if q, ok := quotedUDPProbe(h); ok && !fg.raceUDP {
				q.l4 = append([]byte(nil), q.l4...) // buf is read into again
				// Once the real answer has surely been handled: the
				// forger's frames and r1's may reach src on different
				// CPUs, in either order.
				time.AfterFunc(udpAfter, func() {
					if fg.forging.Load() {
						fg.unreachableFromOther(q)
					}
				})
			}
		}
	}
}

var probeMarker = []byte("trxprb")

// parseProbe recognises one of the exporter's probes.
func parseProbe(h ipHeader, pkt []byte) (liveFlow, bool) {
	l4 := h.l4
	end := cap(pkt) - cap(l4) + len(l4) // the IP packet without the frame's padding
	lf := liveFlow{flowKey: flowKey{v6: h.v6, proto: h.proto, dst: h.dst}, probe: append([]byte(nil), pkt[:end]...)}
	switch h.proto {
	case ipICMP, ipICMPv6:
		if len(l4) < 16 || l4[0] != icmpEchoRequest[fam(h.src)] || string(l4[10:16]) != string(probeMarker) {
			return liveFlow{}, false
		}
		lf.id, lf.seq = endian.BigEndian.Uint16(l4[4:]), endian.BigEndian.Uint16(l4[6:])
	case ipUDP:
		if len(l4) < 16 || string(l4[10:16]) != string(probeMarker) {
			return liveFlow{}, false
		}
		lf.id, lf.port, lf.seq = endian.BigEndian.Uint16(l4[0:]), endian.BigEndian.Uint16(l4[2:]), endian.BigEndian.Uint16(l4[6:])
	case ipTCP:
		if len(l4) < 20 || l4[13] != tcpSYN || endian.BigEndian.Uint16(l4[0:]) < 61000 {
			return liveFlow{}, false
		}
		lf.id, lf.port = endian.BigEndian.Uint16(l4[0:]), endian.BigEndian.Uint16(l4[2:])
		lf.seqHigh, lf.seq = endian.BigEndian.Uint16(l4[4:]), endian.BigEndian.Uint16(l4[6:])
	default:
		return liveFlow{}, false
	}
	return lf, true
}

// isReply reports whether a packet to src is a reply the exporter reads:
// an ICMP message, or a TCP SYN-ACK or RST with ACK.
func isReply(h ipHeader) bool {
	switch h.proto {
	case ipICMP, ipICMPv6:
		return true
	case ipTCP:
		return len(h.l4) >= 20 && h.l4[13]&tcpACK != 0 && h.l4[13]&(tcpSYN|tcpRST) != 0
	}
	return false
}

// quoted returns the datagram an ICMP error (Time Exceeded, Destination
// Unreachable) quotes.
func quoted(h ipHeader) (ipHeader, []byte, bool) {
	if (h.proto != ipICMP && h.proto != ipICMPv6) || len(h.l4) < 8 {
		return ipHeader{}, nil, false
	}
	if f := fam(h.src); h.l4[0] != icmpTimeExceeded[f] && h.l4[0] != icmpUnreachable[f] {
		return ipHeader{}, nil, false
	}
	q, err := parseIP(h.l4[8:])
	return q, h.l4[8:], err == nil
}

// provoked reports whether h, a real packet to host, is an ICMP error
// about a packet of host's that is not a probe: host's answer to a
// forged packet (a RST to a forged SYN-ACK) that the network refused. The
// exporter counts it as unmatched too.
func provoked(h ipHeader, host netip.Addr) bool {
	q, raw, ok := quoted(h)
	if !ok || q.src != host {
		return false
	}
	_, probe := parseProbe(q, raw)
	return !probe
}

// quotedUDPProbe returns the exporter's UDP probe an ICMP error quotes.
func quotedUDPProbe(h ipHeader) (ipHeader, bool) {
	q, _, ok := quoted(h)
	if !ok || q.proto != ipUDP || len(q.l4) < 16 || string(q.l4[10:16]) != string(probeMarker) {
		return ipHeader{}, false
	}
	return q, true
}

// learned returns how many flows the forger knows.
func (fg *forger) learned() int {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	return len(fg.flows)
}

func (fg *forger) flowList() string {
	var s []string
	for _, f := range fg.snapshot() {
		s = append(s, fmt.Sprintf("%d/%s/%d->%d", f.proto, f.dst, f.id, f.port))
	}
	return strings.Join(s, " ")
}

// snapshot returns the flows with their latest probes, in a fixed order.
func (fg *forger) snapshot() []liveFlow {
	fg.mu.Lock()
	flows := make([]liveFlow, 0, len(fg.flows))
	for _, lf := range fg.flows {
		flows = append(flows, *lf)
	}
	fg.mu.Unlock()
	sort.Slice(flows, func(i, j int) bool {
		a, b := flows[i], flows[j]
		if a.proto != b.proto {
			return a.proto < b.proto
		}
		if c := a.dst.Compare(b.dst); c != 0 {
			return c < 0
		}
		return a.port < b.port || (a.port == b.port && a.id < b.id)
	})
	return flows
}

func (fg *forger) counts() forgedCounts {
	var c forgedCounts
	for k := range c.n {
		c.n[k], c.live[k] = fg.n[k].Load(), fg.live[k].Load()
	}
	c.skipped, c.errs, c.captured, c.provoked = fg.skipped.Load(), fg.errs.Load(), fg.captured.Load(), fg.provoked.Load()
	return c
}

// send writes one forged packet of kind k, made from probe p (nil for a
// replay). It counts as live when p went to the destination and less than
// half of spoofDelay has passed since: its answer is at least 1.5
// spoofDelay away.
func (fg *forger) send(k int, p *liveFlow, pkt []byte) {
	if err := fg.w.send(pkt); err != nil {
		fg.errs.Add(1)
		return
	}
	fg.n[k].Add(1)
	if p != nil && p.ttl >= 5 && time.Since(p.at) < spoofDelay/2 {
		fg.live[k].Add(1)
	}
}

// start forges for d; the returned channel is closed when it has stopped.
// Besides the forgeries read makes from every probe, it sends spoofRate
// packets a second of the same kinds built from the flows' latest probes,
// and the replays; at most spoofMax packets in all.
func (fg *forger) start(d time.Duration) <-chan struct{} {
	stopped := make(chan struct{})
	fg.forging.Store(true)
	go func() {
		defer close(stopped)
		defer fg.forging.Store(false)
		start := time.Now()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var sent, next int
		for now := range tick.C {
			if now.Sub(start) >= d || fg.counts().total() >= spoofMax {
				return
			}
			var pkts []forged
			flows := fg.snapshot()
			for _, f := range flows {
				pkts = append(pkts, fg.build(flows, f)...)
			}
			for due := int(now.Sub(start).Seconds() * spoofRate); sent < due && len(pkts) > 0; sent++ {
				p := pkts[next%len(pkts)]
				next++
				fg.send(p.kind, nil, p.pkt)
			}
			fg.mu.Lock()
			var due []replay
			for len(fg.replays) > 0 && now.Sub(fg.replays[0].at) >= replayAfter {
				due = append(due, fg.replays[0])
				fg.replays = fg.replays[1:]
			}
			fg.mu.Unlock()
			for _, r := range due {
				fg.send(fReplay, nil, r.pkt)
			}
		}
	}()
	return stopped
}
