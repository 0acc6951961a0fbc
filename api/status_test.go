package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestStatus(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("next")) })
	srv := httptest.NewServer(WithStatus(next, func() Status {
		return Status{Site: "fra1", Shard: "0/2", Targets: 7, TargetSources: []SourceStatus{{Name: "files", Targets: 5, Errors: 1}}}
	}))
	defer srv.Close()
	for path, want := range map[string]string{
		"/api/v1/status":  `{"site":"fra1","shard":"0/2","targets":7,"target_sources":[{"name":"files","targets":5,"errors":1}]}` + "\n",
		"/api/v1/targets": "next",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want {
			t.Errorf("%s: %q, want %q", path, b, want)
		}
	}
	resp, err := http.Post(srv.URL+"/api/v1/status", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}
