package tracer

import (
	"net/netip"
	"time"
)

// Schedule is how one target is traced. It is fixed for the target's
// lifetime: a changed configuration is a new target.
type Schedule struct {
	// Method is the probe protocol; nil means ICMP.
	Method Method
	// Port is the destination port of UDP and TCP probes; 0 means the
	// method's default.
	Port uint16
	// Src is the source address; invalid means the kernel chooses (for
	// UDP and TCP, the address of the route to the destination).
	Src netip.Addr
	// Interval is the time between interval starts; each interval's rounds
	// are spread over it.
	Interval time.Duration
	// Offset delays the first interval after the target is added, so that
	// targets do not all start at once.
	Offset time.Duration
	// Rounds is how many probes each TTL gets in an interval. Round k is
	// sent at start + k*Interval/Rounds, every TTL of it at once.
	Rounds int
	// MaxHops is the highest TTL probed.
	MaxHops int
	// Timeout is how long a probe waits for its reply, measured from the
	// probe's send time to the reply's kernel receive time.
	Timeout time.Duration
	// Flows is how many distinct flows (ICMP identifiers, or UDP and TCP
	// source ports) trace the target in the same rounds, so that every
	// branch of a per-flow load balancer shows; 0 or 1 means one.
	Flows int
	// PMTUEvery, when above 0, runs a path MTU search at the start of
	// every PMTUEvery-th interval (the first included); 0 runs none.
	PMTUEvery int
}

// Probe is the outcome of one probe.
type Probe struct {
	// Round is the round (0-based) and TTL the hop limit the probe was
	// sent with; Flow the index of its flow (0-based).
	Round, TTL, Flow int
	// Kind is the kind of reply, or KindNone if none came within the timeout.
	Kind Kind
	// Code is the ICMP code of the reply.
	Code uint8
	// From is the address the reply came from.
	From netip.Addr
	// RTT is the time from send to the kernel's receive time of the reply.
	RTT time.Duration
	// ReplyTTL is the TTL the reply arrived with, or -1 if unknown.
	ReplyTTL int
	// SendFailed is set when the socket refused the probe; it counts as lost.
	SendFailed bool
	// Discovery is set when the probe went out although the hop budget
	// had no token for the router it was expected to reach, because it
	// was the flow's first at its TTL (every TTL is probed at least once,
	// so that no guess hides the destination). It is evidence of the path
	// like any probe, but not a sample of the hop: the router may well
	// shed its answer, so it is left out of the hop's statistics.
	Discovery bool
	// MPLS and Interface are what the router's ICMP extensions said: the
	// label stack ("label/tc/s/ttl", top first) and the incoming
	// interface; empty when it sent none.
	MPLS, Interface string
}

// Result is everything one interval of tracing observed.
type Result struct {
	// Dst is the address traced in this interval.
	Dst        netip.Addr
	Start, End time.Time
	// Hint is the hop count the interval started from (0: none): rounds
	// probed TTLs up to Hint+1 until the interval's own replies said more.
	Hint int
	// Rounds is the number of rounds sent, and Flows the number of flows
	// that sent in each.
	Rounds, Flows int
	// Probes holds every probe in send order (by round, then TTL).
	Probes []Probe
	// SendErr is the last error the socket returned for a probe of this
	// interval, nil if every probe went out.
	SendErr error
	// MTU is the path MTU search that finished since the target's last
	// interval was delivered, if any.
	MTU *MTUResult
}
