package lab

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Scraper fetches the exporter's endpoints over the loopback of the
// namespace it runs in: its connections are made from inside it.
type Scraper struct {
	client *http.Client
	base   string // http://host:port
}

// NewScraper returns a scraper of addr (host:port) in namespace ns. It
// never asks for compression unless a request says so.
func NewScraper(ns, addr string) *Scraper {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			var c net.Conn
			err := InNetns(ns, func() (err error) {
				c, err = (&net.Dialer{}).DialContext(ctx, network, a)
				return err
			})
			return c, err
		},
		DisableCompression: true,
	}
	return &Scraper{client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, base: "http://" + addr}
}

// Fetch is one timed request.
type Fetch struct {
	Body     []byte
	Start    time.Time     // when the request was sent
	Duration time.Duration // from sending the request to the body's last byte
}

// Get fetches path. With gzip it asks for a gzip-compressed body, as
// Prometheus does, and returns it compressed. Metrics come in the text
// format (version 0.0.4), which Prometheus also accepts.
func (s *Scraper) Get(ctx context.Context, path string, gzip bool) (Fetch, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return Fetch{}, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return Fetch{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	d := time.Since(start)
	if err != nil {
		return Fetch{}, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Fetch{}, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return Fetch{Body: body, Start: start, Duration: d}, nil
}

// CloseIdle closes the scraper's idle keep-alive connections, so the
// server's count of connections (goroutines, descriptors) drops back.
func (s *Scraper) CloseIdle() { s.client.CloseIdleConnections() }

// Post sends an empty POST to path and returns the response's status
// code and body.
func (s *Scraper) Post(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// Timed fetches path n times in a row and returns the median duration
// and the last fetch.
func (s *Scraper) Timed(ctx context.Context, path string, gzip bool, n int) (time.Duration, Fetch, error) {
	var ds []time.Duration
	var last Fetch
	for range n {
		f, err := s.Get(ctx, path, gzip)
		if err != nil {
			return 0, Fetch{}, err
		}
		ds = append(ds, f.Duration)
		last = f
	}
	slices.Sort(ds)
	return ds[len(ds)/2], last, nil
}

// InNetns runs fn on an OS thread switched into namespace ns; sockets fn
// opens belong to ns and work from any thread afterwards. The thread is
// switched back before it is released; if that fails the goroutine ends
// with the thread still locked, and the runtime discards the thread.
func InNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns back from %s: %w", ns, err)
			return // thread stays locked: discarded
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
