package tracer

import "golang.org/x/sys/unix"

// WantReceiveBuffer is the receive buffer each receiving socket asks for:
// room for bursts of replies while the reader is not scheduled. The
// kernel caps it at net.core.rmem_max.
const WantReceiveBuffer = 4 << 20

// setReceiveBuffer asks for WantReceiveBuffer and returns what the kernel
// granted (0 if it cannot tell).
func setReceiveBuffer(fd int) int {
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, WantReceiveBuffer)
	got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		return 0
	}
	return got / 2 // the kernel reports twice the size, for its bookkeeping
}

// ReceiveBuffer returns the receive buffer the kernel granted the socket.
func (r *rawConn) ReceiveBuffer() int { return r.rcvbuf }

// ReceiveBuffer returns the receive buffer the kernel granted the socket.
func (c *dgramConn) ReceiveBuffer() int { return c.rcvbuf }
