package tracer

import (
	"errors"
	"net/netip"
	"time"
)

// ErrPermission is returned by ListenICMP when the process may not open a
// raw ICMP socket (it lacks CAP_NET_RAW).
var ErrPermission = errors.New("opening a raw ICMP socket needs CAP_NET_RAW: run as root or grant it with `setcap cap_net_raw+ep traceroute_exporter`")

// Packet is one ICMP message read from a socket, or a drain watermark.
type Packet struct {
	// Data is the ICMP message, without the IP header.
	Data []byte
	// From is the sender's address.
	From netip.Addr
	// TTL is the TTL (hop limit) the reply arrived with, or -1 if unknown.
	TTL int
	// Time is when the kernel received the packet (CLOCK_REALTIME, from
	// SO_TIMESTAMPNS). The zero time means the socket gave none and the
	// engine stamps the packet when it reads it.
	Time time.Time
	// Drained marks a watermark instead of a packet: every packet the
	// socket received before Time has been returned by earlier calls. A
	// connection returns one after each call of Wake.
	Drained bool
	// Drops is the socket's cumulative count of packets the kernel dropped
	// because the receive buffer was full (SO_RXQ_OVFL); 0 when unknown.
	Drops uint32
}

// PacketConn is all the socket I/O the engine does: one per address family,
// shared by every target of that family. Implementations: the raw socket of
// socket_linux.go and fakes in tests.
type PacketConn interface {
	// WriteTo sends the ICMP message b to dst with the given TTL (hop
	// limit), from src if src is valid. It never blocks: a full socket
	// buffer is an error.
	WriteTo(b []byte, dst, src netip.Addr, ttl int) error
	// ReadPacket blocks for the next ICMP message and reads it into buf.
	// After Wake it returns, once every packet queued before the wake has
	// been returned, a Packet with Drained set. It returns an error once
	// the connection is closed.
	ReadPacket(buf []byte) (Packet, error)
	// Wake asks ReadPacket for a drain watermark. It never blocks.
	Wake()
	// Close releases the socket and unblocks ReadPacket.
	Close() error
}
