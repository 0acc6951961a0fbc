package main

import (
	"fmt"
	"io"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
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
	err := lab.EachSample(r, func(name, labels string, value float64) error {
		e.Samples++
		e.Sums[name] += value
		switch name {
		case "traceroute_destination_reached", "traceroute_destination_loss_ratio", "traceroute_hops", "traceroute_hop_loss_ratio":
			t, ok := lab.LabelValue(labels, "target")
			if !ok {
				return fmt.Errorf("%s without a target label", name)
			}
			e.target(t).add(name, value)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
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
