// Command rawloop is the baseline of the scale benchmark (go run
// ./bench/scale): a bare raw-socket traceroute loop with none of the
// exporter's matching, timing or statistics. It sends ICMP Echo Requests
// at a fixed rate, in rounds like the exporter's (one probe per TTL, the
// highest first, to one destination), cycling over the benchmark's AnyIP
// destinations, and reads and discards every reply. The bench runs it in
// the same namespace at the rate the exporter achieved and compares the
// CPU time per probe of the two.
//
// It prints one JSON line when it is done: probes sent, send errors,
// packets received and the rate achieved.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/anyip"
)

// summary is the line rawloop prints on exit.
type summary struct {
	Sent       int64   `json:"sent"`
	SendErrors int64   `json:"send_errors"`
	Received   int64   `json:"received"`
	Seconds    float64 `json:"seconds"`
	Rate       float64 `json:"rate"`
}

func main() { os.Exit(run()) }

func run() int {
	rate := flag.Float64("rate", 1000, "probes per second")
	targets := flag.Int("targets", 100, "number of AnyIP destinations to cycle over")
	ttls := flag.Int("ttls", 6, "probes per round: TTLs ttls..1")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	flag.Parse()
	if *rate <= 0 || *targets < 1 || *targets > anyip.Max || *ttls < 1 || *ttls > 255 {
		fmt.Fprintln(os.Stderr, "rawloop: need rate > 0, 1 <= targets <= 62500, 1 <= ttls <= 255")
		return 2
	}
	s, err := openRaw()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawloop:", err)
		return 1
	}
	var received atomic.Int64
	go s.drain(&received)
	sum := send(s, *rate, *targets, *ttls, *duration)
	time.Sleep(100 * time.Millisecond) // the last round's replies
	sum.Received = received.Load()
	json.NewEncoder(os.Stdout).Encode(sum)
	return 0
}

// send paces rounds of ttls probes with a ticker, at rate probes per
// second, for d. A tick sends every round that is due, so a late tick
// catches up instead of lowering the rate; the tick is one round's share
// of a second but at least 1 ms, so a low rate costs no idle wake-ups.
func send(s *rawSocket, rate float64, targets, ttls int, d time.Duration) summary {
	roundsPerSec := rate / float64(ttls)
	tick := max(time.Millisecond, time.Duration(float64(time.Second)/roundsPerSec))
	t := time.NewTicker(tick)
	defer t.Stop()
	var sum summary
	var buf [16]byte
	id := uint16(os.Getpid())
	var seq uint16
	start := time.Now()
	rounds := 0
	for now := range t.C {
		elapsed := now.Sub(start)
		if elapsed >= d {
			break
		}
		for due := int(elapsed.Seconds() * roundsPerSec); rounds < due; rounds++ {
			dst := anyip.Addr(rounds % targets)
			for ttl := ttls; ttl >= 1; ttl-- {
				seq++
				if err := s.send(echoRequest(buf[:], id, seq), dst, ttl); err != nil {
					sum.SendErrors++
					continue
				}
				sum.Sent++
			}
		}
	}
	sum.Seconds = time.Since(start).Seconds()
	sum.Rate = float64(sum.Sent) / sum.Seconds
	return sum
}
