package tracer

import "net/netip"

// Path MTU discovery (RFC 1191, RFC 8201) with probes that may not be
// fragmented: Echo Requests of a chosen size with DF set (IPv6 routers
// never fragment). A router whose next link is too small answers with
// Fragmentation Needed (IPv4) or Packet Too Big (IPv6), naming that
// link's MTU; a router that drops the probe silently (a "black hole") is
// found by the search all the same, from the sizes that get no answer.
//
// The search is pure: mtuSearch says which size to try next and folds in
// what each probe got. The core (pmtu_core.go) sends and times the probes.

// Sizes are whole IP packets, headers included, as an MTU counts them.
const (
	// minMTU4 and minMTU6 are the smallest MTUs a link may have (RFC 791,
	// RFC 8200): the search never goes below them.
	minMTU4 = 68
	minMTU6 = 1280
	// maxMTU is the largest packet the search sends: the IPv4 limit,
	// and the IPv6 one without jumbograms.
	maxMTU = 65535
	// mtuTries is how many probes of one size may go unanswered before
	// the size is taken as too big: one loss is not a black hole.
	mtuTries = 2
	// mtuMaxProbes bounds one search.
	mtuMaxProbes = 40
)

// MTUResult is the outcome of one path MTU search.
type MTUResult struct {
	// Bytes is the largest packet (IP header included) that reached the
	// destination and back; 0 when not even the smallest did.
	Bytes int
	// From is the router that said the next size up was too big
	// (Fragmentation Needed, Packet Too Big); invalid when that bound came
	// from a silent drop or from the host's own interface (Local).
	From netip.Addr
	// Local is set when the bound is the host's own outgoing interface:
	// the socket refused the next size up.
	Local bool
	// Probes is how many probes the search sent.
	Probes int
}

// mtuSearch is one search's state: lo is the largest size known to pass
// (0: none yet), hi the smallest known not to; the answer is lo once
// hi == lo+1.
type mtuSearch struct {
	min    int
	lo, hi int
	size   int // the size being probed
	tries  int // unanswered probes of size
	res    MTUResult
	done   bool
}

// newMTUSearch starts a search for a path whose first link has MTU first
// (v6: IPv6, whose minimum MTU is higher).
func newMTUSearch(v6 bool, first int) *mtuSearch {
	s := &mtuSearch{min: minMTU4}
	if v6 {
		s.min = minMTU6
	}
	first = min(max(first, s.min), maxMTU)
	s.hi, s.size = first+1, first
	s.res.Local = true // until something else bounds it
	return s
}

// next returns the size to probe next, or false when the search is over.
func (s *mtuSearch) next() (int, bool) {
	if s.done {
		return 0, false
	}
	if s.res.Probes >= mtuMaxProbes {
		s.finish()
		return 0, false
	}
	return s.size, true
}

// sent counts a probe of the current size.
func (s *mtuSearch) sent() { s.res.Probes++ }

// passed folds in an answer from the destination to a probe of size.
func (s *mtuSearch) passed(size int) {
	if size > s.lo {
		s.lo = size
	}
	if s.lo >= s.hi { // an answer above a bound: the bound was wrong
		s.hi, s.res.From, s.res.Local = s.lo+1, netip.Addr{}, false
	}
	s.step(0)
}

// tooBig folds in a refusal of size: from a router (Fragmentation Needed
// or Packet Too Big announcing mtu, 0 if it gave none) or, with local set,
// from the host's own socket.
func (s *mtuSearch) tooBig(size int, mtu int, from netip.Addr, local bool) {
	bound := size
	hint := 0
	// An announced MTU above what passed and below what was sent bounds
	// the path; anything else is not believed.
	if mtu > s.lo && mtu < size && mtu >= s.min {
		bound, hint = mtu+1, mtu
	}
	if bound <= s.hi {
		s.hi = bound
		s.res.From, s.res.Local = from, local
	}
	s.step(hint)
}

// lost folds in a probe of size that got no answer: after mtuTries of
// them the size is taken as too big (a silent drop).
func (s *mtuSearch) lost(size int) {
	if size != s.size {
		return
	}
	s.tries++
	if s.tries < mtuTries {
		return // try the same size again
	}
	if size <= s.hi {
		s.hi = size
		s.res.From, s.res.Local = netip.Addr{}, false
	}
	s.step(0)
}

// step picks the next size: the announced MTU when there is one, else the
// middle of what is left.
func (s *mtuSearch) step(hint int) {
	s.tries = 0
	switch {
	case s.hi <= s.lo+1:
		s.finish()
	case s.hi <= s.min: // not even the smallest packet passes
		s.finish()
	case hint > 0:
		s.size = hint
	case s.lo == 0:
		s.size = max(s.min, (s.min+s.hi-1)/2)
		if s.size >= s.hi {
			s.size = s.hi - 1
		}
	default:
		s.size = (s.lo + s.hi) / 2
	}
}

func (s *mtuSearch) finish() {
	s.done = true
	s.res.Bytes = s.lo
	if s.lo == 0 {
		s.res.From, s.res.Local = netip.Addr{}, false
	}
}

// marshalEchoSized writes an Echo Request of flow id and sequence seq that
// makes an IP packet of size bytes (headers included) into buf and returns
// it. The padding is zeros, which leave the checksum unchanged: the probe
// keeps its flow's Paris checksum.
func marshalEchoSized(v6 bool, id, seq uint16, size int, buf []byte) []byte {
	n := size - ipv4Min
	if v6 {
		n = size - ipv6Len
	}
	n = max(n, EchoLen)
	b := buf[:n]
	MarshalEcho(v6, id, seq, b)
	clear(b[EchoLen:])
	return b
}
