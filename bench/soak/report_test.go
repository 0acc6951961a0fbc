package main

import (
	"strings"
	"testing"
	"time"
)

func TestPrintReport(t *testing.T) {
	rep := &report{Options: options{Targets: 10, Duration: 30 * time.Minute, Sample: 10 * time.Second}}
	rep.Samples = series(30*time.Minute, steady)
	rep.Faults = []record{{slot: slot{At: time.Minute, Length: time.Minute, Kind: faultLoss}}}
	rep.Alive = true
	rep.judge()
	var b strings.Builder
	printReport(&b, rep)
	out := b.String()
	for _, want := range []string{"| 1m0s | 41.9 | 18 | 23 | 1036 |", "| loss |", "Faults injected: 1: loss 1", "| rss_bytes | 42.99 MB |", "Verdict: FLAT"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if rows := strings.Count(out, "\n| "); rows < 31 {
		t.Errorf("%d table rows, want one a minute", rows)
	}
}
