package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// startService runs a program inside namespace ns until the test ends.
func startService(t *testing.T, ns, name string, args ...string) {
	t.Helper()
	var log strings.Builder
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s log (last 4000 bytes):\n%s", name, tail(log.String(), 4000))
		}
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// waitReady polls url through client until it answers 200.
func waitReady(t *testing.T, client *http.Client, what, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready at %s: %v", what, url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// amAlert is one alert of an Alertmanager webhook notification.
type amAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// webhook collects the alerts Alertmanager posts to it.
type webhook struct {
	mu     sync.Mutex
	alerts []amAlert
}

// startWebhook serves the webhook on a loopback port inside ns and returns
// its URL.
func startWebhook(t *testing.T, ns string) (*webhook, string) {
	t.Helper()
	ln, err := listen(ns, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &webhook{}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var msg struct {
			Alerts []amAlert `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			http.Error(rw, err.Error(), 400)
			return
		}
		w.mu.Lock()
		w.alerts = append(w.alerts, msg.Alerts...)
		w.mu.Unlock()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return w, "http://" + ln.Addr().String() + "/hook"
}

func (w *webhook) received() []amAlert {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]amAlert(nil), w.alerts...)
}

// promClient queries the Prometheus HTTP API.
type promClient struct {
	base   string
	client *http.Client
}

// promResult is the data of a query answer.
type promResult struct {
	ResultType string            `json:"resultType"`
	Result     []json.RawMessage `json:"result"`
}

// String prints the result's series as JSON text.
func (r promResult) String() string {
	parts := make([]string, len(r.Result))
	for i, x := range r.Result {
		parts[i] = string(x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (p *promClient) get(path string, params url.Values, into any) error {
	resp, err := p.client.Get(p.base + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: %v: %s", path, err, body)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s", path, env.Error)
	}
	return json.Unmarshal(env.Data, into)
}

// query runs an instant query now.
func (p *promClient) query(expr string) (promResult, error) {
	var r promResult
	err := p.get("/api/v1/query", url.Values{"query": {expr}}, &r)
	return r, err
}

// queryRange runs a range query from start to now.
func (p *promClient) queryRange(expr string, start time.Time, step time.Duration) (promResult, error) {
	var r promResult
	err := p.get("/api/v1/query_range", url.Values{
		"query": {expr},
		"start": {fmt.Sprint(start.Unix())},
		// To the millisecond: a whole-second end could fall before the
		// latest sample and miss a change that just happened.
		"end":  {fmt.Sprintf("%.3f", float64(time.Now().UnixMilli())/1000)},
		"step": {step.String()},
	}, &r)
	return r, err
}

// activeAlerts returns the names and states of Prometheus's pending and
// firing alerts.
func (p *promClient) activeAlerts() ([]string, error) {
	var r struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.get("/api/v1/alerts", nil, &r); err != nil {
		return nil, err
	}
	var out []string
	for _, a := range r.Alerts {
		out = append(out, a.Labels["alertname"]+"{target="+a.Labels["target"]+"} "+a.State)
	}
	return out, nil
}
