// Package anyip numbers the destinations of the scale benchmark. The last
// namespace of the bench network routes the whole prefix to its loopback
// ("ip route add local 198.19.0.0/16 dev lo"), so every address of it
// answers, and tens of thousands of targets need only one host.
package anyip

import (
	"fmt"
	"net/netip"
)

// Prefix is the AnyIP prefix the destination namespace answers for. It is
// part of 198.18.0.0/15 (RFC 2544, benchmarking), as the project's test
// networks require.
const Prefix = "198.19.0.0/16"

// Max is the number of distinct destinations Addr numbers.
const Max = 250 * 250

// Addr returns destination i (0 <= i < Max): 198.19.(1+i/250).(1+i%250),
// which avoids the .0 and .255 host parts.
func Addr(i int) netip.Addr {
	if i < 0 || i >= Max {
		panic(fmt.Sprintf("anyip: destination %d out of range [0, %d)", i, Max))
	}
	return netip.AddrFrom4([4]byte{198, 19, byte(1 + i/250), byte(1 + i%250)})
}
