package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// exposition is what the bench reads from one /metrics body in the text
// format: the number of samples, every metric's sum over its series, and
// each target's last-interval values.
type exposition struct {
	Samples int
	Sums    map[string]float64
	Targets map[string]*targetView
}

// targetView is one target's values from the per-target series.
type targetView struct {
	Reached    float64 // traceroute_destination_reached
	DstLoss    float64 // traceroute_destination_loss_ratio
	HasDstLoss bool
	Hops       float64 // traceroute_hops
	MaxHopLoss float64 // highest traceroute_hop_loss_ratio of its hops
}

// parseExposition reads a text-format exposition (version 0.0.4).
func parseExposition(r io.Reader) (*exposition, error) {
	e := &exposition{Sums: map[string]float64{}, Targets: map[string]*targetView{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		name, labels, value, err := splitSample(string(b))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		e.Samples++
		e.Sums[name] += value
		switch name {
		case "traceroute_destination_reached", "traceroute_destination_loss_ratio", "traceroute_hops", "traceroute_hop_loss_ratio":
			t, ok := labelValue(labels, "target")
			if !ok {
				return nil, fmt.Errorf("line %d: %s without a target label", line, name)
			}
			e.target(t).add(name, value)
		}
	}
	return e, sc.Err()
}

// target returns the view of target t, creating it.
func (e *exposition) target(t string) *targetView {
	v := e.Targets[t]
	if v == nil {
		v = &targetView{}
		e.Targets[t] = v
	}
	return v
}

// add records one sample of the metric name.
func (v *targetView) add(name string, value float64) {
	switch name {
	case "traceroute_destination_reached":
		v.Reached = value
	case "traceroute_destination_loss_ratio":
		v.DstLoss, v.HasDstLoss = value, true
	case "traceroute_hops":
		v.Hops = value
	case "traceroute_hop_loss_ratio":
		v.MaxHopLoss = max(v.MaxHopLoss, value)
	}
}

// splitSample splits `name{labels} value [timestamp]` into its parts;
// labels is what is between the braces (empty without them).
func splitSample(s string) (name, labels string, value float64, err error) {
	i := strings.IndexAny(s, "{ ")
	if i <= 0 {
		return "", "", 0, fmt.Errorf("no metric name in %q", s)
	}
	name, rest := s[:i], s[i:]
	if rest[0] == '{' {
		end := labelsEnd(rest)
		if end < 0 {
			return "", "", 0, fmt.Errorf("unterminated labels in %q", s)
		}
		labels, rest = rest[1:end], rest[end+1:]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", "", 0, fmt.Errorf("no value in %q", s)
	}
	value, err = strconv.ParseFloat(f[0], 64)
	return name, labels, value, err
}

// labelsEnd returns the index of the '}' closing the label set that s
// starts with, skipping quoted values and their escapes; -1 if none.
func labelsEnd(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++
		case s[i] == '"':
			quoted = !quoted
		case !quoted && s[i] == '}':
			return i
		}
	}
	return -1
}

// labelValue returns the unescaped value of label key in a label set
// (`a="x",b="y"`).
func labelValue(labels, key string) (string, bool) {
	for len(labels) > 0 {
		k, rest, ok := strings.Cut(labels, "=")
		if !ok || len(rest) == 0 || rest[0] != '"' {
			return "", false
		}
		var val bytes.Buffer
		i := 1
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
				if rest[i] == 'n' {
					val.WriteByte('\n')
					continue
				}
			}
			val.WriteByte(rest[i])
		}
		if i >= len(rest) {
			return "", false
		}
		if strings.TrimSpace(k) == key {
			return val.String(), true
		}
		labels = strings.TrimPrefix(rest[i+1:], ",")
	}
	return "", false
}

// health is the state of the targets in one exposition.
type health struct {
	Targets  int     `json:"targets_seen"`
	Reached  float64 `json:"reached_share"`
	Complete float64 `json:"complete_share"`
	DstLoss  float64 `json:"destination_loss_mean"`
	Hops     float64 `json:"hops_mean"`
}

// health summarizes the targets: the share whose destination answered in
// their last interval, the share whose last interval was complete (no
// loss at any hop nor at the destination: every probe of every round was
// answered), the mean destination loss over the targets that export it,
// and the mean hop count.
func (e *exposition) health() health {
	var h health
	losses := 0
	for _, v := range e.Targets {
		h.Targets++
		h.Reached += v.Reached
		if v.HasDstLoss && v.DstLoss == 0 && v.MaxHopLoss == 0 && v.Reached == 1 {
			h.Complete++
		}
		if v.HasDstLoss {
			h.DstLoss += v.DstLoss
			losses++
		}
		h.Hops += v.Hops
	}
	if h.Targets > 0 {
		n := float64(h.Targets)
		h.Reached /= n
		h.Complete /= n
		h.Hops /= n
	}
	if losses > 0 {
		h.DstLoss /= float64(losses)
	}
	return h
}
