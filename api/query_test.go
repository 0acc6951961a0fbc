package api

import (
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestChangesQuery covers since and limit.
func TestChangesQuery(t *testing.T) {
	srv := serve(t, store(t))
	for _, tc := range []struct {
		query string
		want  []uint64
	}{
		{"", []uint64{3, 2, 1}},
		{"?since=&limit=", []uint64{3, 2, 1}},
		{"?limit=1", []uint64{3}},
		{"?limit=1000", []uint64{3, 2, 1}},
		{"?since=2024-05-01T12:00:00Z", []uint64{3, 2}},
		{"?since=2024-05-01T14:00:00%2B02:00", []uint64{3, 2}},
		{"?since=2024-05-01T12:00:00.000000001Z", []uint64{3}},
		{fmt.Sprintf("?since=%d", t0.Unix()), []uint64{3, 2}},
		{fmt.Sprintf("?since=%d.5", t0.Unix()), []uint64{3}},
		{fmt.Sprintf("?since=%d&limit=1", t0.Unix()-3600), []uint64{3}},
		{"?since=0", []uint64{3, 2, 1}},
		{"?since=2030-01-01T00:00:00Z", []uint64{}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			resp, body := do(t, srv, http.MethodGet, "/api/v1/targets/cloudflare-dns/changes"+tc.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var got struct {
				Changes []struct{ ID uint64 } `json:"changes"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			ids := []uint64{}
			for _, c := range got.Changes {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("change ids %v, want %v", ids, tc.want)
			}
		})
	}
}

// TestNames: a name with an escaped slash and a space reaches every
// endpoint; a target without history has empty lists, never null.
func TestNames(t *testing.T) {
	srv := serve(t, store(t))
	for _, tc := range []struct{ path, want string }{
		{"/api/v1/targets/a%2Fb%20c", `"name":"a/b c"`},
		{"/api/v1/targets/a%2Fb%20c/paths", `{"target":"a/b c","paths":[]}`},
		{"/api/v1/targets/a%2Fb%20c/changes", `{"target":"a/b c","changes":[]}`},
		{"/api/v1/targets/nan.example-1", `"name":"nan.example-1"`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := do(t, srv, http.MethodGet, tc.path)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.want) {
				t.Errorf("status %d, body %s; want 200 and %s", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// TestNonFinite: NaN and infinite numbers of the current state are left
// out (target) or rendered as null (hops), never break the encoding.
func TestNonFinite(t *testing.T) {
	srv := serve(t, nil)
	resp, body := do(t, srv, http.MethodGet, "/api/v1/targets/nan.example-1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var target map[string]json.RawMessage
	if err := json.Unmarshal(body, &target); err != nil {
		t.Fatalf("invalid JSON %s: %v", body, err)
	}
	for _, key := range []string{"destination_rtt_seconds", "destination_loss_ratio"} {
		if v, ok := target[key]; ok {
			t.Errorf("%s = %s, want it left out", key, v)
		}
	}
	var hops []map[string]json.RawMessage
	var rtt map[string]json.RawMessage
	if err := json.Unmarshal(target["path"], &hops); err != nil || len(hops) != 1 {
		t.Fatalf("path %s: %v", target["path"], err)
	}
	if err := json.Unmarshal(hops[0]["rtt"], &rtt); err != nil {
		t.Fatalf("rtt %s: %v", hops[0]["rtt"], err)
	}
	for _, tc := range []struct {
		what string
		got  json.RawMessage
		want string
	}{
		{"loss_ratio", hops[0]["loss_ratio"], "null"},
		{"forward_loss_ratio", hops[0]["forward_loss_ratio"], "null"},
		{"rtt.mean_seconds", rtt["mean_seconds"], "0.002"},
		{"rtt.stddev_seconds", rtt["stddev_seconds"], "null"},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("hop %s = %s, want %s", tc.what, tc.got, tc.want)
		}
	}
}

// TestNumber: a non-finite number renders as null, others as
// encoding/json renders a float64.
func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{math.NaN(), "null"}, {math.Inf(1), "null"}, {math.Inf(-1), "null"},
		{0, "0"}, {0.25, "0.25"}, {1e-7, "1e-7"}, {12, "12"},
	} {
		got, err := json.Marshal(number(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("number(%v) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// TestHead: HEAD is answered like GET, without a body.
func TestHead(t *testing.T) {
	srv := serve(t, store(t))
	resp, body := do(t, srv, http.MethodHead, "/api/v1/targets")
	if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD: status %d, Content-Type %q, %d bytes of body", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
}

// TestImports: the API reads state only through its interfaces; it never
// imports the packages that probe or hold the state.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/traceroute-exporter/traceroute_exporter/"
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if strings.HasPrefix(path, module) && path != module+"history" {
				t.Errorf("%s imports %s; want only %shistory from this module", file, path, module)
			}
		}
	}
}
