package lab

import "testing"

func TestParseStatTicks(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int64
		err      bool
	}{
		{"plain", "1234 (traceroute_expo) S 1 1234 1234 0 -1 4194560 5000 0 0 0 150 35 0 0 20 0 9 0 100 0 0", 185, false},
		{"spaces and parens in comm", "42 (a) b (c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0", 10, false},
		{"short", "1 (x) S 1 2 3", 0, true},
		{"no comm", "garbage", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatTicks(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("parseStatTicks = %d, %v; want %d, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	in := "Name:\ttraceroute_expo\nVmPeak:\t 1300000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n"
	m, err := parseStatus(in)
	if err != nil || m.Peak != 51200<<10 || m.RSS != 40960<<10 {
		t.Fatalf("parseStatus = %+v, %v", m, err)
	}
	if _, err := parseStatus("Name:\tx\nVmRSS:\t 1 kB\n"); err == nil {
		t.Fatal("parseStatus without VmHWM: no error")
	}
}

func TestParseNetDevTx(t *testing.T) {
	in := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
 to-r1: 5000000   90000    0    0    0     0          0         0  4400000   80000    0    0    0     0       0          0
`
	if got, err := parseNetDevTx(in, "to-r1"); err != nil || got != 80000 {
		t.Fatalf("parseNetDevTx(to-r1) = %d, %v; want 80000", got, err)
	}
	if _, err := parseNetDevTx(in, "eth0"); err == nil {
		t.Fatal("parseNetDevTx(eth0): no error")
	}
}
