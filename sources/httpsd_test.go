package sources

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// sdServer is a Prometheus HTTP SD endpoint for the tests.
type sdServer struct {
	mu          sync.Mutex
	body, ctype string
	status      int
	header      http.Header
}

func (s *sdServer) set(status int, ctype, body string) {
	s.mu.Lock()
	s.status, s.ctype, s.body = status, ctype, body
	s.mu.Unlock()
}

func (s *sdServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.header = r.Header.Clone()
	if u, p, ok := r.BasicAuth(); !ok || u != "sd" || p != "secret" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", s.ctype)
	w.WriteHeader(s.status)
	w.Write([]byte(s.body))
}

func httpSDConfig(t *testing.T, y string) config.HTTPSD {
	t.Helper()
	c, err := config.Parse([]byte("target_sources:\n  - name: api\n    http_sd:\n" + y))
	if err != nil {
		t.Fatal(err)
	}
	return *c.Sources[0].HTTPSD
}

func TestHTTPSDOverTLSWithBasicAuth(t *testing.T) {
	s := &sdServer{}
	srv := httptest.NewTLSServer(s)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	cfg := httpSDConfig(t, `      url: `+srv.URL+`/sd
      refresh_interval: 30s
      basic_auth: {username: sd, password: secret}
      tls_config: {ca_file: `+ca+`}
`)
	tick := make(chan time.Time)
	h := &HTTPSD{Config: cfg, Logger: log.NewNopLogger(), tick: func(time.Duration) (<-chan time.Time, func()) { return tick, func() {} }}
	type rep struct {
		items []Item
		err   error
	}
	reports := make(chan rep)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx, func(i []Item, err error) { reports <- rep{i, err} }); close(done) }()
	defer func() { cancel(); <-done }()

	s.set(200, "application/json; charset=utf-8", `[{"targets": ["198.18.7.2", "198.18.7.3:443"], "labels": {"zone": "a"}}]`)
	poll := func() rep {
		t.Helper()
		select {
		case r := <-reports:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no report")
		}
		return rep{}
	}
	// The first poll may have run before set; poll until it is seen.
	r := poll()
	if r.err != nil {
		tick <- time.Now()
		r = poll()
	}
	if r.err != nil || hosts(r.items) != "198.18.7.2 198.18.7.3" || r.items[1].Port != 443 || r.items[0].Labels["zone"] != "a" {
		t.Fatalf("poll %+v", r)
	}
	s.mu.Lock()
	if got := s.header.Get("X-Prometheus-Refresh-Interval-Seconds"); got != "30" {
		t.Errorf("X-Prometheus-Refresh-Interval-Seconds %q, want 30", got)
	}
	s.mu.Unlock()
	for _, bad := range []struct {
		status      int
		ctype, body string
		want        string
	}{
		{500, "application/json", `[]`, "status 500"},
		{200, "text/plain", `[]`, "Content-Type"},
		{200, "application/json", `[{"targets": "x"}]`, "cannot unmarshal"},
	} {
		s.set(bad.status, bad.ctype, bad.body)
		tick <- time.Now()
		if r := poll(); r.err == nil || !strings.Contains(r.err.Error(), bad.want) {
			t.Errorf("%+v: error %v, want %q", bad, r.err, bad.want)
		}
	}
	s.set(200, "application/json", `[]`)
	tick <- time.Now()
	if r := poll(); r.err != nil || len(r.items) != 0 {
		t.Fatalf("empty list %+v", r)
	}
}

// TestHTTPSDAuthFails is the negative control: without the configured
// credentials the same server's answer is an error.
func TestHTTPSDAuthFails(t *testing.T) {
	s := &sdServer{}
	s.set(200, "application/json", `[]`)
	srv := httptest.NewServer(s)
	defer srv.Close()
	h := &HTTPSD{Config: httpSDConfig(t, "      url: "+srv.URL+"\n")}
	c := &http.Client{}
	if _, err := h.fetch(context.Background(), c); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("error %v, want status 401", err)
	}
}
