package sources

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// maxHTTPSDBody caps an HTTP SD answer.
const maxHTTPSDBody = 16 << 20

// HTTPSD polls an endpoint in Prometheus's HTTP SD format: a GET with
// the header X-Prometheus-Refresh-Interval-Seconds, answered with 200, a
// JSON Content-Type and a JSON list of target groups. It polls at start
// and every refresh interval, through Prometheus's HTTP client (TLS,
// authentication, proxies as configured).
type HTTPSD struct {
	Config config.HTTPSD
	Logger log.Logger
	tick   ticker
}

// Run implements Source.
func (h *HTTPSD) Run(ctx context.Context, report func([]Item, error)) {
	if h.tick == nil {
		h.tick = realTicker
	}
	client, err := promconfig.NewClientFromConfig(h.Config.HTTPClientConfig, "http_sd")
	if err != nil {
		level.Error(h.Logger).Log("msg", "Cannot build the HTTP client", "err", err)
		report(nil, err)
		return
	}
	tick, stop := h.tick(h.Config.RefreshInterval)
	defer stop()
	for {
		items, err := h.fetch(ctx, client)
		if ctx.Err() != nil {
			return
		}
		report(items, err)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// fetch polls the endpoint once.
func (h *HTTPSD) fetch(ctx context.Context, client *http.Client) ([]Item, error) {
	ctx, cancel := context.WithTimeout(ctx, h.Config.RefreshInterval)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.Config.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "traceroute_exporter/"+version.Version)
	req.Header.Set("X-Prometheus-Refresh-Interval-Seconds", strconv.FormatFloat(h.Config.RefreshInterval.Seconds(), 'f', -1, 64))
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %s", h.Config.URL, resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, fmt.Errorf("GET %s: Content-Type %q, want application/json", h.Config.URL, resp.Header.Get("Content-Type"))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPSDBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxHTTPSDBody {
		return nil, fmt.Errorf("GET %s: answer above %d bytes", h.Config.URL, maxHTTPSDBody)
	}
	gs, err := ParseJSON(b)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", h.Config.URL, err)
	}
	return Items(gs)
}
