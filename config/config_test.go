package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// expectedError reads the error a testdata file must produce from its
// leading comment: "# error: text", continued by lines starting "#   ".
func expectedError(t *testing.T, b []byte) string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "# error: "):
			lines = append(lines, strings.TrimPrefix(l, "# error: "))
		case len(lines) > 0 && strings.HasPrefix(l, "#   "):
			lines = append(lines, "  "+strings.TrimPrefix(l, "#   "))
		default:
			if len(lines) == 0 {
				t.Fatal("file does not start with '# error: ...'")
			}
			return strings.Join(lines, "\n")
		}
	}
	return strings.Join(lines, "\n")
}

func TestInvalidConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid-*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedError(t, b)
			_, err = Parse(b)
			if err == nil {
				t.Fatalf("no error, want %q", want)
			}
			if err.Error() != want {
				t.Fatalf("error\n%s\nwant\n%s", err, want)
			}
		})
	}
}

func TestDefaultsApplied(t *testing.T) {
	c, err := Parse([]byte(`
defaults:
  interval: 10s
  probes: 5
targets:
  - host: 198.18.7.2
  - name: web
    host: www.example.com
    family: ip6
    max_hops: 12
    timeout: 500ms
    source: 2001:db8:1::1
    labels: {site: a}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{
		{Name: "198.18.7.2", Host: "198.18.7.2", Protocol: "icmp", Family: "ip4", Interval: 10 * time.Second, Probes: 5, Timeout: 2 * time.Second, MaxHops: 30, Flows: 1, PMTUEvery: 10},
		{Name: "web", Host: "www.example.com", Protocol: "icmp", Family: "ip6", Source: "2001:db8:1::1", Interval: 10 * time.Second, Probes: 5, Timeout: 500 * time.Millisecond, MaxHops: 12, Flows: 1, PMTUEvery: 10, Labels: map[string]string{"site": "a"}},
	}
	if !reflect.DeepEqual(c.Targets, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", c.Targets, want)
	}
}

func TestEmptyFileHasNoTargets(t *testing.T) {
	c, err := Parse(nil)
	if err != nil || len(c.Targets) != 0 {
		t.Fatalf("Parse(empty) = %+v, %v; want no targets, no error", c, err)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	c, err := Load(filepath.Join("..", "config.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) == 0 {
		t.Fatal("config.example.yml has no targets")
	}
	for _, tg := range c.Targets {
		if tg.Name == "" || tg.Family == "" || tg.Interval == 0 {
			t.Errorf("target %+v not fully defaulted", tg)
		}
	}
}

func TestSafeReloadKeepsOldConfigOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yml")
	os.WriteFile(path, []byte("targets:\n  - host: 198.18.7.2\n"), 0o644)
	var s Safe
	t1 := time.Unix(100, 0)
	if _, err := s.Reload(path, t1); err != nil {
		t.Fatal(err)
	}
	good := s.Get()
	os.WriteFile(path, []byte("targets:\n  - host: 198.18.7.2\n    probes: -1\n"), 0o644)
	if _, err := s.Reload(path, time.Unix(200, 0)); err == nil {
		t.Fatal("bad file reloaded without error")
	}
	if s.Get() != good {
		t.Fatal("bad reload replaced the running configuration")
	}
	ok, at := s.Status()
	if ok || !at.Equal(t1) {
		t.Fatalf("status ok=%v last=%v, want false and %v", ok, at, t1)
	}
}

func TestVerdictDefaultsAndOverrides(t *testing.T) {
	c, err := Parse([]byte("targets:\n  - host: 198.18.7.2\n"))
	if err != nil || c.Verdict != DefaultVerdict {
		t.Fatalf("verdict %+v (%v), want the defaults %+v", c.Verdict, err, DefaultVerdict)
	}
	c, err = Parse([]byte("verdict:\n  rtt_ratio: 1.5\n  rtt_margin: 10ms\n  loss_margin: 0.1\ntargets:\n  - host: 198.18.7.2\n"))
	want := Verdict{RTTRatio: 1.5, RTTMargin: 10 * time.Millisecond, LossMargin: 0.1}
	if err != nil || c.Verdict != want {
		t.Fatalf("verdict %+v (%v), want %+v", c.Verdict, err, want)
	}
}

func TestProtocolPorts(t *testing.T) {
	c, err := Parse([]byte("targets:\n  - {host: 198.18.7.2, protocol: udp}\n  - {name: t, host: 198.18.7.2, protocol: tcp}\n  - {name: t2, host: 198.18.7.2, protocol: tcp, port: 8443}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{33434, 443, 8443} {
		if c.Targets[i].Port != want {
			t.Errorf("target %d: port %d, want %d", i, c.Targets[i].Port, want)
		}
	}
}

func TestBGPDefaultsApplied(t *testing.T) {
	c, err := Parse([]byte(`
bgp:
  local_as: 4200000000
  router_id: 198.18.0.1
  listen_address: 198.18.0.1
  correlation_after: 0s
  neighbors:
    - address: 198.18.1.1
      peer_as: 64501
    - address: 2001:db8:1::1
      peer_as: 64502
      port: 1790
      passive: true
      password: secret
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &BGP{LocalAS: 4200000000, RouterID: netip.MustParseAddr("198.18.0.1"), ListenAddress: netip.MustParseAddr("198.18.0.1"),
		ListenPort: 179, Window: 2 * time.Minute, After: 0, Neighbors: []Neighbor{
			{Address: netip.MustParseAddr("198.18.1.1"), PeerAS: 64501, Port: 179},
			{Address: netip.MustParseAddr("2001:db8:1::1"), PeerAS: 64502, Port: 1790, Passive: true, Password: "secret"},
		}}
	if !reflect.DeepEqual(c.BGP, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", c.BGP, want)
	}
	if c, err := Parse([]byte("targets: [{host: 198.18.7.2, labels: {prefix: a}}]\n")); err != nil || c.BGP != nil {
		t.Fatalf("no bgp section: %v, %v; want no speaker, and prefix free as a static label", c, err)
	}
}
