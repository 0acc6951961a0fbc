package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
)

// rawLoop runs the bare loop in the source namespace at rate probes per
// second to the first n destinations, with the exporter's TTLs per round,
// and measures it over a window as long as the exporter's, one second
// after it started.
func (b *bench) rawLoop(ctx context.Context, n int, rate float64) (*loop, error) {
	var out bytes.Buffer
	total := b.set.Window + 3*time.Second
	c, err := lab.StartIn(b.net.NS("src"), nil, &out, fmt.Sprintf("%s/rawloop-%d.log", b.dir, n), b.rawloop,
		fmt.Sprintf("-rate=%f", rate), fmt.Sprintf("-targets=%d", n),
		fmt.Sprintf("-ttls=%d", b.set.ttlsPerRound()), "-duration="+total.String())
	if err != nil {
		return nil, err
	}
	defer c.Stop()
	if err := sleep(ctx, time.Second); err != nil {
		return nil, err
	}
	s0, err := take(c.PID())
	if err != nil {
		return nil, err
	}
	if err := sleep(ctx, b.set.Window); err != nil {
		return nil, err
	}
	s1, err := take(c.PID())
	if err != nil {
		return nil, err
	}
	l := &loop{}
	if l.Rate, l.CPUCores, l.CPUPerProbeUS, err = b.usage(s0, s1); err != nil {
		return nil, err
	}
	if err := c.Wait(total); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, c.LogTail())
	}
	var sum struct{ Sent, Received int64 }
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &sum); err != nil {
		return nil, fmt.Errorf("its summary %q: %w", out.String(), err)
	}
	if sum.Sent > 0 {
		l.ReplyShare = float64(sum.Received) / float64(sum.Sent)
	}
	return l, nil
}
