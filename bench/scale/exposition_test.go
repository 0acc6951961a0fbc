package main

import (
	"strings"
	"testing"
)

const sampleExposition = `# HELP traceroute_probes_sent_total Probes sent.
# TYPE traceroute_probes_sent_total counter
traceroute_probes_sent_total{target="a"} 600
traceroute_probes_sent_total{target="b",provider="x,y}"} 400
traceroute_probe_replies_total{target="a"} 600
traceroute_probe_replies_total{target="b",provider="x,y}"} 390
traceroute_destination_reached{target="a"} 1
traceroute_destination_reached{provider="x,y}",target="b"} 1
traceroute_destination_loss_ratio{target="a"} 0
traceroute_destination_loss_ratio{provider="x,y}",target="b"} 0.1
traceroute_hops{target="a"} 5
traceroute_hops{target="b"} 5
traceroute_hop_loss_ratio{hop="1",target="a"} 0
traceroute_hop_loss_ratio{hop="1",target="b"} 0.05
traceroute_hop_loss_ratio{hop="2",target="b"} 0
traceroute_path_last_change_info{target="a",before="1 \"x\" {y}",after="z"} 1
go_goroutines 12
`

func TestParseExposition(t *testing.T) {
	e, err := parseExposition(strings.NewReader(sampleExposition))
	if err != nil {
		t.Fatal(err)
	}
	if e.Samples != 15 {
		t.Errorf("Samples = %d, want 15", e.Samples)
	}
	if got := e.Sums["traceroute_probes_sent_total"]; got != 1000 {
		t.Errorf("sent = %v, want 1000", got)
	}
	if got := e.Sums["go_goroutines"]; got != 12 {
		t.Errorf("go_goroutines = %v, want 12", got)
	}
	h := e.health()
	want := health{Targets: 2, Reached: 1, Complete: 0.5, DstLoss: 0.05, Hops: 5}
	if h != want {
		t.Errorf("health = %+v, want %+v", h, want)
	}
}

func TestParseExpositionErrors(t *testing.T) {
	for _, in := range []string{
		"traceroute_hops{target=\"a\" 5\n",
		"traceroute_hops{hop=\"1\"} 5\n",
		"traceroute_hops{target=\"a\"} five\n",
		"{target=\"a\"} 1\n",
	} {
		if _, err := parseExposition(strings.NewReader(in)); err == nil {
			t.Errorf("parseExposition(%q): no error", in)
		}
	}
}
