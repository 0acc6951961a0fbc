package sources

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// fileSettle is how long file_sd waits after a change notification for
// more before it reads the files, so one save is read once.
const fileSettle = 200 * time.Millisecond

// FileSD reads target groups from files in Prometheus's file_sd format:
// .json files hold a JSON list, .yml and .yaml files a YAML list. It
// reads them at start, after every change fsnotify reports in their
// directories, and every refresh interval. A file that cannot be read or
// parsed fails the whole refresh.
type FileSD struct {
	Config config.FileSD
	Logger log.Logger
	// tick and after are the refresh ticker and the settle timer (tests
	// replace them).
	tick  ticker
	after func(time.Duration) <-chan time.Time
}

// Run implements Source.
func (f *FileSD) Run(ctx context.Context, report func([]Item, error)) {
	if f.tick == nil {
		f.tick = realTicker
	}
	if f.after == nil {
		f.after = time.After
	}
	var events <-chan fsnotify.Event
	var werrs <-chan error
	if w, err := fsnotify.NewWatcher(); err != nil {
		level.Warn(f.Logger).Log("msg", "Cannot watch target files; they are read every refresh_interval only", "err", err)
	} else {
		defer w.Close()
		dirs := map[string]bool{}
		for _, p := range f.Config.Files {
			dirs[filepath.Dir(p)] = true
		}
		for d := range dirs {
			if err := w.Add(d); err != nil {
				level.Warn(f.Logger).Log("msg", "Cannot watch a directory of target files; it is read every refresh_interval only", "dir", d, "err", err)
			}
		}
		events, werrs = w.Events, w.Errors
	}
	tick, stop := f.tick(f.Config.RefreshInterval)
	defer stop()
	read := func() {
		items, err := ReadFiles(f.Config.Files)
		report(items, err)
	}
	read()
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			if f.matches(ev.Name) && settle == nil {
				settle = f.after(fileSettle)
			}
		case err := <-werrs:
			level.Warn(f.Logger).Log("msg", "Watching target files", "err", err)
		case <-settle:
			settle = nil
			read()
		case <-tick:
			read()
		}
	}
}

// matches reports whether a changed path is one of the configured files.
func (f *FileSD) matches(path string) bool {
	for _, p := range f.Config.Files {
		if ok, _ := filepath.Match(p, path); ok {
			return true
		}
	}
	return false
}

// ReadFiles reads every file the patterns match, in pattern order and
// then name order, and returns their targets.
func ReadFiles(patterns []string) ([]Item, error) {
	var out []Item
	seen := map[string]bool{}
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		sort.Strings(files)
		for _, name := range files {
			if seen[name] {
				continue
			}
			seen[name] = true
			items, err := readFile(name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out = append(out, items...)
		}
	}
	return out, nil
}

func readFile(name string) ([]Item, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var gs []Group
	if strings.HasSuffix(name, ".json") {
		gs, err = ParseJSON(b)
	} else {
		gs, err = ParseYAML(b)
	}
	if err != nil {
		return nil, err
	}
	return Items(gs)
}
