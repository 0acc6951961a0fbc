package config

import (
	"fmt"
	"math"
	"time"
)

// Verdict holds the criteria by which a path change is judged worse or
// better than the path before it (see the README's "Better or worse").
type Verdict struct {
	// RTTRatio and RTTMargin: the destination's RTT got worse when it rose
	// by more than the ratio AND by more than the margin.
	RTTRatio  float64
	RTTMargin time.Duration
	// LossMargin: the destination's loss got worse when it rose by more
	// than this (0..1).
	LossMargin float64
}

// DefaultVerdict are the criteria used unless the file's `verdict:`
// section overrides them.
var DefaultVerdict = Verdict{RTTRatio: 1.2, RTTMargin: 5 * time.Millisecond, LossMargin: 0.05}

// fileVerdict mirrors the YAML `verdict:` section.
type fileVerdict struct {
	RTTRatio   *float64 `yaml:"rtt_ratio"`
	RTTMargin  *string  `yaml:"rtt_margin"`
	LossMargin *float64 `yaml:"loss_margin"`
}

// buildVerdict applies f over the defaults and validates the result; an
// error names the field.
func buildVerdict(f *fileVerdict) (Verdict, error) {
	v := DefaultVerdict
	if f == nil {
		return v, nil
	}
	if f.RTTRatio != nil {
		if r := *f.RTTRatio; math.IsNaN(r) || math.IsInf(r, 0) || r < 1 {
			return v, fmt.Errorf("rtt_ratio: %v must be at least 1", *f.RTTRatio)
		}
		v.RTTRatio = *f.RTTRatio
	}
	if f.RTTMargin != nil {
		d, err := time.ParseDuration(*f.RTTMargin)
		if err != nil || d < 0 {
			return v, fmt.Errorf("rtt_margin: %q is not a non-negative duration", *f.RTTMargin)
		}
		v.RTTMargin = d
	}
	if f.LossMargin != nil {
		if m := *f.LossMargin; math.IsNaN(m) || m < 0 || m > 1 {
			return v, fmt.Errorf("loss_margin: %v is out of range 0..1", *f.LossMargin)
		}
		v.LossMargin = *f.LossMargin
	}
	return v, nil
}
