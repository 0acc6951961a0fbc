package tracer

import (
	"encoding/binary"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// parseControl reads the receive ancillary data the socket asked for: the
// kernel receive time (SCM_TIMESTAMPNS), the drop counter (SO_RXQ_OVFL)
// and, for IPv6, the hop limit (IPV6_HOPLIMIT). Unknown or short messages
// are ignored.
func parseControl(b []byte, p *Packet) {
	for len(b) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			return
		}
		b = rest
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPNS && len(data) >= 16:
			sec := int64(binary.NativeEndian.Uint64(data[0:]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:]))
			p.Time = time.Unix(sec, nsec)
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && len(data) >= 4:
			p.Drops = binary.NativeEndian.Uint32(data)
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_HOPLIMIT && len(data) >= 4:
			p.TTL = int(int32(binary.NativeEndian.Uint32(data)))
		}
	}
}

// sendControl builds, in buf, the ancillary data that sets one probe's TTL
// (hop limit) and, when src is valid, its source address.
func sendControl(buf []byte, v6 bool, src netip.Addr, ttl int) []byte {
	intLen := int(unsafe.Sizeof(int32(0)))
	if v6 {
		size := unix.CmsgSpace(intLen)
		if src.IsValid() {
			size += unix.CmsgSpace(unix.SizeofInet6Pktinfo)
		}
		b := clear0(buf[:size])
		rest := putCmsg(b, unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, int32Bytes(ttl))
		if src.IsValid() {
			var pi unix.Inet6Pktinfo
			pi.Addr = src.As16()
			putCmsg(rest, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, (*[unix.SizeofInet6Pktinfo]byte)(unsafe.Pointer(&pi))[:])
		}
		return b
	}
	size := unix.CmsgSpace(intLen)
	if src.IsValid() {
		size += unix.CmsgSpace(unix.SizeofInet4Pktinfo)
	}
	b := clear0(buf[:size])
	rest := putCmsg(b, unix.IPPROTO_IP, unix.IP_TTL, int32Bytes(ttl))
	if src.IsValid() {
		var pi unix.Inet4Pktinfo
		pi.Spec_dst = src.As4()
		putCmsg(rest, unix.IPPROTO_IP, unix.IP_PKTINFO, (*[unix.SizeofInet4Pktinfo]byte)(unsafe.Pointer(&pi))[:])
	}
	return b
}

// putCmsg writes one control message at the start of b and returns the rest.
func putCmsg(b []byte, level, typ int, data []byte) []byte {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = int32(level)
	h.Type = int32(typ)
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b[unix.CmsgSpace(len(data)):]
}

func clear0(b []byte) []byte {
	clear(b)
	return b
}

func int32Bytes(v int) []byte {
	x := int32(v)
	return (*[4]byte)(unsafe.Pointer(&x))[:]
}
