package tracer

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// routeSource returns the source address the kernel uses towards dst: the
// local address of a UDP socket connected to it (connecting sends
// nothing).
func routeSource(dst netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// dropAll is a socket filter that passes nothing.
var dropAll = []bpf.Instruction{bpf.RetConstant{Val: 0}}

// tcpAnswers is a socket filter for the raw TCP socket: it passes only
// segments to a flow port (at least minFlowPort) with SYN and ACK, or RST,
// set. A raw IPv4 socket's filter sees the IP header first; an IPv6 one
// sees the TCP header.
func tcpAnswers(v6 bool) []bpf.Instruction {
	const synAck, rst = 0x12, 0x04
	var prog []bpf.Instruction
	if v6 {
		prog = append(prog, bpf.LoadConstant{Dst: bpf.RegX, Val: 0})
	} else {
		prog = append(prog, bpf.LoadMemShift{Off: 0}) // X = IPv4 header length
	}
	return append(prog,
		bpf.LoadIndirect{Off: 2, Size: 2}, // destination port
		bpf.JumpIf{Cond: bpf.JumpLessThan, Val: minFlowPort, SkipTrue: 5},
		bpf.LoadIndirect{Off: 13, Size: 1}, // flags
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: rst, SkipTrue: 2},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: synAck},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: synAck, SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	)
}

// attachFilter assembles prog and attaches it to the socket.
func attachFilter(fd int, prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return err
	}
	f := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		f[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]})
}

// routeMTU returns the MTU of the interface the kernel sends to dst by:
// the one that holds the route's source address (1500 when none is
// found, e.g. the source is on another interface than the route's). It
// runs on the probing loop when a path MTU search starts, so the
// interface list (a netlink dump) is read at most once a minute.
func routeMTU(dst netip.Addr) int {
	src, err := routeSource(dst)
	if err != nil {
		return 1500
	}
	return ifaceMTUs.of(src, time.Now())
}

// ifaceMTUs caches the MTU of the interface holding each local address.
var ifaceMTUs = &mtuCache{}

type mtuCache struct {
	mu   sync.Mutex
	at   time.Time
	mtus map[netip.Addr]int
}

// of returns the MTU of the interface that holds src, from a list at most
// a minute old; 1500 when no interface holds it.
func (c *mtuCache) of(src netip.Addr, now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mtus == nil || now.Sub(c.at) > time.Minute {
		c.mtus, c.at = interfaceMTUs(), now
	}
	if m, ok := c.mtus[src]; ok {
		return m
	}
	return 1500
}

// interfaceMTUs maps every local address to its interface's MTU.
func interfaceMTUs() map[netip.Addr]int {
	out := map[netip.Addr]int{}
	ifs, err := net.Interfaces()
	if err != nil {
		return out
	}
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					out[ip.Unmap()] = ifc.MTU
				}
			}
		}
	}
	return out
}
