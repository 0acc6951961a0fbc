package collector

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The text path writes the exposition (text format 0.0.4) straight from
// the cached entries, byte for byte as the registry and expfmt would:
// families sorted by name, the series of each sorted by their label
// values in label-name order, values formatted as expfmt does. Only the
// values are formatted per scrape; labels come pre-rendered and orders
// sorted from the cache. TestTextMatchesRegistry holds it to that.

// ErrNoTextPath is returned by WriteText when the static label names
// cannot be written as the registry would (they are not legacy names, or
// reuse an exporter label): the caller serves through the registry.
var ErrNoTextPath = errors.New("static label names need the registry path")

// textFamily is one of the collector's families in exposition order: a
// per-target family (families[fam]) or one of the exporter's own
// (selfFamilies[self]).
type textFamily struct {
	name, header string // header: the # HELP and # TYPE lines
	fam, self    int    // -1 for the other kind
}

var textFamilies = func() []textFamily {
	var tf []textFamily
	header := func(name, help, typ string) string {
		return "# HELP " + name + " " + helpEscaper.Replace(help) + "\n# TYPE " + name + " " + typ + "\n"
	}
	for i, f := range families {
		name := namespace + "_" + f.name
		tf = append(tf, textFamily{name: name, header: header(name, f.help, typeName(f.typ == counter)), fam: i, self: -1})
	}
	for i, f := range selfFamilies {
		name := namespace + "_exporter_" + f.name
		tf = append(tf, textFamily{name: name, header: header(name, f.help, typeName(f.typ == counter)), fam: -1, self: i})
	}
	slices.SortFunc(tf, func(a, b textFamily) int { return strings.Compare(a.name, b.name) })
	return tf
}()

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func typeName(isCounter bool) string {
	if isCounter {
		return "counter"
	}
	return "gauge"
}

// WriteText writes the collector's metrics in the text exposition format,
// exactly as a registry holding only this collector would expose them.
func (c *Collector) WriteText(w io.Writer) error {
	return c.writeText(w, nil, expfmt.NewFormat(expfmt.TypeTextPlain))
}

// writeText writes the collector's families merged by name with others
// (sorted by name, as a Gatherer returns them; encoded as format).
func (c *Collector) writeText(w io.Writer, others []*dto.MetricFamily, format expfmt.Format) error {
	targets := c.src.Targets()
	v := c.cache.update(targets, true)
	if !v.lay.text {
		return ErrNoTextPath
	}
	sv := c.selfValues(len(targets))
	t := &textWriter{w: w, buf: make([]byte, 0, flushAt+4<<10)}
	enc := expfmt.NewEncoder(t, format)
	var errs []error
	for _, tf := range textFamilies {
		for ; len(others) > 0 && others[0].GetName() <= tf.name; others = others[1:] {
			if others[0].GetName() == tf.name {
				errs = append(errs, fmt.Errorf("metric family %s is also the collector's; dropped", tf.name))
				continue
			}
			errs = append(errs, enc.Encode(others[0]))
		}
		if tf.fam >= 0 {
			f := &families[tf.fam]
			t.family(f, tf.name, tf.header, &v.lay.group[f.group], &v)
		} else {
			t.self(&selfFamilies[tf.self], tf.name, tf.header, &sv)
		}
		if t.err != nil {
			return t.err
		}
	}
	for _, mf := range others {
		errs = append(errs, enc.Encode(mf))
	}
	t.flush()
	return errors.Join(append(errs, t.err)...)
}

// flushAt is the size at which the text writer passes its buffer on.
const flushAt = 64 << 10

// textWriter buffers the exposition; after a write error it drops the
// rest.
type textWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func (t *textWriter) flush() {
	if t.err == nil && len(t.buf) > 0 {
		_, t.err = t.w.Write(t.buf)
	}
	t.buf = t.buf[:0]
}

// Write lets expfmt encode other families into the same buffer.
func (t *textWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) >= flushAt {
		t.flush()
	}
	return len(p), t.err
}

// family writes the series of f in the order of its group.
func (t *textWriter) family(f *family, name, header string, lay *layout, v *view) {
	started := false
	for _, r := range v.order[f.group] {
		if int(r.e) >= len(v.entries) || int(r.i) >= v.entries[r.e].count(f.group) {
			continue // cannot happen: orders are kept in step with entries
		}
		e := v.entries[r.e]
		val, ok := f.value(e, int(r.i))
		if !ok {
			continue
		}
		b := t.buf
		if !started {
			b, started = append(b, header...), true
		}
		b = append(b, name...)
		b = lay.appendLabels(b, e, int(r.i))
		b = append(b, ' ')
		b = appendFloat(b, val)
		t.buf = append(b, '\n')
		if len(t.buf) >= flushAt {
			if t.flush(); t.err != nil {
				return
			}
		}
	}
}

// appendLabels appends {name="value",...} of series i of e.
func (lay *layout) appendLabels(b []byte, e *entry, i int) []byte {
	sep := byte('{')
	for _, s := range lay.segs {
		b = append(b, sep)
		sep = ','
		if s.to > s.from {
			b = append(b, e.tj[e.toff[s.from]:e.toff[s.to]-1]...)
			continue
		}
		b = append(b, slabelNames[s.s]...)
		b = append(b, `="`...)
		b = e.appendLabel(b, s.s, i, true)
		b = append(b, '"')
	}
	return append(b, '}')
}

// self writes one of the exporter's own families.
func (t *textWriter) self(f *selfFamily, name, header string, sv *selfValues) {
	val, label, ok := f.value(sv)
	if !ok || !utf8.ValidString(label) {
		return
	}
	b := append(append(t.buf, header...), name...)
	if f.label != "" {
		b = append(append(append(b, '{'), f.label...), `="`...)
		b = append(appendEscaped(b, label), `"}`...)
	}
	b = appendFloat(append(b, ' '), val)
	t.buf = append(b, '\n')
}

// appendEscaped appends a label value escaped as the text format wants:
// backslash, double quote and line feed.
func appendEscaped(b []byte, v string) []byte {
	if !strings.ContainsAny(v, "\\\"\n") {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat formats v as expfmt does.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(b, '1')
	case v == 0:
		return append(b, '0')
	case v == -1:
		return append(b, "-1"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
