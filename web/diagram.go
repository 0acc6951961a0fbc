package web

import (
	"fmt"
	"strings"
)

// This file lays out a diagram: sections stacked from top to bottom, each
// with one or more lanes side by side (a lane is one path, so per-flow
// branches can share a section), each lane a sequence of boxes drawn left
// to right and wrapped into rows. The result holds absolute coordinates
// only; diagram.svg draws it.

// box is a node before layout: a heading, text lines and a tooltip.
type box struct {
	Level level
	Head  string   // first line, bold
	Lines []string // further lines, blank allowed
	Tip   string   // full text of everything, for the tooltip
	TTL   int      // 0 for the source and end boxes
	Addr  string
}

// lane is one path: its boxes in order.
type lane []box

// section is a titled group of lanes drawn side by side.
type section struct {
	Title string
	Lanes []lane
}

// spec describes a diagram before layout.
type spec struct {
	Title    string // heading, also the accessible label
	Link     string // URL the heading links to; none when empty
	Sections []section
	Legend   []level
}

// Layout constants, in pixels. Text is monospace, so its width is known.
const (
	nodeW      = 200
	gapX       = 28
	gapY       = 30
	margin     = 16
	lineH      = 14
	padX       = 8
	charW      = 6.7 // width of an 11px monospace character
	titleCharW = 8.5 // a generous width of a 14px sans-serif character
	maxCols    = 5   // columns of boxes across all lanes of a section
	laneGap    = 40
	minWidth   = 560
	iconR      = 8
)

// line is a positioned text line; Full is the untruncated text when it
// was truncated (drawn as a <title> tooltip).
type line struct {
	X, Y  int
	Text  string
	Full  string
	Bold  bool
	Muted bool
}

// node is a positioned box.
type node struct {
	style
	X, Y, W, H   int
	IconX, IconY int
	Lines        []line
	Tip          string
	TTL          int
	Addr         string
	Kind         string // "source", "hop" or "end"
}

// edge is a connector: a polyline and its arrowhead.
type edge struct{ Line, Arrow string }

// legendItem is one positioned legend entry.
type legendItem struct {
	style
	X, Y, TextX, TextY, IconX, IconY int
}

// diagram is a laid-out spec.
type diagram struct {
	Width, Height int
	Label         string
	Link          string
	Title         line
	Texts         []line
	Nodes         []node
	Edges         []edge
	Legend        []legendItem
}

// fit truncates s to what fits in width pixels at w pixels a character.
func fit(s string, width int, w float64) (string, string) {
	t, cut := truncate(clean(s), int(float64(width)/w))
	if cut {
		return t, clean(s)
	}
	return t, ""
}

// layout positions s.
func layout(s spec) diagram {
	d := diagram{Label: clean(s.Title), Link: s.Link}
	lines := 1
	content := 0
	for _, sec := range s.Sections {
		w := 0
		for i, ln := range sec.Lanes {
			for _, b := range ln {
				lines = max(lines, 1+len(b.Lines))
			}
			if i > 0 {
				w += laneGap
			}
			w += laneWidth(len(ln), colsPer(len(sec.Lanes)))
		}
		content = max(content, w)
	}
	d.Width = max(minWidth, content+2*margin)
	h := 10 + lines*lineH
	y := margin
	text, full := fit(s.Title, d.Width-2*margin, titleCharW)
	d.Title = line{X: margin, Y: y + 14, Text: text, Full: full, Bold: true}
	y += 30
	for _, sec := range s.Sections {
		if sec.Title != "" {
			text, full := fit(sec.Title, d.Width-2*margin, charW)
			d.Texts = append(d.Texts, line{X: margin, Y: y + 11, Text: text, Full: full, Bold: true})
			y += 20
		}
		x, bottom := margin, y
		for _, ln := range sec.Lanes {
			cols := min(colsPer(len(sec.Lanes)), max(1, len(ln)))
			bottom = max(bottom, d.placeLane(ln, x, y, h, cols))
			x += laneWidth(len(ln), colsPer(len(sec.Lanes))) + laneGap
		}
		y = bottom + gapY
	}
	for _, l := range s.Legend {
		d.Legend = append(d.Legend, legendItem{style: styles[l], X: margin, Y: y,
			IconX: margin + iconR, IconY: y + iconR, TextX: margin + 2*iconR + 8, TextY: y + 12})
		y += 2*iconR + 4
	}
	d.Height = y + margin
	return d
}

// colsPer is the number of columns of each of n lanes.
func colsPer(n int) int { return max(1, maxCols/max(1, n)) }

// laneWidth is the width of a lane of n boxes wrapped at cols columns.
func laneWidth(n, cols int) int {
	c := min(cols, max(1, n))
	return c*nodeW + (c-1)*gapX
}

// placeLane positions the boxes of ln from (x, y) in rows of cols boxes
// of height h, with their connectors, and returns the lane's bottom.
func (d *diagram) placeLane(ln lane, x, y, h, cols int) int {
	bottom := y
	for i, b := range ln {
		nx, ny := x+i%cols*(nodeW+gapX), y+i/cols*(h+gapY)
		d.Nodes = append(d.Nodes, newNode(b, nx, ny, h))
		bottom = ny + h
		if i == 0 {
			continue
		}
		px, py := x+(i-1)%cols*(nodeW+gapX), y+(i-1)/cols*(h+gapY)
		if py == ny {
			my := ny + h/2
			d.Edges = append(d.Edges, edge{
				Line:  points(px+nodeW, my, nx-7, my),
				Arrow: points(nx, my, nx-7, my-4, nx-7, my+4),
			})
			continue
		}
		cx, mid := nx+nodeW/2, py+h+gapY/2
		d.Edges = append(d.Edges, edge{
			Line:  points(px+nodeW/2, py+h, px+nodeW/2, mid, cx, mid, cx, ny-7),
			Arrow: points(cx, ny, cx-4, ny-7, cx+4, ny-7),
		})
	}
	return bottom
}

// newNode positions b at (x, y).
func newNode(b box, x, y, h int) node {
	n := node{style: styles[b.Level], X: x, Y: y, W: nodeW, H: h, Tip: clean(b.Tip),
		TTL: b.TTL, Addr: clean(b.Addr), Kind: "hop",
		IconX: x + nodeW - padX - iconR, IconY: y + 5 + iconR}
	switch {
	case b.Level == levelSource:
		n.Kind = "source"
	case b.TTL == 0:
		n.Kind = "end"
	}
	text, full := fit(b.Head, nodeW-2*padX-2*iconR-4, charW)
	n.Lines = append(n.Lines, line{X: x + padX, Y: y + 18, Text: text, Full: full, Bold: true})
	for i, l := range b.Lines {
		text, full := fit(l, nodeW-2*padX, charW)
		n.Lines = append(n.Lines, line{X: x + padX, Y: y + 18 + (i+1)*lineH, Text: text, Full: full, Muted: i > 0})
	}
	return n
}

// points formats coordinate pairs for a points attribute.
func points(xy ...int) string {
	var b strings.Builder
	for i := 0; i+1 < len(xy); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d,%d", xy[i], xy[i+1])
	}
	return b.String()
}
