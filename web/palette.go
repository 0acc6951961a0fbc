package web

import (
	"fmt"
	"html/template"
	"strings"
)

// The colours of the pages and diagrams. Every pair of a text colour and
// the fill it is drawn on is listed by textPairs, and palette_test.go
// checks that each has a WCAG 2 contrast ratio of at least 4.5:1; every
// border (a shape that carries meaning) at least 3:1 against the page.
const (
	colorPage   = "#ffffff" // page and diagram background
	colorText   = "#1f2328" // body text, node text
	colorMuted  = "#4b535d" // secondary text
	colorLink   = "#0550ae" // links
	colorEdge   = "#59636e" // connectors between nodes
	colorOnMark = "#ffffff" // icon text on its coloured disc
	colorRule   = "#d1d9e0" // table rules (decoration only)
	colorHead   = "#f6f8fa" // table header fill
)

// level classifies a node of a diagram; it picks the node's style.
type level int

// The levels, in the order of the legend.
const (
	levelSource  level = iota // the exporter itself
	levelOK                   // answered, little loss, low RTT
	levelWarn                 // response loss or a high RTT
	levelBad                  // forward loss or a very high RTT; destination not reached
	levelSilent               // no reply
	levelSame                 // recorded hop whose responder did not change
	levelChanged              // recorded hop whose responder changed
	levelPending              // not traced yet
)

// Thresholds of the levels of a hop with statistics.
const (
	warnLoss    = 0.05 // response loss
	warnForward = 0.01 // forward loss
	badForward  = 0.05 // forward loss
	warnRTT     = 0.100
	badRTT      = 0.300
)

// style is how a level is drawn: its disc icon and colours, the border
// dash and width (shape carries the meaning too), and its legend entry.
type style struct {
	Class       string
	Icon        string
	Fill        string
	Stroke      string
	StrokeWidth int
	Dash        bool
	Legend      string
}

// styles holds the style of every level.
var styles = [...]style{
	levelSource:  {"source", "S", "#ddf4ff", "#0969da", 1, false, "source: this exporter"},
	levelOK:      {"ok", "✓", "#dafbe1", "#1a7f37", 1, false, "ok: loss < 5%, forward loss < 1%, RTT < 100 ms"},
	levelWarn:    {"warn", "!", "#fff8c5", "#9a6700", 2, false, "warning: loss ≥ 5%, forward loss ≥ 1% or RTT ≥ 100 ms"},
	levelBad:     {"bad", "✕", "#ffebe9", "#cf222e", 3, false, "bad: forward loss ≥ 5%, RTT ≥ 300 ms, or not reached"},
	levelSilent:  {"silent", "*", "#eaeef2", "#59636e", 1, true, "silent: no reply (dashed border)"},
	levelSame:    {"same", "=", "#ffffff", "#0550ae", 1, false, "same: responder unchanged"},
	levelChanged: {"changed", "Δ", "#fbefff", "#8250df", 3, false, "changed: responder differs (thick border)"},
	levelPending: {"pending", "…", "#eaeef2", "#59636e", 1, true, "not traced yet"},
}

// badge is a status or verdict shown on a page: an icon and a word, in
// a colour, so that the colour is never the only carrier.
type badge struct {
	Class, Icon, Text string
}

// badgeColors are the text and fill colours of every badge class.
var badgeColors = map[string][2]string{
	"worse":     {"#a40e26", "#ffebe9"},
	"better":    {"#116329", "#dafbe1"},
	"neutral":   {"#424a53", "#eaeef2"},
	"reached":   {"#116329", "#dafbe1"},
	"unreached": {"#a40e26", "#ffebe9"},
	"pending":   {"#424a53", "#eaeef2"},
}

// verdictBadge is the badge of a change verdict.
func verdictBadge(v string) badge {
	switch v {
	case "worse":
		return badge{"worse", "▼", "worse"}
	case "better":
		return badge{"better", "▲", "better"}
	}
	return badge{"neutral", "●", "neutral"}
}

// textPairs lists every text colour with each fill it is drawn on.
func textPairs() [][2]string {
	pairs := [][2]string{
		{colorText, colorPage}, {colorMuted, colorPage}, {colorLink, colorPage},
		{colorText, colorHead}, {colorMuted, colorHead}, {colorLink, colorHead},
	}
	for _, s := range styles {
		pairs = append(pairs, [2]string{colorText, s.Fill}, [2]string{colorMuted, s.Fill},
			[2]string{colorOnMark, s.Stroke})
	}
	for _, c := range badgeColors {
		pairs = append(pairs, c)
	}
	return pairs
}

// stylesheet is the pages' inline CSS, built from the palette.
var stylesheet = func() template.CSS {
	var b strings.Builder
	fmt.Fprintf(&b, `body{font-family:system-ui,sans-serif;margin:0 auto;padding:0 1rem 2rem;max-width:76rem;color:%s;background:%s;line-height:1.4}
a{color:%s}
header{display:flex;gap:1.5rem;align-items:baseline;border-bottom:1px solid %s;margin-bottom:1rem}
header strong{font-size:1.1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid %s;vertical-align:top}
th{background:%s}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:%s}
.badge{display:inline-block;padding:0 .45rem;border-radius:.7rem;font-weight:600;white-space:nowrap}
.diagram{overflow-x:auto;margin:.5rem 0}
.diagram svg{max-width:100%%;height:auto}
.change{border-top:1px solid %s;padding-top:.5rem}
.diff{font-weight:600}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{color:%s}
dd{margin:0}
code{font-family:ui-monospace,monospace}
`, colorText, colorPage, colorLink, colorRule, colorRule, colorHead, colorMuted, colorRule, colorMuted)
	for _, class := range []string{"worse", "better", "neutral", "reached", "unreached", "pending"} {
		c := badgeColors[class]
		fmt.Fprintf(&b, ".badge.%s{color:%s;background:%s}\n", class, c[0], c[1])
	}
	return template.CSS(b.String())
}()
