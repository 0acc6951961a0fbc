package main

import "testing"

func TestParseScales(t *testing.T) {
	got, err := parseScales("1000, 100,1000")
	if err != nil || len(got) != 2 || got[0] != 100 || got[1] != 1000 {
		t.Fatalf("parseScales = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "x", "100000"} {
		if _, err := parseScales(bad); err == nil {
			t.Errorf("parseScales(%q): no error", bad)
		}
	}
}
