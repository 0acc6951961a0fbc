package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"time"

	promconfig "github.com/prometheus/common/config"
	yamlv2 "go.yaml.in/yaml/v2"
	"gopkg.in/yaml.v3"
)

// Defaults of a target source.
const (
	// DefaultMaxTargets caps a source that does not set max_targets.
	DefaultMaxTargets = 1000
	// MaxMaxTargets is the highest max_targets a source may set.
	MaxMaxTargets = 100000
	// DefaultFileSDRefresh is how often file_sd re-reads its files even
	// without a change notification (as Prometheus's file_sd).
	DefaultFileSDRefresh = 5 * time.Minute
	// DefaultHTTPSDRefresh is how often http_sd polls (as Prometheus's).
	DefaultHTTPSDRefresh = time.Minute
	// DefaultDNSSDRefresh is how often dns looks its names up again.
	DefaultDNSSDRefresh = 30 * time.Second
	// MinSourceRefresh is the shortest refresh_interval a source may set.
	MinSourceRefresh = time.Second
)

// TargetSource is one entry of `target_sources:`: a place targets are
// discovered from (exactly one of FileSD, HTTPSD, DNS, Flows and BGP is
// set), the cap
// on how many it may add, and the defaults its targets start from.
type TargetSource struct {
	// Name is the value of the `source` label of its targets; unique.
	Name string
	// MaxTargets is the most targets the source adds; the rest of its
	// list (in the source's own order) is dropped.
	MaxTargets int
	// FileSD, HTTPSD, DNS, Flows and BGP configure the kind of source;
	// one is set.
	FileSD *FileSD
	HTTPSD *HTTPSD
	DNS    *DNSSD
	Flows  *FlowsSD
	BGP    *BGPSD
	// base is the file's defaults overlaid by the source's defaults, and
	// port the source's default port (0: the protocol's).
	base Target
	port int
}

// FileSD reads targets from files in Prometheus's file_sd format.
type FileSD struct {
	// Files are paths or globs (path/filepath.Match) of .json, .yml or
	// .yaml files.
	Files []string
	// RefreshInterval is how often the files are re-read without a
	// change notification.
	RefreshInterval time.Duration
}

// HTTPSD polls an endpoint in Prometheus's HTTP SD format.
type HTTPSD struct {
	// URL answers a JSON list of target groups.
	URL string
	// RefreshInterval is the polling period.
	RefreshInterval time.Duration
	// HTTPClientConfig are the TLS, authentication and proxy options of
	// Prometheus's HTTP client, as in its http_sd_configs.
	HTTPClientConfig promconfig.HTTPClientConfig
}

// DNSSD looks names up: A and AAAA give one target per address, SRV one
// per record's target and port.
type DNSSD struct {
	Names []string
	// Type is "A", "AAAA" or "SRV".
	Type string
	// RefreshInterval is how often the names are looked up again.
	RefreshInterval time.Duration
}

type sourceDefaults struct {
	fileDefaults `yaml:",inline"`
	Port         *int              `yaml:"port"`
	Labels       map[string]string `yaml:"labels"`
}

type fileSource struct {
	Name       *string        `yaml:"name"`
	MaxTargets *int           `yaml:"max_targets"`
	Defaults   sourceDefaults `yaml:"defaults"`
	FileSD     *struct {
		Files           []string `yaml:"files"`
		RefreshInterval *string  `yaml:"refresh_interval"`
	} `yaml:"file_sd"`
	HTTPSD *rawNode `yaml:"http_sd"`
	DNS    *struct {
		Names           []string `yaml:"names"`
		Type            *string  `yaml:"type"`
		RefreshInterval *string  `yaml:"refresh_interval"`
	} `yaml:"dns"`
	Flows *fileFlows     `yaml:"flows"`
	BGP   *fileBGPSource `yaml:"bgp"`
}

// rawNode keeps a YAML subtree to decode later.
type rawNode struct{ yaml.Node }

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *rawNode) UnmarshalYAML(n *yaml.Node) error {
	r.Node = *n
	return nil
}

// httpSDFile is http_sd as Prometheus decodes it (yaml.v2, strict), so
// that its HTTP client options are exactly Prometheus's.
type httpSDFile struct {
	URL              string                      `yaml:"url"`
	RefreshInterval  string                      `yaml:"refresh_interval"`
	HTTPClientConfig promconfig.HTTPClientConfig `yaml:",inline"`
}

var (
	sourceName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	sdFileName = regexp.MustCompile(`\.(json|ya?ml)$`)
)

// buildSources validates `target_sources:` against the file's defaults.
func buildSources(base Target, fs []fileSource) ([]TargetSource, error) {
	var out []TargetSource
	names := map[string]int{}
	for i, f := range fs {
		where := fmt.Sprintf("target_sources[%d]", i)
		if f.Name != nil {
			where += " (" + *f.Name + ")"
		}
		s, err := buildSource(base, f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if j, dup := names[s.Name]; dup {
			return nil, fmt.Errorf("%s: name: %q is already used by target_sources[%d]", where, s.Name, j)
		}
		names[s.Name] = i
		out = append(out, s)
	}
	return out, nil
}

func buildSource(base Target, f fileSource) (TargetSource, error) {
	s := TargetSource{MaxTargets: DefaultMaxTargets, base: base}
	if f.Name == nil || !sourceName.MatchString(*f.Name) {
		return s, errors.New("name: required: letters, digits, '_', '.' and '-', starting with a letter or digit")
	}
	s.Name = *f.Name
	if f.MaxTargets != nil {
		s.MaxTargets = *f.MaxTargets
	}
	if s.MaxTargets < 1 || s.MaxTargets > MaxMaxTargets {
		return s, fmt.Errorf("max_targets: %d is out of range 1..%d", s.MaxTargets, MaxMaxTargets)
	}
	if err := apply(&s.base, f.Defaults.fileDefaults); err != nil {
		return s, fmt.Errorf("defaults: %w", err)
	}
	if f.Defaults.Port != nil {
		s.port = *f.Defaults.Port
	}
	s.base.Labels = f.Defaults.Labels
	// Validate the defaults on a stand-in target of the right family.
	stand := "192.0.2.1"
	if s.base.Family == "ip6" {
		stand = "2001:db8::1"
	}
	if _, err := s.Target(stand, 0, nil); err != nil {
		return s, fmt.Errorf("defaults: %w", err)
	}
	kinds := 0
	var err error
	if f.FileSD != nil {
		kinds++
		s.FileSD, err = buildFileSD(f)
	}
	if f.HTTPSD != nil && err == nil {
		kinds++
		s.HTTPSD, err = buildHTTPSD(&f.HTTPSD.Node)
	}
	if f.DNS != nil && err == nil {
		kinds++
		s.DNS, err = buildDNSSD(f)
	}
	if f.Flows != nil && err == nil {
		kinds++
		s.Flows, err = buildFlows(f.Flows)
	}
	if f.BGP != nil && err == nil {
		kinds++
		s.BGP, err = buildBGPSource(f.BGP)
	}
	if err != nil {
		return s, err
	}
	if kinds != 1 {
		return s, errors.New("exactly one of file_sd, http_sd, dns, flows, bgp is required")
	}
	return s, nil
}

func refresh(field string, v *string, def time.Duration) (time.Duration, error) {
	if v == nil {
		return def, nil
	}
	d, err := time.ParseDuration(*v)
	if err != nil {
		return 0, fmt.Errorf("%s: invalid duration %q (use e.g. 30s or 1m)", field, *v)
	}
	if d < MinSourceRefresh {
		return 0, fmt.Errorf("%s: %s is below the minimum %s", field, d, MinSourceRefresh)
	}
	return d, nil
}

func buildFileSD(f fileSource) (*FileSD, error) {
	if len(f.FileSD.Files) == 0 {
		return nil, errors.New("file_sd: files: required")
	}
	for i, p := range f.FileSD.Files {
		if p == "" {
			return nil, fmt.Errorf("file_sd: files[%d]: empty", i)
		}
		if !sdFileName.MatchString(p) {
			return nil, fmt.Errorf("file_sd: files[%d]: %q must end in .json, .yml or .yaml", i, p)
		}
	}
	d, err := refresh("file_sd: refresh_interval", f.FileSD.RefreshInterval, DefaultFileSDRefresh)
	return &FileSD{Files: f.FileSD.Files, RefreshInterval: d}, err
}

func buildHTTPSD(n *yaml.Node) (*HTTPSD, error) {
	b, err := yaml.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("http_sd: %w", err)
	}
	hf := httpSDFile{HTTPClientConfig: promconfig.DefaultHTTPClientConfig}
	if err := yamlv2.UnmarshalStrict(b, &hf); err != nil {
		return nil, fmt.Errorf("http_sd: %s", fileLines(err.Error(), n))
	}
	u, err := url.Parse(hf.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http_sd: url: %q is not an http or https URL", hf.URL)
	}
	if err := hf.HTTPClientConfig.Validate(); err != nil {
		return nil, fmt.Errorf("http_sd: %w", err)
	}
	var ri *string
	if hf.RefreshInterval != "" {
		ri = &hf.RefreshInterval
	}
	d, err := refresh("http_sd: refresh_interval", ri, DefaultHTTPSDRefresh)
	return &HTTPSD{URL: hf.URL, RefreshInterval: d, HTTPClientConfig: hf.HTTPClientConfig}, err
}

var yamlLine = regexp.MustCompile(`line (\d+):`)

// fileLines turns the line numbers of an error about n's re-encoded text
// into lines of the file.
func fileLines(msg string, n *yaml.Node) string {
	return yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
		l, _ := strconv.Atoi(yamlLine.FindStringSubmatch(m)[1])
		if n.Style&yaml.FlowStyle != 0 {
			l = 1
		}
		return fmt.Sprintf("line %d:", n.Line+l-1)
	})
}

func buildDNSSD(f fileSource) (*DNSSD, error) {
	d := &DNSSD{Names: f.DNS.Names, Type: "SRV"}
	if len(d.Names) == 0 {
		return nil, errors.New("dns: names: required")
	}
	for i, n := range d.Names {
		if len(n) > 253 || !dnsName.MatchString(n) {
			return nil, fmt.Errorf("dns: names[%d]: %q is not a valid DNS name", i, n)
		}
	}
	if f.DNS.Type != nil {
		d.Type = *f.DNS.Type
	}
	switch d.Type {
	case "A", "AAAA", "SRV":
	default:
		return nil, fmt.Errorf("dns: type: %q is not one of A, AAAA, SRV", d.Type)
	}
	var err error
	d.RefreshInterval, err = refresh("dns: refresh_interval", f.DNS.RefreshInterval, DefaultDNSSDRefresh)
	return d, err
}

// Target builds and validates one discovered target: the source's
// defaults, then host, then port (0: the source's default port) and the
// labels the source found (names beginning with "__" are dropped, as
// Prometheus drops meta labels), then `source` set to the source's name.
//
// Its name is host; for udp and tcp with a port from the source, it is
// host:port (an IPv6 address in brackets). icmp ignores a port from the
// source.
func (s TargetSource) Target(host string, port int, labels map[string]string) (Target, error) {
	t := s.base
	t.Host, t.Name = host, host
	switch {
	case t.Protocol == "icmp":
		t.Port = 0
	case port != 0:
		t.Port = port
		t.Name = net.JoinHostPort(host, strconv.Itoa(port))
	default:
		t.Port = s.port
	}
	t.Labels = map[string]string{}
	for k, v := range s.base.Labels {
		t.Labels[k] = v
	}
	for k, v := range labels {
		if len(k) < 2 || k[:2] != "__" {
			t.Labels[k] = v
		}
	}
	t.Labels["source"] = s.Name
	if t.Protocol == "icmp" && s.port != 0 {
		return t, fmt.Errorf("port: not used by protocol %s", t.Protocol)
	}
	return t, t.validate()
}

// SameLocation reports whether a and b read the same place the same way,
// so a reload may keep the list a has found.
func (s TargetSource) SameLocation(o TargetSource) bool {
	return reflect.DeepEqual(s.FileSD, o.FileSD) && reflect.DeepEqual(s.DNS, o.DNS) && reflect.DeepEqual(s.Flows, o.Flows) && bgpEqual(s.BGP, o.BGP) && httpEqual(s.HTTPSD, o.HTTPSD)
}

// Family is the address family the source's defaults set ("ip4",
// "ip6"; empty: either).
func (s TargetSource) Family() string { return s.base.Family }

func bgpEqual(a, b *BGPSD) bool {
	if a == nil || b == nil {
		return a == b
	}
	ca, cb := *a, *b
	ca.ASPathRegex, cb.ASPathRegex = nil, nil
	return reflect.DeepEqual(ca, cb) && reString(a.ASPathRegex) == reString(b.ASPathRegex)
}

func reString(re *regexp.Regexp) string {
	if re == nil {
		return "\x00none"
	}
	return re.String()
}

func httpEqual(a, b *HTTPSD) bool {
	if a == nil || b == nil {
		return a == b
	}
	ya, _ := yamlv2.Marshal(a.HTTPClientConfig)
	yb, _ := yamlv2.Marshal(b.HTTPClientConfig)
	return a.URL == b.URL && a.RefreshInterval == b.RefreshInterval && string(ya) == string(yb)
}

// resolvePaths makes the relative paths of target sources (file_sd
// files, http_sd's TLS and credential files) relative to dir, the
// configuration file's directory, as Prometheus does.
func (c *Config) resolvePaths(dir string) {
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.FileSD != nil {
			for j, f := range s.FileSD.Files {
				if !filepath.IsAbs(f) {
					s.FileSD.Files[j] = filepath.Join(dir, f)
				}
			}
		}
		if s.HTTPSD != nil {
			s.HTTPSD.HTTPClientConfig.SetDirectory(dir)
		}
	}
}
