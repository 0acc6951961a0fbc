package sources

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// testConfig parses a configuration for the tests.
func testConfig(t *testing.T, y string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func names(ts []config.Target) string {
	var n []string
	for _, t := range ts {
		n = append(n, t.Name)
	}
	return strings.Join(n, " ")
}

func TestBuildCapsAndDeduplicates(t *testing.T) {
	c := testConfig(t, `
target_sources:
  - name: s
    max_targets: 3
    file_sd: {files: [x.json]}
`)
	src := c.Sources[0]
	items := []Item{{Host: "198.18.7.1"}, {Host: "198.18.7.2"}, {Host: "198.18.7.1", Labels: map[string]string{"a": "b"}}, {Host: "198.18.7.3"}, {Host: "198.18.7.4"}, {Host: "198.18.7.5"}}
	ts, dropped, err := Build(src, items)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(ts); got != "198.18.7.1 198.18.7.2 198.18.7.3" || dropped != 2 {
		t.Fatalf("kept %q, dropped %d; want the first three distinct names and 2 dropped", got, dropped)
	}
	if ts[0].Labels["a"] != "" || ts[0].Labels["source"] != "s" {
		t.Fatalf("first of a duplicate name must win, with the source label: %v", ts[0].Labels)
	}
	// An invalid item fails the whole list.
	_, _, err = Build(src, append(items[:1:1], Item{Host: "bad host"}))
	if err == nil || err.Error() != `target 1 (bad host): host: "bad host" is neither an IP address nor a valid DNS name` {
		t.Fatalf("error %v", err)
	}
}

func TestMergeStaticWinsThenSourceOrder(t *testing.T) {
	c := testConfig(t, `
targets:
  - {name: 198.18.7.2, host: 198.18.7.9}
target_sources:
  - {name: first, file_sd: {files: [a.json]}}
  - {name: second, file_sd: {files: [b.json]}}
`)
	first, _, _ := Build(c.Sources[0], []Item{{Host: "198.18.7.2"}, {Host: "198.18.7.3"}})
	second, _, _ := Build(c.Sources[1], []Item{{Host: "198.18.7.3"}, {Host: "198.18.7.4"}})
	ts, clashes := Merge(c.Targets, [][]config.Target{first, second}, Shard{})
	if got := names(ts); got != "198.18.7.2 198.18.7.3 198.18.7.4" {
		t.Fatalf("merged %q", got)
	}
	if ts[0].Host != "198.18.7.9" || ts[1].Labels["source"] != "first" || ts[2].Labels["source"] != "second" {
		t.Fatalf("wrong winners: %+v", ts)
	}
	if !reflect.DeepEqual(clashes, []int{1, 1}) {
		t.Fatalf("clashes %v, want [1 1]", clashes)
	}
}

func TestMergeShardsPartitionTargets(t *testing.T) {
	var static []config.Target
	for i := 0; i < 300; i++ {
		static = append(static, config.Target{Name: fmt.Sprintf("t%d", i)})
	}
	seen := map[string]int{}
	for i := 0; i < 3; i++ {
		ts, _ := Merge(static, nil, Shard{Index: i, Count: 3})
		if len(ts) < 70 || len(ts) > 130 {
			t.Errorf("shard %d/3 has %d of 300 targets", i, len(ts))
		}
		for _, tg := range ts {
			seen[tg.Name]++
		}
	}
	for _, tg := range static {
		if seen[tg.Name] != 1 {
			t.Fatalf("%s traced by %d shards, want exactly 1", tg.Name, seen[tg.Name])
		}
	}
}
