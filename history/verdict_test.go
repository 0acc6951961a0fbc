package history_test

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// snap is a reached snapshot with the given hop count, AS path length,
// RTT in milliseconds and loss.
func snap(hops, asPath int, rttMs float64, loss float64) history.Snapshot {
	s := history.Snapshot{Hops: hops, DestRTT: time.Duration(rttMs * float64(time.Millisecond)), DestLoss: loss, Reached: true}
	for i := range asPath {
		s.ASPath = append(s.ASPath, uint32(64500+i))
	}
	return s
}

// bgpLen is s with a BGP route of an AS path of length n.
func bgpLen(s history.Snapshot, n int) history.Snapshot {
	s.BGPASPathLength = n
	return s
}

func unreached(s history.Snapshot) history.Snapshot {
	s.Reached = false
	return s
}

func TestJudge(t *testing.T) {
	base := snap(8, 3, 20, 0)
	tests := []struct {
		name          string
		before, after history.Snapshot
		c             history.Criteria
		want          string
		explain       []string
	}{
		{name: "identical", before: base, after: base, want: history.Neutral},
		{name: "more hops", before: base, after: snap(9, 3, 20, 0), want: history.Worse, explain: []string{"worse: hops 8 -> 9"}},
		{name: "fewer hops", before: base, after: snap(7, 3, 20, 0), want: history.Better, explain: []string{"better: hops 8 -> 7"}},
		{name: "longer AS path", before: base, after: snap(8, 4, 20, 0), want: history.Worse},
		{name: "shorter AS path", before: base, after: snap(8, 2, 20, 0), want: history.Better},
		{name: "AS path unknown before", before: snap(8, 0, 20, 0), after: snap(8, 4, 20, 0), want: history.Neutral},
		{name: "AS path unknown after", before: base, after: snap(8, 0, 20, 0), want: history.Neutral},
		{name: "rtt up by ratio and margin", before: base, after: snap(8, 3, 25.1, 0), want: history.Worse,
			explain: []string{"worse: destination RTT 20ms -> 25.1ms"}},
		{name: "rtt up by margin, not ratio", before: snap(8, 3, 100, 0), after: snap(8, 3, 110, 0), want: history.Neutral},
		{name: "rtt up by ratio, not margin", before: snap(8, 3, 1, 0), after: snap(8, 3, 3, 0), want: history.Neutral},
		{name: "rtt up exactly the margin", before: base, after: snap(8, 3, 25, 0), want: history.Neutral},
		{name: "rtt down by ratio and margin", before: snap(8, 3, 30, 0), after: base, want: history.Better},
		{name: "rtt unknown after", before: base, after: snap(8, 3, 0, 0), want: history.Neutral},
		{name: "loss up by more than the margin", before: base, after: snap(8, 3, 20, 0.1), want: history.Worse},
		{name: "loss up by the margin exactly", before: snap(8, 3, 20, 0.25), after: snap(8, 3, 20, 0.3125),
			c: history.Criteria{RTTRatio: 1.2, RTTMargin: 5 * time.Millisecond, LossMargin: 0.0625}, want: history.Neutral},
		{name: "loss down", before: snap(8, 3, 20, 0.5), after: base, want: history.Better},
		{name: "loss unknown", before: base, after: snap(8, 3, 20, math.NaN()), want: history.Neutral},
		{name: "lost reachability", before: base, after: unreached(base), want: history.Worse,
			explain: []string{"worse: destination reached true -> false"}},
		{name: "regained reachability, though longer", before: unreached(base), after: snap(12, 5, 80, 0.5), want: history.Better},
		{name: "never reached: nothing to compare", before: unreached(snap(30, 2, 0, 1)), after: unreached(snap(30, 5, 0, 1)), want: history.Neutral},
		{name: "hop count unknown", before: snap(0, 3, 20, 0), after: base, want: history.Neutral},
		{name: "longer BGP AS path", before: bgpLen(base, 2), after: bgpLen(base, 3), want: history.Worse,
			explain: []string{"worse: BGP AS path length 2 -> 3"}},
		{name: "shorter BGP AS path", before: bgpLen(base, 4), after: bgpLen(base, 2), want: history.Better,
			explain: []string{"better: BGP AS path length 4 -> 2"}},
		{name: "BGP route gone after", before: bgpLen(base, 2), after: base, want: history.Neutral},
		{name: "shorter BGP AS path, more hops", before: bgpLen(base, 4), after: bgpLen(snap(9, 3, 20, 0), 2), want: history.Worse,
			explain: []string{"worse: hops 8 -> 9", "better: BGP AS path length 4 -> 2"}},
		{name: "mixed: worse wins", before: base, after: snap(6, 2, 20, 0.2), want: history.Worse,
			explain: []string{"better: hops 8 -> 6", "better: AS path length 3 -> 2", "worse: destination loss 0 -> 0.2"}},
		{name: "mixed better", before: base, after: snap(6, 2, 20, 0), want: history.Better},
		{name: "custom criteria", before: base, after: snap(8, 3, 21, 0.02),
			c: history.Criteria{RTTRatio: 1, RTTMargin: 0, LossMargin: 0.01}, want: history.Worse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			if c == (history.Criteria{}) {
				c = history.DefaultCriteria
			}
			if got := history.Judge(tt.before, tt.after, c); got != tt.want {
				t.Errorf("Judge = %s, want %s (%v)", got, tt.want, history.Explain(tt.before, tt.after, c))
			}
			if tt.explain != nil {
				if got := history.Explain(tt.before, tt.after, c); !reflect.DeepEqual(got, tt.explain) {
					t.Errorf("Explain = %q, want %q", got, tt.explain)
				}
			}
		})
	}
}

func TestCriteriaValidate(t *testing.T) {
	tests := []struct {
		name string
		c    history.Criteria
		err  string
	}{
		{"defaults", history.DefaultCriteria, ""},
		{"zero margins", history.Criteria{RTTRatio: 1}, ""},
		{"ratio below 1", history.Criteria{RTTRatio: 0.9}, "rtt ratio 0.9"},
		{"ratio NaN", history.Criteria{RTTRatio: math.NaN()}, "rtt ratio NaN"},
		{"negative margin", history.Criteria{RTTRatio: 1, RTTMargin: -1}, "rtt margin -1ns"},
		{"loss margin 1", history.Criteria{RTTRatio: 1, LossMargin: 1}, "loss margin 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("Validate = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestDiffTTLs(t *testing.T) {
	tests := []struct {
		name          string
		before, after []history.Hop
		want          []int
	}{
		{"same", hops("192.0.2.1", "192.0.2.2"), hops("192.0.2.1", "192.0.2.2"), nil},
		{"one responder changed", hops("192.0.2.1", "192.0.2.2", "192.0.2.9"), hops("192.0.2.1", "192.0.2.3", "192.0.2.9"), []int{2}},
		{"longer path", hops("192.0.2.1", "192.0.2.9"), hops("192.0.2.1", "192.0.2.5", "192.0.2.9"), []int{2, 3}},
		{"shorter path", hops("192.0.2.1", "192.0.2.5", "192.0.2.9"), hops("192.0.2.1", "192.0.2.9"), []int{2, 3}},
		{"silent hop is a wildcard", hops("192.0.2.1", "*", "192.0.2.9"), hops("192.0.2.1", "192.0.2.7", "192.0.2.9"), nil},
		{"new silent hop counts", hops("192.0.2.1"), hops("192.0.2.1", "*"), []int{2}},
		{"names and ASNs ignored", []history.Hop{{TTL: 1, Name: "a", ASN: 1}}, []history.Hop{{TTL: 1, Name: "b", ASN: 2}}, nil},
		{"empty before", nil, hops("192.0.2.1"), []int{1}},
		{"both empty", nil, nil, nil},
		{"unsorted input", []history.Hop{hops("*", "192.0.2.2")[1], hops("192.0.2.1")[0]}, hops("192.0.2.1", "192.0.2.3"), []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := history.DiffTTLs(tt.before, tt.after); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DiffTTLs = %v, want %v", got, tt.want)
			}
		})
	}
}
