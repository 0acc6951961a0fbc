package sources

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func hosts(items []Item) string {
	var h []string
	for _, it := range items {
		h = append(h, it.Host)
	}
	return strings.Join(h, " ")
}

func TestReadFilesGlobsAndFormats(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b.json"), `[{"targets": ["198.18.7.3"]}]`)
	write(t, filepath.Join(dir, "a.json"), `[{"targets": ["198.18.7.2"], "labels": {"f": "a"}}]`)
	write(t, filepath.Join(dir, "c.yml"), "- targets: ['198.18.7.4:80']\n")
	write(t, filepath.Join(dir, "ignored.txt"), "not read")
	items, err := ReadFiles([]string{filepath.Join(dir, "c.yml"), filepath.Join(dir, "*.json"), filepath.Join(dir, "*.yml"), filepath.Join(dir, "none-*.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{Host: "198.18.7.4", Port: 80}, {Host: "198.18.7.2", Labels: map[string]string{"f": "a"}}, {Host: "198.18.7.3"}}
	if !reflect.DeepEqual(items, want) {
		t.Fatalf("items %+v, want %+v (pattern order, then names; each file once)", items, want)
	}
	write(t, filepath.Join(dir, "b.json"), `[{"targets": ["198.18.7.3"]}`)
	if _, err := ReadFiles([]string{filepath.Join(dir, "*.json")}); err == nil || !strings.Contains(err.Error(), "b.json") {
		t.Fatalf("a truncated file: error %v, want one naming b.json", err)
	}
}

// TestFileSDWatches: a change to a watched file is read without waiting
// for the refresh interval (which the test never ticks), and a bad file
// reports an error.
func TestFileSDWatches(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.json")
	write(t, path, `[{"targets": ["198.18.7.2"]}]`)
	tick := make(chan time.Time)
	f := &FileSD{Config: config.FileSD{Files: []string{filepath.Join(dir, "*.json")}, RefreshInterval: time.Hour}, Logger: log.NewNopLogger(),
		tick:  func(time.Duration) (<-chan time.Time, func()) { return tick, func() {} },
		after: func(time.Duration) <-chan time.Time { return time.After(0) }}
	type rep struct {
		items []Item
		err   error
	}
	reports := make(chan rep, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx, func(i []Item, err error) { reports <- rep{i, err} }); close(done) }()
	defer func() { cancel(); <-done }()
	next := func() rep {
		t.Helper()
		select {
		case r := <-reports:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no report")
		}
		return rep{}
	}
	if r := next(); r.err != nil || hosts(r.items) != "198.18.7.2" {
		t.Fatalf("first read %+v", r)
	}
	write(t, path, `[{"targets": ["198.18.7.2", "198.18.7.3"]}]`)
	if r := next(); r.err != nil || hosts(r.items) != "198.18.7.2 198.18.7.3" {
		t.Fatalf("after a change %+v", r)
	}
	write(t, filepath.Join(dir, "u.json"), `[{"targets": ["198.18.7.9"]}]`)
	if r := next(); r.err != nil || hosts(r.items) != "198.18.7.2 198.18.7.3 198.18.7.9" {
		t.Fatalf("after a new file %+v", r)
	}
	write(t, path, `{"targets": []}`)
	if r := next(); r.err == nil {
		t.Fatalf("a bad file reported %+v, want an error", r)
	}
	os.Remove(path)
	if r := next(); r.err != nil || hosts(r.items) != "198.18.7.9" {
		t.Fatalf("after removing a file %+v", r)
	}
	// The refresh interval re-reads without a notification.
	tick <- time.Now()
	if r := next(); r.err != nil || hosts(r.items) != "198.18.7.9" {
		t.Fatalf("on tick %+v", r)
	}
}
