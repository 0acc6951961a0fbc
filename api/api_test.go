package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// serve mounts the API on a mux at /api/v1/ as main does and returns the
// loopback server.
func serve(t *testing.T, hist History) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", New(targets(), hist, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// do sends method to path (already URL-escaped) and returns the answer.
func do(t *testing.T, srv *httptest.Server, method, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestGolden compares the four endpoints' answers with testdata/*.json.
func TestGolden(t *testing.T) {
	srv := serve(t, store(t))
	for _, tc := range []struct{ path, golden string }{
		{"/api/v1/targets", "targets.json"},
		{"/api/v1/targets/cloudflare-dns", "target.json"},
		{"/api/v1/targets/cloudflare-dns/paths", "paths.json"},
		{"/api/v1/targets/cloudflare-dns/changes", "changes.json"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			resp, body := do(t, srv, http.MethodGet, tc.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, body, "", "  "); err != nil {
				t.Fatalf("invalid JSON %s: %v", body, err)
			}
			file := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("GET %s differs from %s (run with -update if intended):\n%s", tc.path, file, got.Bytes())
			}
		})
	}
}

// TestErrors covers every error answer.
func TestErrors(t *testing.T) {
	mem := serve(t, store(t))
	off := serve(t, nil)
	broken := serve(t, failingHistory{errBadDisk})
	for _, tc := range []struct {
		name    string
		srv     *httptest.Server
		method  string
		path    string
		status  int
		message string
	}{
		{"unknown target", mem, "GET", "/api/v1/targets/nope", 404, `unknown target "nope"`},
		{"unknown target paths", mem, "GET", "/api/v1/targets/nope/paths", 404, `unknown target "nope"`},
		{"unknown target changes", mem, "GET", "/api/v1/targets/nope/changes", 404, `unknown target "nope"`},
		{"unknown target before disabled history", off, "GET", "/api/v1/targets/nope/changes", 404, `unknown target "nope"`},
		{"unknown escaped target", mem, "GET", "/api/v1/targets/a%2Fb", 404, `unknown target "a/b"`},
		{"unknown endpoint", mem, "GET", "/api/v1/targets/cloudflare-dns/hops", 404, `no such endpoint "/api/v1/targets/cloudflare-dns/hops"`},
		{"unescaped slash", mem, "GET", "/api/v1/targets/a/b%20c", 404, `no such endpoint "/api/v1/targets/a/b c"`},
		{"limit zero", mem, "GET", "/api/v1/targets/cloudflare-dns/changes?limit=0", 400, `invalid limit "0": want an integer from 1 to 1000`},
		{"limit too big", mem, "GET", "/api/v1/targets/cloudflare-dns/changes?limit=1001", 400, `invalid limit "1001": want an integer from 1 to 1000`},
		{"limit not a number", mem, "GET", "/api/v1/targets/cloudflare-dns/changes?limit=ten", 400, `invalid limit "ten": want an integer from 1 to 1000`},
		{"bad since", mem, "GET", "/api/v1/targets/cloudflare-dns/changes?since=yesterday", 400, `invalid since "yesterday": want an RFC 3339 time or Unix seconds`},
		{"since without zone", mem, "GET", "/api/v1/targets/cloudflare-dns/changes?since=2024-05-01T12:00:00", 400, `invalid since "2024-05-01T12:00:00": want an RFC 3339 time or Unix seconds`},
		{"since NaN", mem, "GET", "/api/v1/targets/cloudflare-dns/changes?since=NaN", 400, `invalid since "NaN": want an RFC 3339 time or Unix seconds`},
		{"paths disabled", off, "GET", "/api/v1/targets/cloudflare-dns/paths", 503, errHistoryDisabled},
		{"changes disabled", off, "GET", "/api/v1/targets/cloudflare-dns/changes", 503, errHistoryDisabled},
		{"paths store error", broken, "GET", "/api/v1/targets/cloudflare-dns/paths", 500, errBadDisk.Error()},
		{"changes store error", broken, "GET", "/api/v1/targets/cloudflare-dns/changes", 500, errBadDisk.Error()},
		{"POST targets", mem, "POST", "/api/v1/targets", 405, "method POST not allowed"},
		{"DELETE target", mem, "DELETE", "/api/v1/targets/cloudflare-dns", 405, "method DELETE not allowed"},
		{"PUT paths", mem, "PUT", "/api/v1/targets/cloudflare-dns/paths", 405, "method PUT not allowed"},
		{"POST changes", mem, "POST", "/api/v1/targets/cloudflare-dns/changes", 405, "method POST not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.srv, tc.method, tc.path)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q, want \"GET, HEAD\"", resp.Header.Get("Allow"))
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("invalid JSON %s: %v", body, err)
			}
			if len(got) != 1 || got["error"] != tc.message {
				t.Errorf("body %s, want {\"error\": %q}", body, tc.message)
			}
		})
	}
}
