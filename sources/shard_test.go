package sources

import (
	"fmt"
	"math"
	"testing"
)

func TestParseShard(t *testing.T) {
	for in, want := range map[string]Shard{"": {}, "0/1": {0, 1}, "1/2": {1, 2}, "9/10": {9, 10}} {
		if got, err := ParseShard(in); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2/2", "-1/2", "0/0", "1", "a/b", "1/2/3", " 0/2"} {
		if _, err := ParseShard(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// TestRendezvousStable checks the two properties sharding rests on: each
// name has one owner, always the same, spread evenly; and going from N to
// N+1 shards moves only targets to the new shard, about 1/(N+1) of them.
func TestRendezvousStable(t *testing.T) {
	const total = 20000
	names := make([]string, total)
	for i := range names {
		names[i] = fmt.Sprintf("198.18.%d.%d:%d", i/250, i%250, 443)
	}
	for n := 1; n <= 8; n++ {
		counts := make([]int, n+1)
		moved := 0
		for _, name := range names {
			before, after := Owner(name, n), Owner(name, n+1)
			if Owner(name, n) != before {
				t.Fatalf("%s: owner not stable", name)
			}
			counts[after]++
			if before != after {
				if after != n {
					t.Fatalf("%s moved from shard %d to %d going to %d shards, not to the new shard", name, before, after, n+1)
				}
				moved++
			}
		}
		want := float64(total) / float64(n+1)
		if got := float64(moved); math.Abs(got-want) > 0.05*want {
			t.Errorf("%d -> %d shards moved %d targets, want about %.0f (1/%d)", n, n+1, moved, want, n+1)
		}
		for i, c := range counts {
			if math.Abs(float64(c)-want) > 0.05*want {
				t.Errorf("%d shards: shard %d has %d targets, want about %.0f", n+1, i, c, want)
			}
		}
	}
}

func TestShardOwns(t *testing.T) {
	if !(Shard{}).Owns("x") || !(Shard{0, 1}).Owns("x") {
		t.Fatal("the whole set must own every target")
	}
	owner := Owner("x", 4)
	for i := 0; i < 4; i++ {
		if (Shard{i, 4}).Owns("x") != (i == owner) {
			t.Fatalf("shard %d/4 Owns(x) wrong; owner %d", i, owner)
		}
	}
}
