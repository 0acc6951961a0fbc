package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSiteAndShardShown: every page names the site and shard it comes
// from; without them the header has no such note (negative control).
func TestSiteAndShardShown(t *testing.T) {
	now := func() time.Time { return t0.Add(time.Hour) }
	for _, tc := range []struct {
		site, shard, want string
	}{
		{"fra1", "0/2", "site fra1, shard 0/2"},
		{"fra1", "", "site fra1"},
		{"", "1/3", "shard 1/3"},
	} {
		srv := httptest.NewServer(New(source(), nil, Options{Site: tc.site, Shard: tc.shard, Now: now}))
		for _, path := range []string{"/", "/targets/cloudflare-dns"} {
			resp, body := fetch(t, srv, "GET", path)
			if resp.StatusCode != 200 || !strings.Contains(body, `<span class="muted">`+tc.want+`</span>`) || !strings.Contains(body, "("+tc.want+") – traceroute_exporter</title>") {
				t.Errorf("%s with site %q shard %q: %d, want %q in the header and title", path, tc.site, tc.shard, resp.StatusCode, tc.want)
			}
		}
		srv.Close()
	}
	srv := serve(t, nil, "")
	if _, body := fetch(t, srv, "GET", "/"); strings.Contains(body, "site ") || strings.Contains(body, "shard ") {
		t.Error("a page without site or shard names one")
	}
}
