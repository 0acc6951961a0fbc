package e2e

import (
	endian "encoding/binary"
	"net/netip"
)

// The forgeries of the spoofing test's forger (forger_test.go): replies
// built from a probe that must answer no probe.

// forged is one forged packet and its kind.
type forged struct {
	kind int
	pkt  []byte
}

// forgeFrom sends, the moment probe p passes, every kind built from it.
func (fg *forger) forgeFrom(p liveFlow) {
	flows := fg.snapshot()
	for _, f := range fg.build(flows, p) {
		fg.send(f.kind, &p, f.pkt)
	}
	if p.proto != ipUDP || fg.raceUDP {
		fg.answerFromOther(flows, p)
	}
}

// build returns the forgeries made from probe p of one of flows: a Time
// Exceeded and a destination's answer with another identifier, the same
// with another sequence number, and the same with p's identity and its
// sibling's destination and port. A forgery that might answer a live probe
// by chance is left out.
func (fg *forger) build(flows []liveFlow, p liveFlow) []forged {
	var out []forged
	add := func(k int, key flowKey, seq uint16, pkt []byte) {
		if fg.collides(flows, key, seq) {
			fg.skipped.Add(1)
			return
		}
		out = append(out, forged{k, pkt})
	}
	fi := fam(p.dst)
	host, router := fg.host[fi], fg.router[fi]
	wrong := p.flowKey
	wrong.id = unusedID(flows, p)
	seq := p.seq + 0x8000
	if seq == 0 {
		seq = 1 // not a UDP checksum
	}
	add(fWrongID, wrong, p.seq, icmpPacket(router, host, icmpTimeExceeded, icmpType{}, 0, requote(p, wrong, p.seq)))
	add(fWrongSeq, p.flowKey, seq, icmpPacket(router, host, icmpTimeExceeded, icmpType{}, 0, requote(p, p.flowKey, seq)))
	add(fDstWrongID, wrong, p.seq, fg.answer(p, p.dst, wrong, p.seq))
	add(fDstWrongSeq, p.flowKey, seq, fg.answer(p, p.dst, p.flowKey, seq))
	for _, f := range flows {
		if f.v6 != p.v6 || f.proto != p.proto || f.flowKey == p.flowKey {
			continue
		}
		mixed := p.flowKey
		mixed.dst, mixed.port = f.dst, f.port
		add(fCrossTE, mixed, p.seq, icmpPacket(router, host, icmpTimeExceeded, icmpType{}, 0, requote(p, mixed, p.seq)))
		add(fCrossDst, mixed, p.seq, fg.answer(p, f.dst, mixed, p.seq))
	}
	return out
}

// answerFromOther sends the destination's answer to probe p, with its
// exact identity, from an address other than the destination's.
func (fg *forger) answerFromOther(flows []liveFlow, p liveFlow) {
	others := fg.others[fam(p.dst)]
	from := others[int(fg.rotate.Add(1))%len(others)]
	if from == p.dst {
		from = others[0]
	}
	if p.proto != ipUDP {
		// Echo Reply, SYN-ACK and RST are keyed by their sender.
		key := p.flowKey
		key.dst = from
		if fg.collides(flows, key, p.seq) {
			fg.skipped.Add(1)
			return
		}
	}
	fg.send(fOtherSender, &p, fg.answer(p, from, p.flowKey, p.seq))
}

// unreachableFromOther sends a Port Unreachable quoting the UDP probe q,
// whose real answer passed udpAfter ago, from an address other than its
// destination's. A UDP probe's identity is in the quote, which the forger
// copies: sent before the real answer, as TRX_SPOOF_UDP_RACE=1 makes it,
// this is an ICMP error that copies a live probe's quote, which the
// exporter takes for a router's Destination Unreachable.
func (fg *forger) unreachableFromOther(q ipHeader) {
	others := fg.others[fam(q.dst)]
	from := others[int(fg.rotate.Add(1))%len(others)]
	if from == q.dst {
		from = others[0]
	}
	quote := ipPacket(q.src, q.dst, ipUDP, q.l4[:16]) // the probe, its header rebuilt
	fg.send(fOtherSender, nil, icmpPacket(from, fg.host[fam(from)], icmpUnreachable, codePortUnreachable, 0, quote))
}

// answer builds the destination's answer to probe p, for flow key and
// sequence seq, sent from `from`: an Echo Reply, a Port Unreachable
// quoting the probe, or a SYN-ACK (RST with ACK on every other one)
// acknowledging it.
func (fg *forger) answer(p liveFlow, from netip.Addr, key flowKey, seq uint16) []byte {
	host := fg.host[fam(from)]
	switch key.proto {
	case ipUDP:
		return icmpPacket(from, host, icmpUnreachable, codePortUnreachable, 0, requote(p, key, seq))
	case ipTCP:
		flags := byte(tcpSYN | tcpACK)
		if fg.flip.Add(1)%2 == 0 {
			flags = tcpRST | tcpACK
		}
		return tcpPacket(from, host, key.port, key.id, 0x5eed0000|uint32(seq), (uint32(p.seqHigh)<<16|uint32(seq))+1, flags)
	}
	h, _ := parseIP(p.probe)
	return icmpPacket(from, host, icmpEchoReply, icmpType{}, uint32(key.id)<<16|uint32(seq), h.l4[8:])
}

// requote returns p's probe with the destination, identifier, port and
// sequence number of key and seq: the datagram an ICMP error quotes.
func requote(p liveFlow, key flowKey, seq uint16) []byte {
	q := append([]byte(nil), p.probe...)
	h, _ := parseIP(q)
	l4 := q[len(q)-len(h.l4):]
	if h.v6 {
		d := key.dst.As16()
		copy(q[24:40], d[:])
	} else {
		d := key.dst.As4()
		copy(q[16:20], d[:])
		endian.BigEndian.PutUint16(q[10:], 0)
		endian.BigEndian.PutUint16(q[10:], inetChecksum(q[:20]))
	}
	switch key.proto {
	case ipUDP, ipTCP:
		endian.BigEndian.PutUint16(l4[0:], key.id)
		endian.BigEndian.PutUint16(l4[2:], key.port)
		endian.BigEndian.PutUint16(l4[6:], seq) // the UDP checksum; the low half of the TCP sequence number
	default:
		endian.BigEndian.PutUint16(l4[4:], key.id)
		endian.BigEndian.PutUint16(l4[6:], seq)
	}
	return q
}

// collides reports whether a reply keyed key with sequence number seq
// might answer a live probe of one of flows: then it is not forged, for
// it would carry a right identity by chance.
func (fg *forger) collides(flows []liveFlow, key flowKey, seq uint16) bool {
	for _, f := range flows {
		if f.flowKey == key {
			if d := int16(seq - f.seq); d > -8192 && d < 8192 {
				return true
			}
		}
	}
	return false
}

// unusedID returns an identifier (for UDP and TCP a source port in the
// exporter's range) that no flow of p's family and protocol uses.
func unusedID(flows []liveFlow, p liveFlow) uint16 {
	used := func(id uint16) bool {
		for _, f := range flows {
			if f.v6 == p.v6 && f.proto == p.proto && f.id == id {
				return true
			}
		}
		return false
	}
	transport := p.proto == ipUDP || p.proto == ipTCP
	id := p.id ^ 0x8000
	if transport {
		id = 61000 + (p.id-61000+2268)%4536
	}
	for used(id) {
		if id++; transport && id < 61000 {
			id = 61000
		}
	}
	return id
}
