package web

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// dash stands for an unknown value.
const dash = "–"

// finite tells whether f is neither NaN nor infinite.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// msNumber formats seconds as milliseconds without the unit, with about
// three significant digits; dash when unknown.
func msNumber(sec float64) string {
	if !finite(sec) || sec < 0 {
		return dash
	}
	ms := sec * 1000
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f", ms)
	}
	return fmt.Sprintf("%.0f", ms)
}

// ms formats seconds as milliseconds with the unit; dash when unknown.
func ms(sec float64) string {
	if s := msNumber(sec); s != dash {
		return s + " ms"
	}
	return dash
}

// msPtr is ms of *p; dash for nil.
func msPtr(p *float64) string {
	if p == nil {
		return dash
	}
	return ms(*p)
}

// pct formats a ratio from 0 to 1 as a percentage; a fraction of a
// percent keeps one decimal so that it never reads as 0% or 100%.
func pct(r float64) string {
	if !finite(r) || r < 0 {
		return dash
	}
	p := r * 100
	if (p > 0 && p < 1) || (p > 99 && p < 100) {
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

// pctPtr is pct of *p; dash for nil.
func pctPtr(p *float64) string {
	if p == nil {
		return dash
	}
	return pct(*p)
}

// stamp formats t for people, in UTC.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// iso formats t for a <time datetime> attribute.
func iso(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ago says how long before now t was, coarsely.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm ago", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// clean makes s safe for XML 1.0 text: invalid UTF-8 and control
// characters other than tab and newline (which no escaping can carry)
// become U+FFFD.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if (unicode.IsControl(r) && r != '\n' && r != '\t') || r == 0xFFFE || r == 0xFFFF {
			return '\uFFFD'
		}
		return r
	}, s)
}

// truncate shortens s to at most n runes, the last one an ellipsis, and
// tells whether it did.
func truncate(s string, n int) (string, bool) {
	if n < 1 {
		n = 1
	}
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	r := []rune(s)
	return string(r[:n-1]) + "…", true
}
