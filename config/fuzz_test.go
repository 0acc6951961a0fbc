package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// FuzzParse feeds arbitrary files to the configuration parser (Load is
// os.ReadFile and Parse). It must never panic; a refused file must give an
// error and no configuration; and an accepted one must hold only values
// the README allows, be stable under validation, and written out again
// with every field explicit (canonicalYAML) parse to the same
// configuration. Seeds: config.example.yml, testdata/*.yml and
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yml"))
	for _, name := range append(files, filepath.Join("..", "config.example.yml")) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("targets:\n  - {host: 2001:db8::1, protocol: udp, flows: 16, labels: {site: \"\"}}\nverdict: {rtt_ratio: 1, rtt_margin: 0s, loss_margin: 1}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse(b)
		if err != nil {
			if cfg != nil || err.Error() == "" {
				t.Fatalf("Parse(%q) = %+v, %q: an error must come alone and say something", b, cfg, err)
			}
			return
		}
		if cfg == nil {
			t.Fatalf("Parse(%q) = nil, nil", b)
		}
		checkAccepted(t, cfg)
		out, err := canonicalYAML(cfg)
		if err != nil {
			t.Fatalf("cannot write out %+v: %v", cfg, err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) accepted, but its canonical form\n%s\nis refused: %v", b, out, err)
		}
		if !sameConfig(cfg, again) {
			t.Fatalf("Parse(%q) =\n%+v\nbut its canonical form\n%s\nparses to\n%+v", b, cfg, out, again)
		}
	})
}

// checkAccepted checks that every value of an accepted configuration is
// one the README allows, and that validating a target again changes
// nothing.
func checkAccepted(t *testing.T, cfg *Config) {
	t.Helper()
	v := cfg.Verdict
	if !(v.RTTRatio >= 1) || math.IsInf(v.RTTRatio, 0) || v.RTTMargin < 0 || !(v.LossMargin >= 0 && v.LossMargin <= 1) {
		t.Fatalf("accepted verdict %+v: rtt_ratio must be finite and at least 1, rtt_margin non-negative, loss_margin in 0..1", v)
	}
	names := map[string]bool{}
	for i, tg := range cfg.Targets {
		bad := func(what string) { t.Fatalf("accepted targets[%d] %+v: %s", i, tg, what) }
		switch {
		case tg.Name == "" || names[tg.Name]:
			bad("name empty or not unique")
		case tg.Host == "":
			bad("no host")
		case !slices.Contains([]string{"icmp", "udp", "tcp"}, tg.Protocol):
			bad("protocol")
		case tg.Protocol == "icmp" && tg.Port != 0, tg.Protocol != "icmp" && (tg.Port < 1 || tg.Port > 65535):
			bad("port")
		case tg.Family != "ip4" && tg.Family != "ip6":
			bad("family not resolved to ip4 or ip6")
		case tg.Interval < MinInterval, tg.Timeout <= 0, tg.Timeout > tg.Interval:
			bad("interval or timeout")
		case tg.Probes < 1 || tg.Probes > MaxProbes, tg.MaxHops < 1 || tg.MaxHops > MaxHopsLimit, tg.Flows < 1 || tg.Flows > MaxFlows:
			bad("probes, max_hops or flows out of range")
		}
		for _, r := range ReservedLabels {
			if _, ok := tg.Labels[r]; ok {
				bad("reserved label " + r)
			}
		}
		names[tg.Name] = true
		again := tg
		if err := again.validate(); err != nil || !reflect.DeepEqual(again, tg) {
			t.Fatalf("targets[%d] %+v validated again: %+v, %v", i, tg, again, err)
		}
	}
}

// canonicalYAML writes cfg as a file with every field of every target and
// of the verdict explicit, as a user could have written it. Each field is
// written under the YAML key of the file field of the same Go name, so a
// field added to Target is covered without changing this test, and one
// without a key fails it.
func canonicalYAML(cfg *Config) ([]byte, error) {
	var targets []map[string]any
	for _, t := range cfg.Targets {
		m, err := keyed(t, reflect.TypeOf(fileTarget{}))
		if err != nil {
			return nil, err
		}
		targets = append(targets, m)
	}
	verdict, err := keyed(cfg.Verdict, reflect.TypeOf(fileVerdict{}))
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(map[string]any{"targets": targets, "verdict": verdict})
}

// keyed maps every field of the struct v to the YAML key of the field of
// the same name in file (or a struct it inlines); durations are written
// as Go writes them, which time.ParseDuration reads back exactly.
func keyed(v any, file reflect.Type) (map[string]any, error) {
	m := map[string]any{}
	rv := reflect.ValueOf(v)
	for i := 0; i < rv.NumField(); i++ {
		name := rv.Type().Field(i).Name
		f, ok := file.FieldByName(name)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !ok || key == "" {
			return nil, fmt.Errorf("%s.%s has no key in the file format", rv.Type().Name(), name)
		}
		m[key] = rv.Field(i).Interface()
		if d, ok := m[key].(time.Duration); ok {
			m[key] = d.String()
		}
	}
	return m, nil
}

// sameConfig compares two configurations; an empty label set equals none.
func sameConfig(a, b *Config) bool {
	if len(a.Targets) != len(b.Targets) || !sameVerdict(a.Verdict, b.Verdict) {
		return false
	}
	for i := range a.Targets {
		x, y := a.Targets[i], b.Targets[i]
		if len(x.Labels) == 0 && len(y.Labels) == 0 {
			x.Labels, y.Labels = nil, nil
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func sameVerdict(a, b Verdict) bool {
	eq := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	return eq(a.RTTRatio, b.RTTRatio) && eq(a.LossMargin, b.LossMargin) && a.RTTMargin == b.RTTMargin
}
