package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// printReport prints the run: the host, the settings, a row of the
// samples about every minute (fifteen rows at most for short runs), the
// faults and the checks.
func printReport(w io.Writer, rep *report) {
	m, o := rep.Machine, rep.Options
	fmt.Fprintf(w, "\nMachine: %d CPUs (%s), kernel %s, %s memory, %s, exporter at %s\n", m.CPUs, m.Model, m.Kernel, m.MemTotal, m.Go, m.Revision)
	fmt.Fprintf(w, "Load average (1, 5, 15 min): %s at start, %s at end\n", rep.LoadStart, rep.LoadEnd)
	fmt.Fprintf(w, "Run: %d targets for %s (%s to %s), a fault every %s for %s, a sample every %s\n\n",
		o.Targets, o.Duration, rep.Started, rep.Ended, o.FaultEvery, o.FaultLength, o.Sample)
	printSamples(w, rep)
	fmt.Fprintln(w)
	printFaults(w, rep.Faults)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Peak RSS (VmHWM) over the run: %.1f MB\n", mb(rep.PeakRSS))
	fmt.Fprintf(w, "Exporter log: %d lines, %d warnings, %d errors, %d panic lines; exit after SIGTERM: %s\n",
		rep.Log.Lines, rep.Log.Warn, rep.Log.Error, len(rep.Log.Panics), rep.Exit)
	msgs := make([]string, 0, len(rep.Log.Messages))
	for m := range rep.Log.Messages {
		msgs = append(msgs, m)
	}
	slices.Sort(msgs)
	for _, m := range msgs {
		fmt.Fprintf(w, "  %5d %s\n", rep.Log.Messages[m], m)
	}
	fmt.Fprintln(w)
	for _, l := range rep.Log.Panics {
		fmt.Fprintln(w, "  "+l)
	}
	fmt.Fprintln(w, "| check | second third | last third | limit | ok | rule |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|")
	for _, c := range rep.Checks {
		f := num
		if strings.HasSuffix(c.Name, "_bytes") {
			f = func(v float64) string { return fmt.Sprintf("%.2f MB", v/1e6) }
		}
		ref, limit := f(c.Reference), f(c.Limit)
		if c.single {
			ref, limit = "-", "-"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", c.Name, ref, f(c.Last), limit, yes(c.OK), c.Rule)
	}
	verdict := "FLAT"
	if !rep.Flat {
		verdict = "NOT FLAT"
	}
	fmt.Fprintf(w, "\nVerdict: %s\n", verdict)
}

// printSamples prints every step-th sample with the fault active then.
func printSamples(w io.Writer, rep *report) {
	step := max(1, int(time.Minute/rep.Options.Sample))
	if n := len(rep.Samples); n/step < 10 {
		step = max(1, n/15)
	}
	fmt.Fprintln(w, "| t | RSS MB | goroutines | open fds | store KB | scrape s | series | probes/s | path changes | fault |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	var prev *point
	for i := 0; i < len(rep.Samples); i += step {
		p := rep.Samples[i]
		r := "-"
		if prev != nil && p.At > prev.At {
			r = fmt.Sprintf("%.0f", (p.Sent-prev.Sent)/(p.At-prev.At).Seconds())
		}
		fmt.Fprintf(w, "| %s | %.1f | %d | %d | %.0f | %.3f | %d | %s | %.0f | %s |\n", p.At.Round(time.Second), mb(p.RSS),
			p.Goroutines, p.FDs, float64(p.Store)/1024, p.ScrapeSec, p.Series, r, p.Changes, activeFault(rep.Faults, p.At))
		prev = &rep.Samples[i]
	}
}

// activeFault names the fault running at t, "" if none.
func activeFault(fs []record, t time.Duration) string {
	for _, f := range fs {
		if t >= f.At && t < f.At+f.Length {
			return string(f.Kind)
		}
	}
	return ""
}

// printFaults prints the faults injected, per kind, with their actions
// and failed actions.
func printFaults(w io.Writer, fs []record) {
	type tally struct{ n, actions, errors int }
	t := map[kind]*tally{}
	for _, f := range fs {
		if t[f.Kind] == nil {
			t[f.Kind] = &tally{}
		}
		t[f.Kind].n++
		t[f.Kind].actions += f.Actions
		t[f.Kind].errors += f.Errors
	}
	var parts []string
	for _, k := range rotation {
		if x := t[k]; x != nil {
			parts = append(parts, fmt.Sprintf("%s %d (%d actions, %d failed)", k, x.n, x.actions, x.errors))
		}
	}
	fmt.Fprintf(w, "Faults injected: %d: %s\n", len(fs), strings.Join(parts, ", "))
	for _, f := range fs {
		if f.Error != "" {
			fmt.Fprintf(w, "  %s at %s: first error: %s\n", f.Kind, f.At, f.Error)
		}
	}
}

// num prints a check's figure compactly.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1e5:
		return fmt.Sprintf("%.4g", v)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// writeJSON writes the report, indented, to path.
func writeJSON(path string, rep *report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
