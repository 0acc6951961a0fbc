package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
)

// report is the whole run, as printed and as written to JSON. Sizes are
// in bytes; MB and KB in the table are 10^6 and 10^3 bytes.
type report struct {
	Machine   lab.Machine `json:"machine"`
	Started   string      `json:"started"`
	LoadStart string      `json:"loadavg_start"`
	LoadEnd   string      `json:"loadavg_end"`
	Settings  any         `json:"settings"`
	Notes     []string    `json:"notes"`
	Results   []result    `json:"results"`
	Goals     []goal      `json:"goals"`
}

// goal is one of the targets the "Scale" issue sets, and whether the run
// met it.
type goal struct {
	Goal  string `json:"goal"`
	Value string `json:"value"`
	Met   bool   `json:"met"`
}

// notes define every column of the table.
func notes(s settings) []string {
	return []string{
		fmt.Sprintf("configured: targets x probes (%d) x TTLs per round (min(max_hops, hops+1) = %d) / interval (%s): the steady-state rate once a target knows its %d-hop path (README, How it works)",
			s.Probes, s.ttlsPerRound(), s.Interval, s.Hops),
		fmt.Sprintf("each scale: the exporter warms up for %s (every target started and past its second interval's start, which still probes max_hops as its first result is not in yet), then a %s window in which it only probes; the bare loop gets a window as long", s.Warmup, s.Window),
		"achieved: packets that left the source namespace's interface in the window; the sum of the exporter's traceroute_probes_sent_total, which grows as each target's interval ends, gives probes_per_second_exporter_counter in the JSON (within a few % over a span of about one interval)",
		"CPU: utime+stime of the process (/proc/PID/stat) over the window, divided by the probes; it includes the kernel's forwarding of probes and replies through the namespace routers, which this kernel runs and charges in the sender's context, the same for both programs",
		"bare loop: bench/rawloop, one raw socket sending Echo Requests in rounds of the same TTLs to the same destinations at the rate the exporter achieved and discarding every reply, in the same namespace, after the exporter stopped",
		"peak RSS: VmHWM after warm-up, window and 11 scrapes; RSS: VmRSS at the end of the window; KB/extra target: peak RSS difference to the previous scale over the target difference",
		"scrape: median of 5 GETs of /metrics (text format 0.0.4, identity encoding; gzip, as Prometheus asks, in parentheses), from the exporter's namespace",
		"intervals complete: share of targets whose last interval was complete: destination reached and no loss at any hop or the destination, i.e. every probe of all its rounds answered; the JSON bounds the share of complete rounds from the replies/probes ratio in the window (rounds_complete_min, _max)",
		"dst loss: mean traceroute_destination_loss_ratio over the targets, with no loss configured anywhere",
		"the routers' and destination's ICMP rate limits are off (icmp_ratelimit=0, icmp_msgs_per_sec and icmp_msgs_burst 10^7): the bench measures the exporter, not router rate limits",
	}
}

// printTable writes the results as a Markdown table.
func printTable(w io.Writer, rs []result) {
	fmt.Fprintln(w, "| targets | probes/s configured | probes/s achieved | CPU µs/probe exporter | CPU µs/probe bare loop | ratio | peak RSS MB | RSS MB | KB/extra target | KB/target | scrape s (gzip) | scrape MB (gzip) | intervals complete % | dst loss % |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var prev *result
	for i := range rs {
		r := &rs[i]
		if r.Error != "" {
			fmt.Fprintf(w, "| %d | failed: %s |\n", r.Targets, strings.ReplaceAll(firstLine(r.Error), "|", "/"))
			continue
		}
		raw, ratio := "-", "-"
		if r.Raw != nil {
			raw, ratio = fmt.Sprintf("%.1f", r.Raw.CPUPerProbeUS), fmt.Sprintf("%.2f", r.RawRatio)
		}
		extra := "-"
		if prev != nil {
			extra = fmt.Sprintf("%.1f", perTarget(*prev, *r)/1e3)
		}
		fmt.Fprintf(w, "| %d | %.0f | %.0f | %.1f | %s | %s | %.1f | %.1f | %s | %.1f | %.3f (%.3f) | %.2f (%.2f) | %.1f | %.2f |\n",
			r.Targets, r.ConfiguredRate, r.AchievedRate, r.CPUPerProbeUS, raw, ratio,
			float64(r.PeakRSS)/1e6, float64(r.RSS)/1e6, extra, float64(r.PeakRSS)/float64(r.Targets)/1e3,
			r.ScrapeSec, r.ScrapeGzSec, float64(r.ScrapeBytes)/1e6, float64(r.ScrapeGzBytes)/1e6,
			100*r.Complete, 100*r.DstLoss)
		prev = r
	}
}

// printCounters writes, for every scale, the exporter's counts of socket
// drops, late and unmatched replies, send errors and skipped probes.
func printCounters(w io.Writer, rs []result) {
	for _, r := range rs {
		t, c := r.Counters, r.CountersWindow
		if r.Error != "" {
			continue
		}
		fmt.Fprintf(w, "- %d targets, exporter's counters since start (in the window): socket drops %.0f (%.0f), late replies %.0f (%.0f), unmatched replies %.0f (%.0f), send errors %.0f (%.0f), probes skipped %.0f (%.0f); replies/probes in the window %.4f\n",
			r.Targets, t.SocketDrops, c.SocketDrops, t.Late, c.Late, t.Unmatched, c.Unmatched, t.SendErrors, c.SendErrors, t.Skipped, c.Skipped, r.ReplyShare)
	}
}

// perTarget is the peak RSS each target of b beyond a's costs, in bytes.
func perTarget(a, b result) float64 {
	return float64(b.PeakRSS-a.PeakRSS) / float64(b.Targets-a.Targets)
}

// goals judges the goals at 10,000 targets (5 hops, 10 probes, 30 s
// interval); none is judged without a successful 10,000-target scale.
func goals(rs []result) []goal {
	var gs []goal
	for i, r := range rs {
		if r.Targets != 10000 || r.Error != "" {
			continue
		}
		gs = append(gs, goal{"peak RSS <= 100 MB at 10,000 targets", fmt.Sprintf("%.1f MB", float64(r.PeakRSS)/1e6), r.PeakRSS <= 100e6})
		if i > 0 && rs[i-1].Error == "" {
			pt := perTarget(rs[i-1], r)
			gs = append(gs, goal{fmt.Sprintf("<= 10 KB per extra target (%d to %d targets)", rs[i-1].Targets, r.Targets),
				fmt.Sprintf("%.1f KB", pt/1e3), pt <= 10e3})
		}
		gs = append(gs, goal{"/metrics for 10,000 targets x 5 hops in <= 0.25 s",
			fmt.Sprintf("%.3f s (gzip %.3f s)", r.ScrapeSec, r.ScrapeGzSec), r.ScrapeSec <= 0.25})
	}
	return gs
}

// printGoals writes one line per goal.
func printGoals(w io.Writer, gs []goal) {
	for _, g := range gs {
		verdict := "NOT met"
		if g.Met {
			verdict = "met"
		}
		fmt.Fprintf(w, "- %s: %s, %s\n", g.Goal, g.Value, verdict)
	}
}

// writeJSON writes the report to path.
func writeJSON(path string, r report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
