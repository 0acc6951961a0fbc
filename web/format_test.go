package web

import (
	"math"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/api"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{ms(0.0008), "0.80 ms"}, {ms(0.0125), "12.5 ms"}, {ms(0.25), "250 ms"},
		{ms(math.NaN()), dash}, {ms(-1), dash}, {msPtr(nil), dash},
		{pct(0), "0%"}, {pct(0.004), "0.4%"}, {pct(0.4), "40%"}, {pct(0.996), "99.6%"}, {pct(1), "100%"},
		{pct(math.Inf(1)), dash}, {pctPtr(nil), dash},
		{ago(t0, t0.Add(-30*time.Second)), "just now"}, {ago(t0, t0.Add(-5*time.Minute)), "5m ago"},
		{ago(t0, t0.Add(-26*time.Hour-3*time.Minute)), "26h 3m ago"}, {ago(t0, t0.Add(-72*time.Hour)), "3d ago"},
		{stamp(t0.In(time.FixedZone("x", 3600))), "2024-05-01 12:00:00 UTC"},
		{clean("a\x00b\tc\nd\xff\u2028"), "a\uFFFDb\tc\nd\uFFFD\u2028"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
		cut  bool
	}{
		{"short", 10, "short", false},
		{"exactly10!", 10, "exactly10!", false},
		{"one-too-long", 11, "one-too-lo…", true},
		{"ünïcödé", 4, "ünï…", true},
		{"x", 0, "x", false},
	} {
		got, cut := truncate(tc.in, tc.n)
		if got != tc.want || cut != tc.cut {
			t.Errorf("truncate(%q, %d) = %q, %v; want %q, %v", tc.in, tc.n, got, cut, tc.want, tc.cut)
		}
	}
}

func TestHopLevel(t *testing.T) {
	ok := api.Hop{TTL: 1, Address: "192.0.2.1", RTT: rtt(10)}
	with := func(f func(*api.Hop)) api.Hop { h := ok; f(&h); return h }
	for _, tc := range []struct {
		name string
		hop  api.Hop
		dest bool
		want level
	}{
		{"ok", ok, false, levelOK},
		{"silent", api.Hop{TTL: 1, LossRatio: 1}, false, levelSilent},
		{"rate-limited router", with(func(h *api.Hop) { h.LossRatio = 0.3 }), false, levelWarn},
		{"lossy destination", with(func(h *api.Hop) { h.LossRatio = 0.3 }), true, levelBad},
		{"some forward loss", with(func(h *api.Hop) { h.ForwardLossRatio = 0.02 }), false, levelWarn},
		{"forward loss", with(func(h *api.Hop) { h.ForwardLossRatio = 0.05 }), false, levelBad},
		{"slow", with(func(h *api.Hop) { h.RTT = rtt(120) }), false, levelWarn},
		{"very slow", with(func(h *api.Hop) { h.RTT = rtt(300) }), false, levelBad},
		{"NaN loss", with(func(h *api.Hop) { h.LossRatio, h.ForwardLossRatio = math.NaN(), math.NaN() }), true, levelOK},
		{"no RTT", with(func(h *api.Hop) { h.RTT = nil }), false, levelOK},
	} {
		if got := hopLevel(tc.hop, tc.dest); got != tc.want {
			t.Errorf("%s: level %d, want %d", tc.name, got, tc.want)
		}
	}
}
