package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTargetSourcesParsed(t *testing.T) {
	c, err := Parse([]byte(`
defaults:
  interval: 10s
target_sources:
  - name: files
    max_targets: 50
    defaults: {protocol: tcp, port: 8443, interval: 20s, labels: {team: net}}
    file_sd: {files: [/etc/t/*.json, /etc/t/extra.yml]}
  - name: api
    http_sd:
      url: https://sd.example/targets
      refresh_interval: 15s
      basic_auth: {username: u, password: p}
      tls_config: {insecure_skip_verify: true}
  - name: names
    dns: {names: [a.example, b.example], type: AAAA}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 3 {
		t.Fatalf("%d sources, want 3", len(c.Sources))
	}
	f, h, d := c.Sources[0], c.Sources[1], c.Sources[2]
	if f.Name != "files" || f.MaxTargets != 50 || !reflect.DeepEqual(f.FileSD, &FileSD{Files: []string{"/etc/t/*.json", "/etc/t/extra.yml"}, RefreshInterval: DefaultFileSDRefresh}) {
		t.Errorf("file_sd source %+v %+v", f, f.FileSD)
	}
	if h.MaxTargets != DefaultMaxTargets || h.HTTPSD.URL != "https://sd.example/targets" || h.HTTPSD.RefreshInterval != 15*time.Second ||
		h.HTTPSD.HTTPClientConfig.BasicAuth == nil || h.HTTPSD.HTTPClientConfig.BasicAuth.Username != "u" || !h.HTTPSD.HTTPClientConfig.TLSConfig.InsecureSkipVerify ||
		!h.HTTPSD.HTTPClientConfig.FollowRedirects {
		t.Errorf("http_sd source %+v", h.HTTPSD)
	}
	if !reflect.DeepEqual(d.DNS, &DNSSD{Names: []string{"a.example", "b.example"}, Type: "AAAA", RefreshInterval: DefaultDNSSDRefresh}) {
		t.Errorf("dns source %+v", d.DNS)
	}
	if !f.SameLocation(f) || !h.SameLocation(h) || f.SameLocation(h) || h.SameLocation(d) {
		t.Error("SameLocation wrong")
	}
}

func TestSourceTarget(t *testing.T) {
	c, err := Parse([]byte(`
defaults: {probes: 3}
target_sources:
  - name: web
    defaults: {protocol: tcp, labels: {team: net, tier: "1"}}
    file_sd: {files: [t.json]}
  - name: ping
    defaults: {interval: 5s}
    file_sd: {files: [t.json]}
`))
	if err != nil {
		t.Fatal(err)
	}
	web, ping := c.Sources[0], c.Sources[1]
	for _, tc := range []struct {
		name    string
		src     TargetSource
		host    string
		port    int
		labels  map[string]string
		want    Target
		wantErr string
	}{
		{"tcp default port", web, "198.18.7.2", 0, map[string]string{"tier": "2", "__meta_x": "y"},
			Target{Name: "198.18.7.2", Host: "198.18.7.2", Protocol: "tcp", Port: 443, Family: "ip4", Interval: DefaultInterval, Probes: 3, Timeout: DefaultTimeout,
				MaxHops: DefaultMaxHops, Flows: 1, PMTUEvery: DefaultPMTUEvery, Labels: map[string]string{"team": "net", "tier": "2", "source": "web"}}, ""},
		{"tcp port from the source names host:port", web, "2001:db8::7", 8080, nil,
			Target{Name: "[2001:db8::7]:8080", Host: "2001:db8::7", Protocol: "tcp", Port: 8080, Family: "ip6", Interval: DefaultInterval, Probes: 3, Timeout: DefaultTimeout,
				MaxHops: DefaultMaxHops, Flows: 1, PMTUEvery: DefaultPMTUEvery, Labels: map[string]string{"team": "net", "tier": "1", "source": "web"}}, ""},
		{"icmp ignores the port", ping, "www.example", 443, map[string]string{"source": "spoofed"},
			Target{Name: "www.example", Host: "www.example", Protocol: "icmp", Family: "ip4", Interval: 5 * time.Second, Probes: 3, Timeout: DefaultTimeout,
				MaxHops: DefaultMaxHops, Flows: 1, PMTUEvery: DefaultPMTUEvery, Labels: map[string]string{"source": "ping"}}, ""},
		{"bad host", ping, "not a host", 0, nil, Target{}, `host: "not a host" is neither an IP address nor a valid DNS name`},
		{"reserved label", ping, "198.18.7.2", 0, map[string]string{"hop": "1"}, Target{}, `labels: "hop" is reserved by the exporter`},
		{"bad port", web, "198.18.7.2", 70000, nil, Target{}, "port: 70000 is out of range 1..65535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.src.Target(tc.host, tc.port, tc.labels)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v (%v)\nwant %+v", got, err, tc.want)
			}
		})
	}
}

// TestReadmeTargetSourcesExample keeps the README's target_sources example
// valid.
func TestReadmeTargetSourcesExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "### Target sources")
	j := strings.Index(s[i:], "```yaml\n")
	k := strings.Index(s[i+j+8:], "```")
	if i < 0 || j < 0 || k < 0 {
		t.Fatal("no yaml block under README's \"Target sources\"")
	}
	c, err := Parse([]byte(s[i+j+8 : i+j+8+k]))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 4 || c.Sources[0].FileSD == nil || c.Sources[1].HTTPSD == nil || c.Sources[2].DNS == nil || c.Sources[3].Flows == nil {
		t.Fatalf("README example: %+v, want a file_sd, an http_sd, a dns and a flows source", c.Sources)
	}
}

func TestFlowsSourceParsed(t *testing.T) {
	c, err := Parse([]byte(`
target_sources:
  - name: top
    max_targets: 60
    flows: {listen_address: "127.0.0.1:2055", top: 50, window: 5m, refresh_interval: 10s, aggregate: prefix}
  - name: defaults
    flows: {listen_address: ":6343", protocol: sflow}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &FlowsSD{ListenAddress: "127.0.0.1:2055", Protocol: "netflow", Top: 50, Margin: DefaultFlowsMargin, Window: 5 * time.Minute,
		MinTime: DefaultFlowsMinTime, RefreshInterval: 10 * time.Second, Prefix: true}
	if !reflect.DeepEqual(c.Sources[0].Flows, want) {
		t.Errorf("flows %+v, want %+v", c.Sources[0].Flows, want)
	}
	want = &FlowsSD{ListenAddress: ":6343", Protocol: "sflow", Top: DefaultFlowsTop, Margin: DefaultFlowsMargin, Window: DefaultFlowsWindow,
		MinTime: DefaultFlowsMinTime, RefreshInterval: DefaultFlowsRefresh}
	if !reflect.DeepEqual(c.Sources[1].Flows, want) {
		t.Errorf("flows %+v, want %+v", c.Sources[1].Flows, want)
	}
}

// TestSourcePathsRelativeToConfigFile: relative file_sd files and http_sd
// TLS files are taken relative to the configuration file, as Prometheus
// does; absolute ones are kept.
func TestSourcePathsRelativeToConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yml")
	os.WriteFile(path, []byte(`
target_sources:
  - {name: f, file_sd: {files: [sd/*.json, /abs/t.yml]}}
  - {name: h, http_sd: {url: "https://127.0.0.1:9/sd", tls_config: {ca_file: ca.pem}}}
`), 0o644)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources[0].FileSD.Files; !reflect.DeepEqual(got, []string{filepath.Join(dir, "sd/*.json"), "/abs/t.yml"}) {
		t.Errorf("file_sd files %v", got)
	}
	if got := c.Sources[1].HTTPSD.HTTPClientConfig.TLSConfig.CAFile; got != filepath.Join(dir, "ca.pem") {
		t.Errorf("ca_file %q", got)
	}
}
