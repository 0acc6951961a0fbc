package main

import "testing"

func TestLogSummary(t *testing.T) {
	var s logSummary
	for _, l := range []string{
		`ts=2026-12-06T03:00:00Z caller=main.go:1 level=info msg="Starting"`,
		`ts=2026-12-06T03:00:01Z caller=wiring.go:162 level=error msg="Configuration reload failed; keeping the running configuration"`,
		`ts=2026-12-06T03:00:02Z caller=x.go:1 level=warn msg="Lookup failed" err="panic: not really"`,
		`panic: runtime error: index out of range [3] with length 3`,
		``,
		`goroutine 42 [running]:`,
	} {
		s.add(l)
	}
	if s.Lines != 6 || s.Warn != 1 || s.Error != 1 || len(s.Panics) != 2 || s.Messages["Lookup failed"] != 1 || len(s.Messages) != 3 {
		t.Fatalf("summary = %+v", s)
	}
}
