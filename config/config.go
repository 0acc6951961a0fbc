// Package config loads and validates the traceroute_exporter configuration
// file. Decoding is strict (unknown keys are errors) and every validation
// error names the target and the field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults applied to every target that does not set the field, unless the
// file's `defaults:` section overrides them.
var (
	DefaultProtocol = "icmp"
	DefaultInterval = 30 * time.Second
	DefaultProbes   = 10
	DefaultTimeout  = 2 * time.Second
	DefaultMaxHops  = 30
)

// DefaultPorts are the destination ports of the protocols that have one:
// the classic traceroute port for UDP, HTTPS for TCP.
var DefaultPorts = map[string]int{"udp": 33434, "tcp": 443}

// Limits on the values a target may set.
const (
	MinInterval  = time.Second
	MaxProbes    = 100
	MaxHopsLimit = 255
	MaxFlows     = 16
	// DefaultPMTUEvery is how many intervals apart path MTU searches run
	// by default, and MaxPMTUEvery the most that may be set.
	DefaultPMTUEvery = 10
	MaxPMTUEvery     = 10000
)

// Config is a loaded, validated configuration.
type Config struct {
	Targets []Target
	// Verdict are the criteria by which path changes are judged.
	Verdict Verdict
	// BGP is the passive BGP speaker's configuration; nil when the file
	// has no `bgp:` section (no speaker).
	BGP *BGP
	// Sources are the `target_sources:` that discover further targets.
	Sources []TargetSource
}

// Target is one traced destination with every default applied.
type Target struct {
	// Name is the value of the `target` label; it defaults to Host.
	Name string
	// Host is an IP address or a DNS name, re-resolved every interval.
	Host string
	// Protocol of the probes: "icmp".
	Protocol string
	// Port is the destination port for udp and tcp probes (0: unset).
	Port int
	// Family is "ip4" or "ip6": the family looked up for a DNS name.
	Family string
	// Source is the source address, empty to let the kernel choose.
	Source string
	// Interval is the period over which Probes rounds are spread and after
	// which the per-hop statistics are published.
	Interval time.Duration
	// Probes is the number of probes per TTL in each interval.
	Probes int
	// Timeout is how long each probe waits for its reply.
	Timeout time.Duration
	// MaxHops is the highest TTL probed.
	MaxHops int
	// Flows is how many distinct flows trace the target in the same
	// rounds (1..MaxFlows), so that every branch of a per-flow load
	// balancer shows.
	Flows int
	// PMTU turns on path MTU discovery: a search every PMTUEvery
	// intervals (the first included).
	PMTU      bool
	PMTUEvery int
	// Labels are static labels added to every series of the target.
	Labels map[string]string
}

// fileTarget and fileDefaults mirror the YAML; pointers tell "unset" from
// zero, and durations stay strings so their errors can name the field.
type fileDefaults struct {
	Protocol *string `yaml:"protocol"`
	Family   *string `yaml:"family"`
	Source   *string `yaml:"source"`
	Interval *string `yaml:"interval"`
	Probes   *int    `yaml:"probes"`
	Timeout  *string `yaml:"timeout"`
	MaxHops  *int    `yaml:"max_hops"`
	Flows    *int    `yaml:"flows"`
	PMTU     *bool   `yaml:"pmtu"`
	// PMTUEvery is the number of intervals between path MTU searches.
	PMTUEvery *int `yaml:"pmtu_every"`
}

type fileTarget struct {
	fileDefaults `yaml:",inline"`
	Name         *string           `yaml:"name"`
	Host         *string           `yaml:"host"`
	Port         *int              `yaml:"port"`
	Labels       map[string]string `yaml:"labels"`
}

type file struct {
	Defaults fileDefaults `yaml:"defaults"`
	Targets  []fileTarget `yaml:"targets"`
	Verdict  *fileVerdict `yaml:"verdict"`
	BGP      *fileBGP     `yaml:"bgp"`
	// TargetSources is `target_sources:` (config/sources.go).
	TargetSources []fileSource `yaml:"target_sources"`
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(b)
	if err == nil {
		c.resolvePaths(filepath.Dir(path))
	}
	return c, err
}

// Parse decodes and validates a configuration. Unknown keys, bad values
// and duplicate target names are errors.
func Parse(b []byte) (*Config, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse: %w", err)
	}
	base := Target{
		Protocol: DefaultProtocol,
		Interval: DefaultInterval,
		Probes:   DefaultProbes,
		Timeout:  DefaultTimeout,
		MaxHops:  DefaultMaxHops,
		Flows:    1,

		PMTUEvery: DefaultPMTUEvery,
	}
	if err := apply(&base, f.Defaults); err != nil {
		return nil, fmt.Errorf("defaults: %w", err)
	}
	verdict, err := buildVerdict(f.Verdict)
	if err != nil {
		return nil, fmt.Errorf("verdict: %w", err)
	}
	bgp, err := buildBGP(f.BGP)
	if err != nil {
		return nil, fmt.Errorf("bgp: %w", err)
	}
	cfg := &Config{Verdict: verdict, BGP: bgp}
	if cfg.Sources, err = buildSources(base, f.TargetSources); err != nil {
		return nil, err
	}
	for i, s := range cfg.Sources {
		if s.BGP != nil && bgp == nil {
			return nil, fmt.Errorf("target_sources[%d] (%s): %w", i, s.Name, errBGPSourceWithoutSpeaker)
		}
	}
	names := map[string]int{}
	for i, ft := range f.Targets {
		t, err := buildTarget(base, ft)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where(i, ft), err)
		}
		if j, dup := names[t.Name]; dup {
			return nil, fmt.Errorf("%s: name: %q is already used by targets[%d]", where(i, ft), t.Name, j)
		}
		names[t.Name] = i
		if bgp != nil {
			for _, r := range ReservedBGPLabels {
				if _, ok := t.Labels[r]; ok {
					return nil, fmt.Errorf("%s: labels: %q is reserved by the exporter when bgp is configured", where(i, ft), r)
				}
			}
		}
		cfg.Targets = append(cfg.Targets, t)
	}
	return cfg, nil
}

// where names a target in errors: its index, and its name or host if set.
func where(i int, ft fileTarget) string {
	switch {
	case ft.Name != nil:
		return fmt.Sprintf("targets[%d] (%s)", i, *ft.Name)
	case ft.Host != nil:
		return fmt.Sprintf("targets[%d] (%s)", i, *ft.Host)
	}
	return fmt.Sprintf("targets[%d]", i)
}

// apply overlays the fields set in d onto t.
func apply(t *Target, d fileDefaults) error {
	if d.Protocol != nil {
		t.Protocol = *d.Protocol
	}
	if d.Family != nil {
		t.Family = *d.Family
	}
	if d.Source != nil {
		t.Source = *d.Source
	}
	if d.Probes != nil {
		t.Probes = *d.Probes
	}
	if d.Flows != nil {
		t.Flows = *d.Flows
	}
	if d.MaxHops != nil {
		t.MaxHops = *d.MaxHops
	}
	if d.PMTU != nil {
		t.PMTU = *d.PMTU
	}
	if d.PMTUEvery != nil {
		t.PMTUEvery = *d.PMTUEvery
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *time.Duration
	}{{"interval", d.Interval, &t.Interval}, {"timeout", d.Timeout, &t.Timeout}} {
		if f.in == nil {
			continue
		}
		v, err := time.ParseDuration(*f.in)
		if err != nil {
			return fmt.Errorf("%s: invalid duration %q (use e.g. 30s or 1m)", f.name, *f.in)
		}
		*f.out = v
	}
	return nil
}

func buildTarget(base Target, ft fileTarget) (Target, error) {
	t := base
	if err := apply(&t, ft.fileDefaults); err != nil {
		return t, err
	}
	if ft.Host == nil || *ft.Host == "" {
		return t, errors.New("host: required")
	}
	t.Host = *ft.Host
	t.Name = t.Host
	if ft.Name != nil {
		t.Name = *ft.Name
	}
	if ft.Port != nil {
		t.Port = *ft.Port
	}
	t.Labels = ft.Labels
	return t, t.validate()
}
