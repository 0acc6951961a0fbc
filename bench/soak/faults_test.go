package main

import (
	"encoding/json"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	s, err := schedule(30*time.Minute, 2*time.Minute, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// Faults at 1, 3, ..., 27 min; the one at 29 min would end at 30,
	// after 29.5.
	if len(s) != 14 {
		t.Fatalf("%d faults, want 14: %v", len(s), s)
	}
	seen := map[kind]int{}
	for i, f := range s {
		if want := time.Minute + time.Duration(i)*2*time.Minute; f.At != want || f.Length != time.Minute {
			t.Errorf("fault %d at %s for %s, want at %s for 1m", i, f.At, f.Length, want)
		}
		if f.Kind != rotation[i%len(rotation)] {
			t.Errorf("fault %d is %s, want %s", i, f.Kind, rotation[i%len(rotation)])
		}
		seen[f.Kind]++
	}
	for _, k := range rotation {
		if seen[k] == 0 {
			t.Errorf("fault %s never scheduled", k)
		}
	}
}

func TestScheduleShort(t *testing.T) {
	s, err := schedule(3*time.Minute, 30*time.Second, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// 15, 45, 75, 105, 135 s; 165 s would end at 180 s > 172.5 s.
	if len(s) != 5 || s[4].At != 135*time.Second {
		t.Fatalf("schedule = %v", s)
	}
}

func TestScheduleErrors(t *testing.T) {
	for _, tc := range [][2]time.Duration{{0, time.Second}, {time.Minute, 0}, {time.Minute, time.Minute}} {
		if _, err := schedule(time.Hour, tc[0], tc[1]); err == nil {
			t.Errorf("schedule(1h, %s, %s): no error", tc[0], tc[1])
		}
	}
}

func TestDefaultPeriod(t *testing.T) {
	for _, tc := range []struct{ total, want time.Duration }{
		{30 * time.Minute, 67 * time.Second},
		{3 * time.Minute, 20 * time.Second},
	} {
		if got := defaultPeriod(tc.total); got != tc.want {
			t.Errorf("defaultPeriod(%s) = %s, want %s", tc.total, got, tc.want)
		}
	}
}

// TestDefaultScheduleCoversThirds: with the default period and length,
// the second and the last third of a 30-minute run (the two flat.go
// compares) each see every fault.
func TestDefaultScheduleCoversThirds(t *testing.T) {
	total := 30 * time.Minute
	every := defaultPeriod(total)
	s, err := schedule(total, every, every/2)
	if err != nil {
		t.Fatal(err)
	}
	for third := 1; third <= 2; third++ {
		seen := map[kind]bool{}
		for _, f := range s {
			if f.At > time.Duration(third)*total/3 && f.At+f.Length <= time.Duration(third+1)*total/3 {
				seen[f.Kind] = true
			}
		}
		for _, k := range rotation {
			if !seen[k] {
				t.Errorf("third %d: no %s fault", third+1, k)
			}
		}
	}
}

func TestRecordJSON(t *testing.T) {
	r := newRecord(slot{At: 67 * time.Second, Length: 33500 * time.Millisecond, Kind: faultDNS}, time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC))
	r.Actions, r.Errors, r.Error = 2, 1, "boom"
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"dns","at":"1m7s","length":"33.5s","started":"2026-12-06T03:00:00Z","actions":2,"errors":1,"error":"boom"}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
}
