package web

import (
	"math"
	"regexp"
	"strconv"
	"testing"
)

// luminance is the WCAG 2 relative luminance of "#rrggbb".
func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	if !regexp.MustCompile(`^#[0-9a-f]{6}$`).MatchString(hex) {
		t.Fatalf("colour %q is not #rrggbb", hex)
	}
	var l float64
	for i, weight := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += weight * c
	}
	return l
}

// contrast is the WCAG 2 contrast ratio of two colours.
func contrast(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// TestContrast checks every text colour on every fill it is drawn on
// (4.5:1, WCAG AA for normal text) and every meaningful border and
// connector against the background (3:1, WCAG non-text contrast).
func TestContrast(t *testing.T) {
	pairs := textPairs()
	if len(pairs) < 3*len(styles)+len(badgeColors) {
		t.Fatalf("only %d pairs", len(pairs))
	}
	for _, p := range pairs {
		if c := contrast(t, p[0], p[1]); c < 4.5 {
			t.Errorf("text %s on %s: contrast %.2f, want at least 4.5", p[0], p[1], c)
		}
	}
	borders := []string{colorEdge}
	for _, s := range styles {
		borders = append(borders, s.Stroke)
	}
	for _, b := range borders {
		if c := contrast(t, b, colorPage); c < 3 {
			t.Errorf("border %s on %s: contrast %.2f, want at least 3", b, colorPage, c)
		}
	}
}

// TestStylesDistinct checks that no two levels look alike without
// colour: each has its own icon.
func TestStylesDistinct(t *testing.T) {
	icons := map[string]level{}
	for l, s := range styles {
		if s.Icon == "" || s.Legend == "" || s.Class == "" {
			t.Errorf("level %d lacks an icon, legend or class: %+v", l, s)
		}
		if o, dup := icons[s.Icon]; dup {
			t.Errorf("levels %d and %d share the icon %q", o, l, s.Icon)
		}
		icons[s.Icon] = level(l)
	}
}

// TestContrastFormula checks the formula on known values.
func TestContrastFormula(t *testing.T) {
	if c := contrast(t, "#000000", "#ffffff"); math.Abs(c-21) > 1e-9 {
		t.Errorf("black on white: %v, want 21", c)
	}
	if c := contrast(t, "#777777", "#ffffff"); math.Abs(c-4.48) > 0.01 {
		t.Errorf("#777 on white: %v, want 4.48", c)
	}
}
