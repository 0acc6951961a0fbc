package tracer

import (
	"errors"
	"net/netip"
	"time"
)

// ErrPermission is returned by ListenICMP when the process may not open a
// raw ICMP socket (it lacks CAP_NET_RAW).
var ErrPermission = errors.New("opening a raw ICMP socket needs CAP_NET_RAW: run as root or grant it with `setcap cap_net_raw+ep traceroute_exporter`")

// Packet is one ICMP message read from a socket.
type Packet struct {
	// Data is the ICMP message, without the IP header.
	Data []byte
	// From is the sender's address.
	From netip.Addr
	// TTL is the TTL (hop limit) the reply arrived with, or -1 if unknown.
	TTL int
	// Time is the receive time; the zero time means the socket gave none
	// and the engine stamps the packet with its clock.
	Time time.Time
}

// PacketConn is all the socket I/O the engine does: one per address family,
// shared by every target of that family. Implementations: the raw socket of
// socket_linux.go and fakes in tests.
type PacketConn interface {
	// WriteTo sends the ICMP message b to dst with the given TTL (hop
	// limit), from src if src is valid.
	WriteTo(b []byte, dst, src netip.Addr, ttl int) error
	// ReadPacket blocks for the next ICMP message and reads it into buf.
	// It returns an error once the connection is closed.
	ReadPacket(buf []byte) (Packet, error)
	// Close releases the socket and unblocks ReadPacket.
	Close() error
}
