package collector

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
	"github.com/traceroute-exporter/traceroute_exporter/tracer"
)

// registryText is what a registry holding only g exposes, lenient like
// promhttp.ContinueOnError: series the registry rejects are left out.
func registryText(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, _ := reg.Gather()
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

func writeText(t *testing.T, c *Collector) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// flowsState is a target traced by two flows over different second hops.
func flowsState() *pathstate.State {
	dst := ip("198.18.7.2")
	s := pathstate.NewState()
	s.SetAddress(dst)
	r := trace(dst, t0, 2, ip("198.18.1.2"), ip("198.18.3.2"), dst)
	other := trace(dst, t0, 2, ip("198.18.1.2"), ip("198.18.5.2"), dst)
	for _, p := range other.Probes {
		p.Flow = 1
		r.Probes = append(r.Probes, p)
	}
	r.Flows = 2
	s.Observe(r)
	return s
}

// oddState has label values that need escaping or are not UTF-8 in its
// hops' extensions and an Unreachable at hop 2; iface is the interface
// of hop 1.
func oddState(iface string) *pathstate.State {
	dst := ip("198.18.8.2")
	s := pathstate.NewState()
	s.SetAddress(dst)
	r := trace(dst, t0, 2, ip("198.18.1.2"), ip("198.18.6.2"), ip("198.18.10.2"), dst)
	r.Probes[0].Interface = iface
	r.Probes[1].MPLS = "bad\xff"
	r.Probes[6].Kind, r.Probes[6].Code = tracer.KindDestUnreachable, 13
	s.Observe(r)
	return s
}

// TestTextGolden holds the text path to the registry's golden file.
func TestTextGolden(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "metrics.golden"))
	if err != nil {
		t.Fatal(err)
	}
	c := New(fixture())
	for scrape := range 2 { // the second from the cache
		if got := writeText(t, c); got != string(want) {
			t.Fatalf("scrape %d: text path differs from testdata/metrics.golden:\n%s", scrape, got)
		}
	}
}

func TestTextMatchesRegistry(t *testing.T) {
	oddEvidence := &enrich.Evidence{Hops: []enrich.HopInfo{{Name: `r1 "q"`, ASN: 7}, {}, {Name: "x\xfe", ASN: 9}}, ASPath: []uint32{7, 9},
		LastChange: &enrich.ChangeSummary{ID: 1, Verdict: "worse", Before: "a\\b", After: "c\nd"}}
	targets := func(labels map[string]string) []Target {
		src := fixture()
		ts := src.Targets()
		ts = append(ts,
			Target{Name: "f", Labels: labels, Snapshot: flowsState().Snapshot()},
			Target{Name: "o\"dd", Labels: labels, Snapshot: oddState(`ge-0/0/1 "uplink" \ 2` + "\nnext").Snapshot(), Evidence: oddEvidence},
			Target{Name: "bad\xff", Snapshot: oddState("").Snapshot()})
		for _, v := range []string{"", "\x00", "\x00\x01", "z", "z\x00"} { // zero bytes sort as the registry sorts them
			l := map[string]string{"zone": v}
			for k, v := range labels {
				l[k] = v
			}
			l["zone"] += v
			ts = append(ts, Target{Name: "p", Labels: l, Snapshot: oddState(v).Snapshot()})
		}
		return ts
	}
	for _, tc := range []struct {
		name    string
		targets []Target
	}{
		{"fixture", fixture().Targets()},
		{"no targets", nil},
		{"flows, escaping, invalid UTF-8", targets(nil)},
		{"static labels around flow and hop", targets(map[string]string{"env": "prod", "a": "1", "zone": "z\"1", "ip_": "x"})},
		{"static label before address", targets(map[string]string{"aa": "\\"})},
		{"no snapshot", []Target{{Name: "x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := fixture()
			src.Targets = func() []Target { return tc.targets }
			c := New(src)
			want := registryText(t, c)
			if got := writeText(t, c); got != want {
				t.Fatalf("text path differs from the registry's:\n--- text\n%s\n--- registry\n%s", got, want)
			}
			// A second scrape reads the cache.
			if got := writeText(t, c); got != want {
				t.Fatalf("second scrape differs from the registry's:\n%s", got)
			}
		})
	}
}

func TestTextFallsBackOnNamesItCannotWrite(t *testing.T) {
	for _, label := range []string{"hop", "target", "__x", "a.b"} {
		src := fixture()
		src.Targets = func() []Target {
			return []Target{{Name: "x", Labels: map[string]string{label: "1"}, Snapshot: pathstate.NewState().Snapshot()}}
		}
		if err := New(src).WriteText(io.Discard); err != ErrNoTextPath {
			t.Errorf("static label %q: WriteText returned %v, want ErrNoTextPath", label, err)
		}
	}
}

func TestHandlerMatchesPromhttp(t *testing.T) {
	others := prometheus.NewRegistry()
	others.MustRegister(WebInfo("https://x.example/"),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aaa_first", Help: "Sorts first."}, func() float64 { return 1 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "zzz_last", Help: "Sorts last."}, func() float64 { return 2 }))
	get := func(h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header = header
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	body := func(t *testing.T, w *httptest.ResponseRecorder) string {
		t.Helper()
		if w.Header().Get("Content-Encoding") != "gzip" {
			return w.Body.String()
		}
		zr, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name, target string
		header       http.Header
		text         bool // served by the text path
	}{
		{"plain", "/metrics", http.Header{}, true},
		{"prometheus", "/metrics", http.Header{"Accept": {"text/plain;version=0.0.4;q=0.9,*/*;q=0.1"}, "Accept-Encoding": {"gzip"}}, true},
		{"gzip refused", "/metrics", http.Header{"Accept-Encoding": {"gzip;q=0, identity"}}, true},
		{"protobuf", "/metrics", http.Header{"Accept": {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"}}, false},
		{"name filter", "/metrics?name[]=traceroute_hops&name[]=zzz_last", http.Header{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(fixture())
			all := prometheus.NewRegistry()
			all.MustRegister(c)
			reference := promhttp.HandlerFor(prometheus.Gatherers{others, all}, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
			got, want := get(Handler(c, others), tc.target, tc.header), get(reference, tc.target, tc.header)
			for _, k := range []string{"Content-Type", "Content-Encoding"} {
				if got.Header().Get(k) != want.Header().Get(k) {
					t.Errorf("%s %q, promhttp's %q", k, got.Header().Get(k), want.Header().Get(k))
				}
			}
			g, w := body(t, got), body(t, want)
			if g != w {
				t.Errorf("body differs from promhttp's:\n--- handler\n%s\n--- promhttp\n%s", g, w)
			}
			if !strings.Contains(g, "zzz_last") || !strings.Contains(g, "traceroute_hops") {
				t.Errorf("families missing:\n%s", g)
			}
			if text := c.cache.order[gTarget] != nil; text != tc.text {
				t.Errorf("served by the text path: %v, want %v", text, tc.text)
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                         false,
		"gzip":                     true,
		"gzip, deflate, br":        true,
		"gzip;q=0":                 false,
		"identity;q=1, gzip;q=0.5": false,
		"identity;q=0.5, gzip":     true,
		"*":                        false,
		"*;q=0.5, gzip;q=0.8":      true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}
