package tracer

import (
	"net/netip"
	"time"
)

// Spec describes one interval of tracing towards one destination.
type Spec struct {
	// Dst is the destination; its family selects the socket.
	Dst netip.Addr
	// Src is the source address; invalid means the kernel chooses.
	Src netip.Addr
	// MaxHops is the highest TTL probed.
	MaxHops int
	// Rounds is how many probes each TTL gets in the interval. Round k is
	// sent at start + k*Span/Rounds, every TTL of it at once.
	Rounds int
	// Span is the interval the rounds are spread over.
	Span time.Duration
	// Timeout is how long a probe waits for its reply.
	Timeout time.Duration
}

// Probe is the outcome of one probe.
type Probe struct {
	// Round is the round (0-based) and TTL the hop limit the probe was sent with.
	Round, TTL int
	// Kind is the kind of reply, or KindNone if none came within the timeout.
	Kind Kind
	// Code is the ICMP code of the reply.
	Code uint8
	// From is the address the reply came from.
	From netip.Addr
	// RTT is the time from send to receive, on the monotonic clock.
	RTT time.Duration
	// ReplyTTL is the TTL the reply arrived with, or -1 if unknown.
	ReplyTTL int
	// SendFailed is set when the socket refused the probe; it counts as lost.
	SendFailed bool
}

// Result is everything one interval of tracing observed.
type Result struct {
	Dst        netip.Addr
	Start, End time.Time
	// Rounds is the number of rounds sent.
	Rounds int
	// Probes holds every probe in send order.
	Probes []Probe
	// SendErr is the last error the socket returned for a probe of this
	// interval, nil if every probe went out.
	SendErr error
}
