package tracer

import "net/netip"

// hopSetMax bounds the routers one probe of the hop budget is charged to:
// the candidates guessed for a TTL the flow has not seen answered.
const hopSetMax = 8

// hopFanout is how many routers are kept as the ones seen one TTL beyond
// a router (the branches of a load balancer after it), most recent first.
const hopFanout = 4

// hopSet is a small set of routers, kept by value so that deciding on a
// probe allocates nothing. Past its capacity further routers are dropped.
type hopSet struct {
	n int
	a [hopSetMax]netip.Addr
}

// add puts r in the set unless it is there or the set is full.
func (s *hopSet) add(r netip.Addr) {
	if !r.IsValid() || s.has(r) || s.n == len(s.a) {
		return
	}
	s.a[s.n] = r
	s.n++
}

// has reports whether r is in the set.
func (s *hopSet) has(r netip.Addr) bool {
	for _, x := range s.a[:s.n] {
		if x == r {
			return true
		}
	}
	return false
}

// remove takes r out of the set.
func (s *hopSet) remove(r netip.Addr) {
	for i, x := range s.a[:s.n] {
		if x == r {
			copy(s.a[i:s.n], s.a[i+1:s.n])
			s.n--
			s.a[s.n] = netip.Addr{}
			return
		}
	}
}

// list returns the routers of the set.
func (s *hopSet) list() []netip.Addr { return s.a[:s.n] }

// hopNext is the routers seen one TTL beyond a router, most recent first.
type hopNext [hopFanout]netip.Addr

// push makes r the most recent, dropping the oldest when full.
func (x *hopNext) push(r netip.Addr) {
	i := 0
	for i < len(x)-1 && x[i].IsValid() && x[i] != r {
		i++
	}
	copy(x[1:i+1], x[:i])
	x[0] = r
}
