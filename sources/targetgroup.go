package sources

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Group is a target group in the format of Prometheus's file_sd and
// HTTP SD: targets that share labels.
type Group struct {
	// Targets are "host" or "host:port" ("[v6]:port" for IPv6).
	Targets []string `json:"targets" yaml:"targets"`
	// Labels apply to every target of the group.
	Labels map[string]string `json:"labels" yaml:"labels"`
}

// ParseJSON decodes a JSON list of target groups. Unknown keys are errors.
func ParseJSON(b []byte) ([]Group, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var gs []Group
	if err := dec.Decode(&gs); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the list of target groups")
	}
	return gs, nil
}

// ParseYAML decodes a YAML list of target groups. Unknown keys are
// errors; an empty document is an empty list.
func ParseYAML(b []byte) ([]Group, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var gs []Group
	if err := dec.Decode(&gs); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return gs, nil
}

// Items flattens groups into items, splitting "host:port".
func Items(gs []Group) ([]Item, error) {
	var out []Item
	for i, g := range gs {
		for j, t := range g.Targets {
			host, port, err := SplitTarget(t)
			if err != nil {
				return nil, fmt.Errorf("group %d: targets[%d]: %w", i, j, err)
			}
			out = append(out, Item{Host: host, Port: port, Labels: g.Labels})
		}
	}
	return out, nil
}

// SplitTarget splits "host", "host:port", "[v6]:port", "[v6]" or a bare
// IPv6 address into host and port (0: none).
func SplitTarget(t string) (string, int, error) {
	if t == "" {
		return "", 0, errors.New("empty target")
	}
	host, ps, err := net.SplitHostPort(t)
	switch {
	case err == nil:
		p, perr := strconv.Atoi(ps)
		if perr != nil || p < 1 || p > 65535 {
			return "", 0, fmt.Errorf("%q: port %q is not a number in 1..65535", t, ps)
		}
		if host == "" {
			return "", 0, fmt.Errorf("%q: empty host", t)
		}
		return host, p, nil
	case strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]"):
		return t[1 : len(t)-1], 0, nil
	case strings.Count(t, ":") == 1:
		return "", 0, fmt.Errorf("%q: %v", t, err)
	}
	return t, 0, nil
}
