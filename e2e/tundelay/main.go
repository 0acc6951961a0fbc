// Command tundelay delays packets for the end-to-end tests, where the kernel
// has no netem. It creates a TUN device, reads every packet the kernel
// routes into it, holds each one for --delay and writes it back, in order.
// Policy routing in the router's namespace sends forwarded packets into the
// device, and the written-back packets are forwarded again, so the TTL (or
// IPv6 hop limit) the kernel decremented on the way in is restored (with
// the IPv4 header checksum) and the device adds no hop.
//
// One reader stamps each packet with its due time on CLOCK_MONOTONIC and
// queues it; one writer, with a 1ns timer slack, sleeps until the head of
// the queue is due (an absolute clock_nanosleep), so no goroutine is
// started per packet. Both run on their own threads under SCHED_FIFO when
// allowed: the helper stands for a link, and busy loops elsewhere on the
// host should not add to its delay. It prints "ready" once the device
// exists and runs until it is killed; the device disappears with it.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// packet is one packet waiting in the queue until due (CLOCK_MONOTONIC).
type packet struct {
	data []byte
	due  unix.Timespec
}

func main() {
	dev := flag.String("dev", "trxdly0", "name of the TUN device to create")
	delay := flag.Duration("delay", 30*time.Millisecond, "time each packet is held")
	queue := flag.Int("queue", 4096, "packets held at most; more are dropped")
	flag.Parse()
	fd, err := openTUN(*dev)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tundelay:", err)
		os.Exit(1)
	}
	q := make(chan packet, *queue)
	go writeBack(fd, q)
	runtime.LockOSThread()
	realtime()
	fmt.Println("ready")
	if err := readLoop(fd, *delay, q); err != nil {
		fmt.Fprintln(os.Stderr, "tundelay:", err)
		os.Exit(1)
	}
}

// openTUN creates the TUN device name (no packet information header) and
// returns its file descriptor.
func openTUN(name string) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("TUNSETIFF %s: %w", name, err)
	}
	return fd, nil
}

// readLoop reads packets, restores their TTL and queues them with their
// due time; a full queue drops the packet, as a full link would.
func readLoop(fd int, delay time.Duration, q chan<- packet) error {
	buf := make([]byte, 65536)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		var now unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &now)
		p := packet{data: append([]byte(nil), buf[:n]...), due: unix.NsecToTimespec(now.Nano() + delay.Nanoseconds())}
		if !restoreTTL(p.data) {
			continue
		}
		select {
		case q <- p:
		default:
		}
	}
}

// writeBack writes each queued packet back once it is due.
func writeBack(fd int, q <-chan packet) {
	runtime.LockOSThread()
	realtime()
	unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	for p := range q {
		for {
			err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &p.due, nil)
			if err != unix.EINTR {
				break
			}
		}
		if _, err := unix.Write(fd, p.data); err != nil {
			fmt.Fprintln(os.Stderr, "tundelay: write:", err)
		}
	}
}

// realtime puts the calling thread under SCHED_FIFO, or says on stderr
// that it could not.
func realtime() {
	if err := unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: 10}, 0); err != nil {
		fmt.Fprintln(os.Stderr, "tundelay: no SCHED_FIFO, delays will vary with the host's load:", err)
	}
}

// restoreTTL adds back the hop the kernel took when it forwarded the packet
// into the device and reports whether the packet is IPv4 or IPv6.
func restoreTTL(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl || b[8] == 255 {
			return false
		}
		b[8]++
		b[10], b[11] = 0, 0
		sum := checksum(b[:ihl])
		b[10], b[11] = byte(sum>>8), byte(sum)
		return true
	case 6:
		if len(b) < 40 || b[7] == 255 {
			return false
		}
		b[7]++
		return true
	}
	return false
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}
