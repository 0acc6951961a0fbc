package tracer

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
)

// sockKind is the socket a method sends its probes on.
type sockKind uint8

const (
	sockICMP sockKind = iota // raw ICMP/ICMPv6: ICMP probes, and every ICMP reply
	sockUDP                  // raw UDP: sends UDP probes only
	sockTCP                  // raw TCP: sends SYNs, receives SYN-ACK and RST
	nSocks
)

// Method is a probe protocol: how the probes of a flow are built, and what
// a reply to one means. The per-target state and the collector never see
// it: every method's replies are classified as a router (Time Exceeded),
// the destination (KindReached) or Destination Unreachable with its code.
type Method interface {
	// Name is the protocol's name in the configuration: icmp, udp or tcp.
	Name() string
	// DefaultPort is the destination port used when none is configured.
	DefaultPort() uint16
	sock() sockKind
	// proto is the IP protocol number of the probes.
	proto(v6 bool) uint8
	// newFlowID returns a random flow identifier: the ICMP identifier,
	// or the source port; flowIDs is the range they come from.
	newFlowID() uint16
	flowIDs() (lo, hi uint16)
	// validSeq reports whether seq may identify a probe.
	validSeq(seq uint16) bool
	// build writes probe seq of flow f into buf and returns it.
	build(f *flow, seq uint16, buf []byte) []byte
	// outcome classifies a reply from `from` to a probe of flow f.
	outcome(r Reply, f *flow, from netip.Addr) Kind
}

// Probe methods.
var (
	ICMP Method = icmpMethod{}
	UDP  Method = udpMethod{}
	TCP  Method = tcpMethod{}
)

// MethodByName returns the method called name (icmp, udp or tcp).
func MethodByName(name string) (Method, error) {
	for _, m := range []Method{ICMP, UDP, TCP} {
		if m.Name() == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("unknown probe protocol %q", name)
}

// Source ports of UDP and TCP flows come from above Linux's default
// ephemeral range, so a flow never shares a port with a local connection.
const (
	minFlowPort = 61000
	maxFlowPort = 65535
)

func randomFlowPort() uint16 {
	return uint16(minFlowPort + rand.IntN(maxFlowPort-minFlowPort+1))
}

// icmpMethod sends Echo Requests (RFC 792, RFC 4443). The flow is the
// identifier and a constant checksum; the sequence number tells probes
// apart. The destination answers with an Echo Reply.
type icmpMethod struct{}

func (icmpMethod) Name() string         { return "icmp" }
func (icmpMethod) DefaultPort() uint16  { return 0 }
func (icmpMethod) sock() sockKind       { return sockICMP }
func (icmpMethod) newFlowID() uint16    { return uint16(rand.Uint32()) }
func (icmpMethod) validSeq(uint16) bool { return true }
func (icmpMethod) proto(v6 bool) uint8 {
	if v6 {
		return protoICMP6
	}
	return protoICMP4
}
func (icmpMethod) build(f *flow, seq uint16, buf []byte) []byte {
	return MarshalEcho(f.dst.Is6(), f.icmpID(), seq, buf)
}
func (icmpMethod) outcome(r Reply, _ *flow, _ netip.Addr) Kind { return r.Kind }

// udpMethod sends UDP datagrams to a fixed port with a fixed source port
// (Paris traceroute): the probe's identity is its checksum, made to equal
// the sequence number by a payload word, so addresses, ports and length,
// everything a load balancer hashes, stay constant. The destination
// answers with Port Unreachable.
type udpMethod struct{}

func (udpMethod) Name() string             { return "udp" }
func (udpMethod) DefaultPort() uint16      { return 33434 }
func (udpMethod) sock() sockKind           { return sockUDP }
func (udpMethod) proto(bool) uint8         { return protoUDP }
func (udpMethod) newFlowID() uint16        { return randomFlowPort() }
func (udpMethod) flowIDs() (lo, hi uint16) { return minFlowPort, maxFlowPort }

// validSeq excludes 0: a UDP checksum of 0 means "none".
func (udpMethod) validSeq(seq uint16) bool { return seq != 0 }
func (udpMethod) build(f *flow, seq uint16, buf []byte) []byte {
	return MarshalUDPProbe(f.dst.Is6(), f.src, f.dst, f.id, f.port, seq, buf)
}
func (udpMethod) outcome(r Reply, f *flow, from netip.Addr) Kind {
	if r.Kind == KindDestUnreachable && from == f.dst && isPortUnreachable(f.dst.Is6(), r.Code) {
		return KindReached
	}
	return r.Kind
}

func isPortUnreachable(v6 bool, code uint8) bool {
	if v6 {
		return code == 4 // RFC 4443
	}
	return code == 3 // RFC 792
}

// tcpMethod sends SYNs to a fixed port with a fixed source port: the
// probe's identity is its sequence number (the flow's constant high half
// and the probe's 16-bit sequence). The destination answers with SYN-ACK
// (open port) or RST (closed); the host's kernel, which has no socket for
// the flow, answers a SYN-ACK with RST, so no connection is established.
type tcpMethod struct{}

func (tcpMethod) Name() string             { return "tcp" }
func (tcpMethod) DefaultPort() uint16      { return 443 }
func (tcpMethod) sock() sockKind           { return sockTCP }
func (tcpMethod) proto(bool) uint8         { return protoTCP }
func (tcpMethod) newFlowID() uint16        { return randomFlowPort() }
func (tcpMethod) flowIDs() (lo, hi uint16) { return minFlowPort, maxFlowPort }
func (tcpMethod) validSeq(uint16) bool     { return true }
func (tcpMethod) build(f *flow, seq uint16, buf []byte) []byte {
	return MarshalTCPSyn(f.dst.Is6(), f.src, f.dst, f.id, f.port, f.seqHigh<<16|uint32(seq), buf)
}
func (tcpMethod) outcome(r Reply, _ *flow, _ netip.Addr) Kind { return r.Kind }

func (icmpMethod) flowIDs() (lo, hi uint16) { return 0, 0xffff }
