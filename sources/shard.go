package sources

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is this instance's part of the targets: Index of Count. A zero
// Shard (or Count 1) owns every target.
type Shard struct {
	Index, Count int
}

// ParseShard parses "I/N" (0 <= I < N); "" is the whole set.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, ierr := strconv.Atoi(is)
	n, nerr := strconv.Atoi(ns)
	if !ok || ierr != nil || nerr != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%q is not I/N with 0 <= I < N (e.g. 0/2)", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// String returns "I/N", or "" for the whole set.
func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Owns reports whether the target named name is this shard's.
func (s Shard) Owns(name string) bool {
	return s.Count <= 1 || Owner(name, s.Count) == s.Index
}

// Owner is the shard of n that traces the target named name, by
// rendezvous (highest random weight) hashing: every shard scores the
// name and the highest score wins. Adding a shard moves only the targets
// the new shard wins, about 1/(n+1) of them, and every other target stays
// where it was.
func Owner(name string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(name))
	key := h.Sum64()
	best, bestScore := 0, uint64(0)
	for i := 0; i < n; i++ {
		if s := mix(key ^ (uint64(i)+1)*0x9e3779b97f4a7c15); i == 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// mix is MurmurHash3's 64-bit finalizer: every input bit affects every
// output bit, so the scores of one name for different shards are
// independent.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
