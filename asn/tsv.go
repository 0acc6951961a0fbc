package asn

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// MaxBadLineRatio is the share of bad data lines a TSV file may have and
// still load: up to 1% of its lines may be malformed (bad address, range
// end before start, mixed families, bad AS number, overlap with an earlier
// range); they are skipped and counted in [Meta.SkippedLines]. Above that
// the file is rejected with an error naming the first bad line, because it
// is more likely the wrong file or a broken download than a few typos.
const MaxBadLineRatio = 0.01

// maxLineLen bounds one TSV line; longer lines fail the file.
const maxLineLen = 1 << 20

// LineError is a bad line of a TSV file.
type LineError struct {
	Path string
	Line int
	Err  error
}

// Error returns "path:line: reason".
func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err) }

// Unwrap returns the reason.
func (e *LineError) Unwrap() error { return e.Err }

// openTSV reads an iptoasn-style TSV (gzip-compressed when gz) from r.
func openTSV(r io.Reader, path string, gz bool) (*DB, error) {
	format := FormatTSV
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("asn: %s: %w: %w", path, ErrFormat, err)
		}
		defer zr.Close()
		r, format = zr, FormatTSVGz
	}
	t, st, err := parseTSV(r, path)
	if err != nil {
		return nil, err
	}
	return &DB{
		meta: Meta{
			Path:         path,
			Format:       format,
			Entries:      t.len(),
			SkippedLines: st.bad,
			FirstSkipped: st.firstBad,
		},
		lookup: t.lookup,
	}, nil
}

// parseStats counts the data lines and bad lines of a TSV.
type parseStats struct {
	lines    int   // data lines: not blank, not comments, not a header
	bad      int   // skipped lines
	firstBad error // the first skipped line, a *LineError
}

// parseTSV reads every line of r into a range table; path names the file
// in errors. Blank lines, lines starting with '#' and a header line whose
// first field is "range_start" are ignored; lines with AS 0 ("not
// routed") are read but not stored.
func parseTSV(r io.Reader, path string) (*table, parseStats, error) {
	var (
		b  builder
		st parseStats
	)
	bad := func(line int, err error) {
		st.bad++
		if first, ok := st.firstBad.(*LineError); !ok || line < first.Line {
			st.firstBad = &LineError{Path: path, Line: line, Err: err}
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineLen)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if t := strings.TrimSpace(text); t == "" || t[0] == '#' || strings.HasPrefix(t, "range_start") {
			continue
		}
		st.lines++
		lo, hi, asn, desc, err := parseLine(text)
		if err != nil {
			bad(line, err)
			continue
		}
		if asn != 0 {
			b.add(lo, hi, Info{ASN: asn, Org: desc}, line)
		}
	}
	if err := sc.Err(); err != nil {
		le := &LineError{Path: path, Line: line + 1, Err: err}
		var corrupt flate.CorruptInputError // a broken compressed stream
		switch {
		case errors.Is(err, bufio.ErrTooLong):
			le.Err = fmt.Errorf("line longer than %d bytes", maxLineLen)
		case !errors.Is(err, gzip.ErrChecksum) && !errors.Is(err, gzip.ErrHeader) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &corrupt):
			return nil, st, fmt.Errorf("asn: %w", le) // an I/O error, not the content
		}
		return nil, st, fmt.Errorf("asn: %w: %w", ErrFormat, le)
	}
	t, overlaps := b.build()
	for _, o := range overlaps {
		bad(o.line, fmt.Errorf("range overlaps the range of line %d", o.with))
	}
	if float64(st.bad) > float64(st.lines)*MaxBadLineRatio {
		return nil, st, fmt.Errorf("asn: %s: %w: %d of %d lines are bad (at most %g%% may be), first: %w",
			path, ErrFormat, st.bad, st.lines, MaxBadLineRatio*100, st.firstBad)
	}
	if t.len() == 0 {
		return nil, st, fmt.Errorf("asn: %s: %w: no routed ranges", path, ErrFormat)
	}
	return t, st, nil
}

// parseLine parses one data line: range_start, range_end, asn, country,
// description, separated by tabs (the description may contain spaces), or
// by runs of spaces when the line has no tab (the description is then the
// rest of the line). Country and description are optional.
func parseLine(s string) (lo, hi netip.Addr, asn uint32, desc string, err error) {
	var f []string
	if strings.Contains(s, "\t") {
		f = strings.SplitN(s, "\t", 5)
	} else {
		f = strings.Fields(s)
		if len(f) > 5 {
			f = append(f[:4], strings.Join(f[4:], " "))
		}
	}
	if len(f) < 3 {
		return lo, hi, 0, "", fmt.Errorf("%d fields, want range_start, range_end, asn[, country, description]", len(f))
	}
	if lo, err = netip.ParseAddr(strings.TrimSpace(f[0])); err != nil {
		return lo, hi, 0, "", fmt.Errorf("range_start: %w", err)
	}
	if hi, err = netip.ParseAddr(strings.TrimSpace(f[1])); err != nil {
		return lo, hi, 0, "", fmt.Errorf("range_end: %w", err)
	}
	lo, hi = lo.WithZone("").Unmap(), hi.WithZone("").Unmap()
	switch {
	case lo.Is4() != hi.Is4():
		return lo, hi, 0, "", fmt.Errorf("range %s-%s mixes IPv4 and IPv6", lo, hi)
	case hi.Less(lo):
		return lo, hi, 0, "", fmt.Errorf("range end %s before start %s", hi, lo)
	}
	n, ok := parseASN(f[2])
	if !ok {
		return lo, hi, 0, "", fmt.Errorf("asn %q: not a number from 0 to 4294967295", f[2])
	}
	if len(f) == 5 {
		desc = strings.TrimSpace(f[4])
	}
	return lo, hi, n, desc, nil
}
