package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strings"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
)

// take samples the exporter at `at` since it started: its RSS and open
// fds from /proc, the packets out of the source namespace's interface
// (its probes), the store's size, and one timed scrape of /metrics for
// goroutines, series, path changes and history errors.
func take(ctx context.Context, ex *lab.Child, scr *lab.Scraper, store string, at time.Duration) (point, error) {
	p := point{At: at, AtSeconds: at.Round(time.Millisecond).Seconds()}
	mem, err := lab.ReadMemory(ex.PID())
	if err != nil {
		return p, err
	}
	p.RSS = mem.RSS
	if p.FDs, err = lab.OpenFDs(ex.PID()); err != nil {
		return p, err
	}
	tx, err := lab.TxPackets(ex.PID(), lab.SrcDev)
	if err != nil {
		return p, err
	}
	p.Sent = float64(tx)
	if fi, err := os.Stat(store); err == nil {
		p.Store = fi.Size()
	}
	f, err := scr.Get(ctx, "/metrics", false)
	if err != nil {
		return p, err
	}
	p.ScrapeSec = f.Duration.Seconds()
	sums, n, err := lab.Sums(bytes.NewReader(f.Body))
	if err != nil {
		return p, err
	}
	p.Series = n
	p.Goroutines = int(sums["go_goroutines"])
	p.Changes = sums["traceroute_path_changes_total"]
	p.HistErrors = sums["traceroute_exporter_history_errors_total"]
	return p, nil
}

// logSummary is what the exporter's log says.
type logSummary struct {
	Lines  int      `json:"lines"`
	Warn   int      `json:"warn"`
	Error  int      `json:"error"`
	Panics []string `json:"panics,omitempty"` // lines of a panic or a fatal runtime error
	// Messages counts the lines of each msg="...": every fault should
	// show in one (address changed, reload failed, ...).
	Messages map[string]int `json:"messages"`
}

// readLog summarizes the exporter's log (logfmt): lines by level, and
// the lines that show a panic ("panic:", "fatal error:", a goroutine
// trace header).
func readLog(path string) (logSummary, error) {
	var s logSummary
	f, err := os.Open(path)
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		s.add(sc.Text())
	}
	return s, sc.Err()
}

// add counts one log line.
func (s *logSummary) add(line string) {
	s.Lines++
	if _, rest, ok := strings.Cut(line, ` msg="`); ok {
		if m, _, ok := strings.Cut(rest, `"`); ok {
			if s.Messages == nil {
				s.Messages = map[string]int{}
			}
			s.Messages[m]++
		}
	}
	switch {
	case strings.Contains(line, "level=warn"):
		s.Warn++
	case strings.Contains(line, "level=error"):
		s.Error++
	}
	if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") ||
		(strings.HasPrefix(line, "goroutine ") && strings.HasSuffix(line, "]:")) {
		if len(s.Panics) < 20 {
			s.Panics = append(s.Panics, line)
		}
	}
}
