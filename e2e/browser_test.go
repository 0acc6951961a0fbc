package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// The browser test opens the exporter's pages in Debian's headless
// Chromium, run inside the test network's source namespace, after a route
// switch: what a person sees must be the path the network really takes and
// the change it really made. Chromium only ever loads the exporter on the
// namespace's loopback.

// chromiumFlags keep Chromium from reaching anything but the page it is
// pointed at, and from needing a display, a GPU or a sandbox (as root).
var chromiumFlags = []string{"--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--enable-logging=stderr", "--v=0"}

// Screenshot size, the window's.
const shotW, shotH = 1280, 1600

// browser runs Chromium in namespace ns, each run with a fresh profile.
type browser struct {
	t    *testing.T
	bin  string
	ns   string
	dir  string // profiles
	runs int
	art  *artifacts
}

// run starts Chromium with args and returns its standard output. It fails
// the test if Chromium does not finish in 60s or logs a console message
// (a blocked resource, a Content-Security-Policy violation, a script
// error: the pages have no script and load nothing from elsewhere).
func (b *browser) run(what string, args ...string) []byte {
	b.t.Helper()
	b.runs++
	profile := filepath.Join(b.dir, fmt.Sprintf("profile-%d", b.runs))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	argv := append([]string{"netns", "exec", b.ns, b.bin}, chromiumFlags...)
	argv = append(argv, "--user-data-dir="+profile)
	cmd := exec.CommandContext(ctx, "ip", append(argv, args...)...)
	// Its own process group, so that a hung Chromium is ended with every
	// process it started, and nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	os.RemoveAll(profile)
	b.art.save(what+".stderr.txt", stderr.Bytes())
	if err != nil {
		b.t.Fatalf("chromium %s: %v\n%s", what, err, tail(stderr.String(), 4000))
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			b.t.Errorf("chromium %s: console message: %s", what, line)
		}
	}
	return stdout.Bytes()
}

// dom loads url and returns the document as Chromium built it.
func (b *browser) dom(name, url string) *html.Node {
	b.t.Helper()
	out := b.run(name, "--dump-dom", url)
	b.art.save(name+".html", out)
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		b.t.Fatalf("%s: the dumped DOM does not parse: %v", url, err)
	}
	return doc
}

// screenshot renders url in a shotW×shotH window and returns the PNG,
// which it keeps among the artifacts.
func (b *browser) screenshot(name, url string) []byte {
	b.t.Helper()
	path := filepath.Join(b.dir, name+".png")
	b.run(name, "--screenshot="+path, fmt.Sprintf("--window-size=%d,%d", shotW, shotH), url)
	png, err := os.ReadFile(path)
	if err != nil {
		b.t.Fatalf("%s: no screenshot: %v", url, err)
	}
	b.art.save(name+".png", png)
	return png
}

func TestBrowserPagesAfterRouteSwitch(t *testing.T) {
	requireLab(t)
	chromium := testenv.Tool(t, "chromium")
	tp := newTopo(t, false)
	warmUp(t, tp)
	src, dir := tp.name("src"), t.TempDir()
	e := startExporter(t, src, 10188, labConfig("1s", 3, "500ms"), "--asn.database="+linkASNs(t, dir))
	art := newArtifacts(t)
	b := &browser{t: t, bin: chromium, ns: src, dir: t.TempDir(), art: art}
	base := "http://" + e.addr

	waitPaths(t, e, 5, func(v6 bool, hops []string) bool {
		return slices.Equal(hops, addrs(v6, primaryLinks(v6, 3))) || slices.Equal(hops, addrs(v6, primaryLinks(v6, 5)))
	})
	tp.useAlternate()
	waitPaths(t, e, 6, func(v6 bool, hops []string) bool { return slices.Equal(hops, addrs(v6, alternateLinks(v6))) })
	for _, f := range families {
		deadline := time.Now().Add(10 * time.Second)
		for len(changeIDs(t, e, f.target)) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the route switch is not one change in the history: %v", f.target, changeIDs(t, e, f.target))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	t.Run("targets table", func(t *testing.T) {
		b.t = t
		checkIndex(t, b.dom("index", base+"/"))
	})
	for _, f := range families {
		t.Run("target page "+f.target, func(t *testing.T) {
			b.t = t
			checkTargetPage(t, b.dom("target-"+f.target, base+"/targets/"+f.target), f.target, f.v6)
		})
	}
	t.Run("screenshots", func(t *testing.T) {
		b.t = t
		for _, s := range []struct{ name, path string }{
			{"target-dst4", "/targets/dst4"},
			{"index", "/"},
			{"change-dst4", fmt.Sprintf("/targets/dst4/changes/%d.svg", changeIDs(t, e, "dst4")[0])},
		} {
			n, err := checkScreenshot(b.screenshot(s.name, base+s.path))
			if err != nil {
				t.Errorf("%s screenshot: %v", s.path, err)
			}
			t.Logf("%s screenshot: %d×%d, %d distinct colours", s.path, shotW, shotH, n)
		}
	})
}

// addrs are the addresses of links' hops.
func addrs(v6 bool, links []int) []string {
	out := make([]string, len(links))
	for i, l := range links {
		out[i] = addr(v6, l)
	}
	return out
}

// waitPaths waits until both targets report hops hops, every one of them
// answering, with the addresses ok accepts.
func waitPaths(t *testing.T, e *exporter, hops int, ok func(v6 bool, hops []string) bool) {
	t.Helper()
	e.waitFor(30*time.Second, fmt.Sprintf("both targets at %d hops, all answering, on the expected path", hops), func(m metrics) bool {
		for _, f := range families {
			v, _ := m.get("traceroute_hops", map[string]string{"target": f.target})
			ips := m.hopIPs(f.target)
			if v != float64(hops) || len(ips) != hops {
				return false
			}
			var path []string
			for h := 1; h <= hops; h++ {
				if len(ips[h]) != 1 {
					return false
				}
				path = append(path, ips[h][0])
			}
			if !ok(f.v6, path) {
				return false
			}
		}
		return true
	})
}

// changeIDs lists the IDs of target's recorded changes, from the JSON API.
func changeIDs(t *testing.T, e *exporter, target string) []uint64 {
	t.Helper()
	resp, err := e.client.Get("http://" + e.addr + "/api/v1/targets/" + target + "/changes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("changes of %s: %d %s", target, resp.StatusCode, body)
	}
	var r struct {
		Changes []struct {
			ID uint64 `json:"id"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("changes of %s: %v: %s", target, err, body)
	}
	var ids []uint64
	for _, c := range r.Changes {
		ids = append(ids, c.ID)
	}
	return ids
}

// checkIndex checks the targets table: both targets, reached, at 6 hops,
// one change judged worse, each linking to its page.
func checkIndex(t *testing.T, doc *html.Node) {
	rows := findAll(doc, func(n *html.Node) bool { return n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody" })
	var names []string
	for _, r := range rows {
		cells := findAll(r, func(n *html.Node) bool { return n.Data == "td" })
		if len(cells) != 8 {
			t.Errorf("table row with %d cells, want 8: %q", len(cells), text(r))
			continue
		}
		name := text(cells[0])
		names = append(names, name)
		if a := find(cells[0], isTag("a")); a == nil || attr(a, "href") != "/targets/"+name {
			t.Errorf("%s: no link to /targets/%s in %q", name, name, text(cells[0]))
		}
		for i, want := range map[int]string{1: "✓ reached", 2: "6", 5: "1", 7: "▼ worse"} {
			if got := text(cells[i]); got != want {
				t.Errorf("%s: column %d is %q, want %q", name, i+1, got, want)
			}
		}
		if !strings.HasSuffix(text(cells[3]), "ms") || text(cells[4]) != "0%" {
			t.Errorf("%s: destination RTT %q, loss %q; want milliseconds and 0%%", name, text(cells[3]), text(cells[4]))
		}
	}
	if want := []string{"dst4", "dst6"}; !slices.Equal(names, want) {
		t.Errorf("table lists %q, want %q", names, want)
	}
}

// checkTargetPage checks a target's page: the current path's diagram has
// one hop per TTL with the alternate path's addresses and AS numbers, and
// the history holds the one change, judged worse, its diagram and table
// marking the hops that differ.
func checkTargetPage(t *testing.T, doc *html.Node, target string, v6 bool) {
	if h := find(doc, isTag("h1")); h == nil || text(h) != target {
		t.Errorf("heading %q, want %q", text(h), target)
	}
	diagrams := findAll(doc, hasClass("div", "diagram"))
	if len(diagrams) != 2 {
		t.Fatalf("%d diagrams, want 2 (current path, the change)", len(diagrams))
	}
	lanes := diagramLanes(diagrams[0])
	if len(lanes) != 1 {
		t.Fatalf("current path diagram has %d lanes, want 1", len(lanes))
	}
	after := alternateLinks(v6)
	if got := hopAddrs(lanes[0]); !slices.Equal(got, addrs(v6, after)) {
		t.Errorf("current path diagram shows hops %q, want %q", got, addrs(v6, after))
	}
	for i, g := range lanes[0] {
		if as := fmt.Sprintf("AS%d", 64500+after[min(i, len(after)-1)]); !strings.Contains(text(g), as) {
			t.Errorf("current path hop %s: %q does not name %s", attr(g, "data-ttl"), text(g), as)
		}
	}

	changes := findAll(doc, hasClass("section", "change"))
	if len(changes) != 1 {
		t.Fatalf("%d changes in the history, want 1", len(changes))
	}
	c := changes[0]
	if h := find(c, isTag("h3")); h == nil || !strings.HasSuffix(text(h), "▼ worse") {
		t.Errorf("change heading %q, want the verdict worse", text(h))
	}
	if s := text(c); !strings.Contains(s, "Before: 5 hops") || !strings.Contains(s, "After: 6 hops") ||
		!strings.Contains(s, "differing hops (TTL): 3, 4, 5, 6") {
		t.Errorf("change text %q, want 5 hops before, 6 after, TTLs 3 to 6 differing", s)
	}
	lanes = diagramLanes(find(c, hasClass("div", "diagram")))
	if len(lanes) != 2 {
		t.Fatalf("change diagram has %d lanes, want 2 (before, after)", len(lanes))
	}
	before := hopAddrs(lanes[0])
	if !slices.Equal(before, addrs(v6, primaryLinks(v6, 3))) && !slices.Equal(before, addrs(v6, primaryLinks(v6, 5))) {
		t.Errorf("change diagram before: hops %q, want the primary path %q (or via r3b)", before, addrs(v6, primaryLinks(v6, 3)))
	}
	if got := hopAddrs(lanes[1]); !slices.Equal(got, addrs(v6, after)) {
		t.Errorf("change diagram after: hops %q, want %q", got, addrs(v6, after))
	}
	for side, lane := range lanes {
		var changed []string
		for _, g := range lane {
			if hasClass("g", "changed")(g) {
				changed = append(changed, attr(g, "data-ttl"))
			} else if !hasClass("g", "same")(g) {
				t.Errorf("change diagram side %d, TTL %s: class %q, want same or changed", side, attr(g, "data-ttl"), attr(g, "class"))
			}
		}
		want := []string{"3", "4", "5"}
		if side == 1 {
			want = append(want, "6")
		}
		if !slices.Equal(changed, want) {
			t.Errorf("change diagram side %d marks TTLs %q changed, want %q", side, changed, want)
		}
	}
	var diff []string
	for _, r := range findAll(find(c, isTag("tbody")), isTag("tr")) {
		cells := findAll(r, isTag("td"))
		if len(cells) == 4 && strings.Contains(text(cells[3]), "yes") {
			diff = append(diff, text(cells[0]))
		}
	}
	if want := []string{"3", "4", "5", "6"}; !slices.Equal(diff, want) {
		t.Errorf("diff table marks TTLs %q, want %q", diff, want)
	}
}

// diagramLanes returns the hop nodes (g.hop) of the SVG in a diagram, one
// slice per lane: each lane starts with the source's node (the legend's
// entries are not nodes).
func diagramLanes(div *html.Node) [][]*html.Node {
	var lanes [][]*html.Node
	node := func(n *html.Node) bool {
		return !hasClass("g", "legend")(n) && (hasClass("g", "source")(n) || hasClass("g", "hop")(n))
	}
	for _, g := range findAll(div, node) {
		if hasClass("g", "source")(g) {
			lanes = append(lanes, nil)
		} else if len(lanes) > 0 {
			lanes[len(lanes)-1] = append(lanes[len(lanes)-1], g)
		}
	}
	return lanes
}

// hopAddrs are the data-addr of hop nodes, which must be numbered 1..n.
func hopAddrs(hops []*html.Node) []string {
	var out []string
	for i, g := range hops {
		a := attr(g, "data-addr")
		if attr(g, "data-ttl") != strconv.Itoa(i+1) {
			a = "TTL " + attr(g, "data-ttl") + ": " + a
		}
		out = append(out, a)
	}
	return out
}

// checkScreenshot checks that b is a PNG of the window's size that is not
// blank: many distinct colours (text, coloured boxes) and a good share of
// pixels that are not background. It returns the number of colours.
func checkScreenshot(b []byte) (int, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("not a PNG: %w", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(shotW, shotH) {
		return 0, fmt.Errorf("size %v, want %dx%d", got, shotW, shotH)
	}
	colours, bg := map[[3]uint32]int{}, [3]uint32{}
	for y := 0; y < shotH; y++ {
		for x := 0; x < shotW; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			c := [3]uint32{r >> 8, g >> 8, b >> 8}
			colours[c]++
			if colours[c] > colours[bg] {
				bg = c
			}
		}
	}
	// Anti-aliased text alone gives dozens of shades; the diagrams'
	// fills and strokes add more.
	if len(colours) < 64 {
		return len(colours), fmt.Errorf("only %d distinct colours: blank or nearly", len(colours))
	}
	if fg := shotW*shotH - colours[bg]; fg < shotW*shotH/50 {
		return len(colours), fmt.Errorf("only %d pixels differ from the background %v", fg, bg)
	}
	return len(colours), nil
}
