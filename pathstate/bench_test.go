package pathstate

import (
	"net/netip"
	"testing"
)

func BenchmarkSummarize30Hops10Rounds(b *testing.B) {
	hops := make(round, 30)
	for i := range hops[:29] {
		hops[i] = netip.AddrFrom4([4]byte{198, 18, byte(i), 2})
	}
	hops[29] = d
	rounds := make([]round, 10)
	for i := range rounds {
		rounds[i] = hops
	}
	r := result(rounds...)
	b.ReportAllocs()
	for b.Loop() {
		Summarize(r)
	}
}
