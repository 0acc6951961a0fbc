package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawSocket is a blocking raw ICMP socket of the IPv4 family: the least a
// traceroute needs. The TTL of each probe travels in an IP_TTL control
// message, as the exporter's do, so a probe costs one sendmsg(2).
type rawSocket struct {
	fd  int
	oob []byte // one IP_TTL control message; the TTL is patched per send
}

// openRaw opens the socket with a 4 MiB receive buffer (the exporter asks
// for the same; the kernel caps it at net.core.rmem_max).
func openRaw() (*rawSocket, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		return nil, fmt.Errorf("raw ICMP socket (needs CAP_NET_RAW): %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	oob := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = unix.IPPROTO_IP
	h.Type = unix.IP_TTL
	h.SetLen(unix.CmsgLen(4))
	return &rawSocket{fd: fd, oob: oob}, nil
}

// send writes one ICMP message to dst with the given TTL.
func (s *rawSocket) send(b []byte, dst netip.Addr, ttl int) error {
	binary.NativeEndian.PutUint32(s.oob[unix.CmsgLen(0):], uint32(ttl))
	_, err := unix.SendmsgN(s.fd, b, s.oob, &unix.SockaddrInet4{Addr: dst.As4()}, 0)
	return err
}

// drain reads and discards every packet the socket receives, counting
// them in n, until the process exits.
func (s *rawSocket) drain(n *atomic.Int64) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := unix.Recvfrom(s.fd, buf, 0); err == nil {
			n.Add(1)
		} else if err != unix.EINTR {
			return
		}
	}
}

// echoRequest fills b (16 bytes) with an ICMP Echo Request (RFC 792) of
// the given identifier and sequence number and an 8-byte payload, the size
// of the exporter's probes.
func echoRequest(b []byte, id, seq uint16) []byte {
	b = b[:16]
	b[0], b[1] = 8, 0 // Echo Request, code 0
	binary.BigEndian.PutUint16(b[2:], 0)
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], "rawloop!")
	binary.BigEndian.PutUint16(b[2:], checksum(b))
	return b
}

// checksum is the Internet checksum (RFC 1071) of b, of even length.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
