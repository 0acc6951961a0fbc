package asn

import (
	"net/netip"
	"runtime"
	"testing"
)

// bigTable builds a table shaped like the iptoasn combined file: 300,000
// IPv4 and 200,000 IPv6 ranges over 75,000 ASes.
func bigTable(tb testing.TB) *table {
	tb.Helper()
	var b builder
	for i := range 300_000 {
		lo := netip.AddrFrom4([4]byte{byte(i >> 14), byte(i >> 6), byte(i << 2), 0})
		hi := netip.AddrFrom4([4]byte{byte(i >> 14), byte(i >> 6), byte(i<<2) | 3, 255})
		b.add(lo, hi, Info{ASN: uint32(1 + i%75_000), Org: "ORG-NAME-OF-SOME-LENGTH"}, i+1)
	}
	for i := range 200_000 {
		lo := [16]byte{0x20, 0x01, byte(i >> 16), byte(i >> 8), byte(i)}
		hi := lo
		for j := 5; j < 16; j++ {
			hi[j] = 0xff
		}
		b.add(netip.AddrFrom16(lo), netip.AddrFrom16(hi), Info{ASN: uint32(1 + i%75_000), Org: "ORG-NAME-OF-SOME-LENGTH"}, 300_001+i)
	}
	t, over := b.build()
	if len(over) != 0 || t.len() != 500_000 {
		tb.Fatalf("%d ranges, %d overlaps", t.len(), len(over))
	}
	return t
}

// BenchmarkTableLookup measures a lookup in half a million ranges and
// reports the table's heap size.
func BenchmarkTableLookup(b *testing.B) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t := bigTable(b)
	runtime.GC()
	runtime.ReadMemStats(&after)
	addrs := []netip.Addr{
		netip.MustParseAddr("1.2.3.4"), netip.MustParseAddr("4.200.10.1"),
		netip.MustParseAddr("2001:102:300::1"), netip.MustParseAddr("2001:ff00::1"),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t.lookup(addrs[i%len(addrs)])
	}
	runtime.KeepAlive(t)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "table-MiB")
}
