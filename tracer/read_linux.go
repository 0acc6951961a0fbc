package tracer

import (
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// ReadPacket implements PacketConn. While a drain is under way (after
// Wake) it returns the packets still queued and then the watermark; the
// drain ends when the socket is empty or when a packet received after the
// drain began is read (that packet is returned right after the watermark),
// so a flood cannot hold the watermark back.
func (r *rawConn) ReadPacket(buf []byte) (Packet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if r.closed.Load() {
			return Packet{}, net.ErrClosed
		}
		if r.stashed && !r.draining {
			r.stashed = false
			n := copy(buf, r.stash.Data)
			p := r.stash
			p.Data = buf[:n]
			return p, nil
		}
		if !r.draining && r.wakeReq.Swap(false) {
			r.draining, r.drainAt = true, time.Now()
		}
		if r.draining && r.stashed {
			r.draining = false
			return Packet{Drained: true, Time: r.drainAt}, nil
		}
		p, ok, err := r.recv(buf)
		if err != nil {
			return Packet{}, err
		}
		if ok {
			if r.draining && !p.Time.IsZero() && !p.Time.Before(r.drainAt) {
				r.stash = p
				r.stash.Data = append(r.stashBuf[:0], p.Data...)
				r.stashed = true
				continue
			}
			return p, nil
		}
		if r.draining {
			r.draining = false
			return Packet{Drained: true, Time: r.drainAt}, nil
		}
		if err := r.wait(); err != nil {
			return Packet{}, err
		}
	}
}

// wait blocks until the socket is readable or the eventfd is written.
func (r *rawConn) wait() error {
	fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}, {Fd: int32(r.wake), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if fds[1].Revents != 0 {
			var b [8]byte
			unix.Read(r.wake, b[:])
		}
		return nil
	}
}

// recv reads one queued packet without blocking; ok is false when none is.
func (r *rawConn) recv(buf []byte) (Packet, bool, error) {
	for {
		n, oobn, _, sa, err := unix.Recvmsg(r.fd, buf, r.oob, unix.MSG_DONTWAIT)
		switch err {
		case nil:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return Packet{}, false, nil
		default:
			return Packet{}, false, err
		}
		p := Packet{TTL: -1}
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			p.From = netip.AddrFrom4(a.Addr)
		case *unix.SockaddrInet6:
			p.From = netip.AddrFrom16(a.Addr).Unmap()
		}
		parseControl(r.oob[:oobn], &p)
		if r.v6 {
			p.Data = buf[:n]
			return p, true, nil
		}
		data, ttl, err := stripIPv4Header(buf[:n])
		if err != nil {
			p.Data = buf[:0] // the decoder counts it as malformed
			return p, true, nil
		}
		p.Data, p.TTL = data, ttl
		return p, true, nil
	}
}
