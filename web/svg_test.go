package web

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// render draws s as a standalone document.
func render(t testing.TB, s spec) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writeSVG(&b, s, true); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// element is a parsed XML element: its name, attributes, text and
// children.
type element struct {
	Name     string
	Attr     map[string]string
	Text     string
	Children []*element
}

// parseXML parses doc strictly and returns its root element.
func parseXML(t testing.TB, doc []byte) *element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*element
	var root *element
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &element{Name: tok.Name.Local, Attr: map[string]string{}}
			for _, a := range tok.Attr {
				e.Attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, e)
			} else if root == nil {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tok)
			}
		}
	}
	if root == nil || root.Name != "svg" {
		t.Fatalf("root element is not svg:\n%s", doc)
	}
	return root
}

// walk calls f on e and every descendant.
func walk(e *element, f func(*element)) {
	f(e)
	for _, c := range e.Children {
		walk(c, f)
	}
}

// atoi parses an attribute as an integer.
func atoi(t testing.TB, e *element, name string) int {
	t.Helper()
	n, err := strconv.Atoi(e.Attr[name])
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", e.Name, name, e.Attr[name], err)
	}
	return n
}

// TestGolden compares the SVG of fixed snapshots with testdata/*.svg.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		spec   spec
	}{
		{"path-1.svg", pathSpec(target("one-hop", hops(1)), "")},
		{"path-5.svg", pathSpec(target("five-hops", fiveHops()), "https://example.net/tr/targets/five-hops")},
		{"path-30.svg", pathSpec(target("thirty", hops(30)), "")},
		{"path-64.svg", pathSpec(target("big", hops(64)), "")},
		{"path-4-flows.svg", pathSpec(fourFlows(), "")},
		{"path-unreached.svg", pathSpec(unreached(), "")},
		{"path-pending.svg", pathSpec(api.Target{Name: "a/b c", Address: "192.0.2.77"}, "")},
		{"change.svg", changeSpec(change(), "https://example.net/tr/targets/cloudflare-dns#change-2")},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			got := render(t, tc.spec)
			parseXML(t, got)
			file := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			parseXML(t, want)
			if !bytes.Equal(got, want) {
				t.Errorf("SVG differs from %s (run with -update if intended):\n%s", file, got)
			}
		})
	}
}

// TestScales checks that paths of 1 to 64 hops fit a bounded width,
// every node within the canvas, and that every hop is drawn once with
// its address.
func TestScales(t *testing.T) {
	for _, n := range []int{1, 5, 30, 64} {
		t.Run(fmt.Sprintf("%d hops", n), func(t *testing.T) {
			tg := target("t", hops(n))
			root := parseXML(t, render(t, pathSpec(tg, "")))
			w, h := atoi(t, root, "width"), atoi(t, root, "height")
			if w > 1200 || w < minWidth {
				t.Errorf("width %d, want %d to 1200", w, minWidth)
			}
			if root.Attr["viewBox"] != fmt.Sprintf("0 0 %d %d", w, h) {
				t.Errorf("viewBox %q for %dx%d", root.Attr["viewBox"], w, h)
			}
			seen := map[string]int{}
			walk(root, func(e *element) {
				if e.Name == "g" && strings.HasPrefix(e.Attr["class"], "hop ") {
					seen[e.Attr["data-ttl"]+" "+e.Attr["data-addr"]]++
				}
				if e.Name == "rect" && e.Attr["x"] != "" {
					if x := atoi(t, e, "x") + atoi(t, e, "width"); x > w {
						t.Errorf("rect reaches x=%d beyond width %d", x, w)
					}
					if y := atoi(t, e, "y") + atoi(t, e, "height"); y > h {
						t.Errorf("rect reaches y=%d beyond height %d", y, h)
					}
				}
			})
			for _, hop := range tg.Path {
				if k := fmt.Sprintf("%d %s", hop.TTL, hop.Address); seen[k] != 1 {
					t.Errorf("hop %q drawn %d times", k, seen[k])
				}
			}
			if len(seen) != n {
				t.Errorf("%d hop nodes, want %d", len(seen), n)
			}
		})
	}
}

// TestLanes checks that the renderer draws several paths side by side.
func TestLanes(t *testing.T) {
	a, b := currentLane(target("t", hops(4))), currentLane(target("t", hops(6)))
	d := layout(spec{Title: "two flows", Sections: []section{{Lanes: []lane{a, b}}}})
	if len(d.Nodes) != len(a)+len(b) {
		t.Fatalf("%d nodes, want %d", len(d.Nodes), len(a)+len(b))
	}
	second := d.Nodes[len(a)]
	if second.Y != d.Nodes[0].Y || second.X <= d.Nodes[len(a)-1].X {
		t.Errorf("second lane starts at (%d,%d), want right of the first, same row", second.X, second.Y)
	}
}

// TestEscaping checks that hostile names are escaped and that text XML
// cannot carry is replaced, keeping the document well-formed.
func TestEscaping(t *testing.T) {
	tg := target(`t"><script>`, fiveHops())
	tg.Path[1].Name = evilName + "\x01\xff"
	tg.Path[1].MPLS = `</text><script>`
	doc := render(t, pathSpec(tg, `https://example.net/?a=1&b="2"`))
	if bytes.Contains(doc, []byte("<script")) {
		t.Errorf("unescaped <script in:\n%s", doc)
	}
	var tips []string
	walk(parseXML(t, doc), func(e *element) {
		if e.Name == "title" {
			tips = append(tips, e.Text)
		}
	})
	if all := strings.Join(tips, "\n"); !strings.Contains(all, evilName+"\uFFFD\uFFFD") {
		t.Errorf("tooltips lack the full name %q:\n%s", evilName, all)
	}
}

// TestTruncation checks that a long name is cut with an ellipsis and
// kept whole in the text's tooltip.
func TestTruncation(t *testing.T) {
	long := strings.Repeat("very-long-label.", 6) + "example.net"
	tg := target("t", hops(2))
	tg.Path[0].Name = long
	found := false
	walk(parseXML(t, render(t, pathSpec(tg, ""))), func(e *element) {
		if e.Name == "text" && len(e.Children) == 1 && e.Children[0].Text == long {
			found = strings.HasSuffix(e.Text, "…") && len([]rune(e.Text)) < len(long)
		}
	})
	if !found {
		t.Errorf("no truncated text with a tooltip holding %q", long)
	}
}

// FuzzPathSVG checks that any name, MPLS text and address render as
// well-formed XML.
func FuzzPathSVG(f *testing.F) {
	f.Add(evilName, "label=16 s=1", "192.0.2.1")
	f.Add("\x00\x01\xfe\xff]]>", "&amp;", "")
	f.Fuzz(func(t *testing.T, name, mpls, address string) {
		tg := target(name, hops(3))
		tg.Path[0].Name, tg.Path[1].MPLS, tg.Path[2].Address = name, mpls, address
		parseXML(t, render(t, pathSpec(tg, "")))
	})
}

// fourFlows is a target traced by 4 flows through an equal-cost split
// after hop 2: flows 0 and 2 take one branch, 1 and 3 the other.
func fourFlows() api.Target {
	a, b := hops(4), hops(4)
	b[2].Address = "198.18.52.2" // the other branch at TTL 3
	t := target("four-flows", a)
	t.Flows, t.PathFlows = [][]api.Hop{a, b, a, b}, 2
	return t
}

// TestFlowsSideBySide: each flow is a lane, the branches' addresses all
// drawn.
func TestFlowsSideBySide(t *testing.T) {
	out := string(render(t, pathSpec(fourFlows(), "")))
	if n := strings.Count(out, `data-ttl="3"`); n != 4 {
		t.Fatalf("%d nodes for TTL 3, want one per flow (4)", n)
	}
	if !strings.Contains(out, `data-addr="198.18.52.2"`) || !strings.Contains(out, `data-addr="`+hops(4)[2].Address+`"`) {
		t.Fatal("the two branches' addresses at TTL 3 are not both drawn")
	}
}
