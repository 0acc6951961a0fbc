package lab

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// EachSample reads a text-format exposition (version 0.0.4) and calls fn
// with every sample's name, labels (between the braces) and value; an
// error of fn or of a line ends the read, naming the line.
func EachSample(r io.Reader, fn func(name, labels string, value float64) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		name, labels, value, err := SplitSample(string(b))
		if err == nil {
			err = fn(name, labels, value)
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
	return sc.Err()
}

// Sums reads a text-format exposition (version 0.0.4) and returns every
// metric's sum over its series and the number of samples.
func Sums(r io.Reader) (map[string]float64, int, error) {
	sums := map[string]float64{}
	n := 0
	err := EachSample(r, func(name, _ string, value float64) error {
		sums[name] += value
		n++
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return sums, n, nil
}

// SplitSample splits `name{labels} value [timestamp]` into its parts;
// labels is what is between the braces (empty without them).
func SplitSample(s string) (name, labels string, value float64, err error) {
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

// LabelValue returns the unescaped value of label key in a label set
// (`a="x",b="y"`).
func LabelValue(labels, key string) (string, bool) {
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
