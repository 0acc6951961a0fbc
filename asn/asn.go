// Package asn maps IP addresses to autonomous system numbers offline, from
// a database file on disk; it never touches the network.
//
// Two formats are read, chosen by the file's content and, failing that, by
// its extension (see [Open]):
//
//   - MaxMind DB (.mmdb): GeoLite2-ASN, DB-IP ASN Lite, ip-location-db and
//     other files in the MaxMind DB format, read with
//     github.com/oschwald/maxminddb-golang/v2 (mmdb.go).
//   - iptoasn-style TSV, plain or gzip-compressed (.gz): one range per line,
//     "range_start range_end asn country description" (tsv.go), held as
//     sorted, non-overlapping ranges searched by binary search.
//
// A [DB] is immutable and safe for concurrent use. A [Holder] keeps the
// current DB for the exporter and swaps it only when a reload succeeds.
package asn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// Info is what a lookup finds about an address.
type Info struct {
	// ASN is the autonomous system number; never 0 in a successful lookup.
	ASN uint32
	// Org is the organisation or description of the AS; may be empty.
	Org string
}

// Format names the file format a DB was read from.
type Format string

// The formats Open understands.
const (
	FormatMMDB  Format = "mmdb"
	FormatTSV   Format = "tsv"
	FormatTSVGz Format = "tsv.gz"
)

// Meta describes a loaded database, for logging after a (re)load.
type Meta struct {
	// Path is the file the DB was read from.
	Path string
	// Format is the format Open chose.
	Format Format
	// Entries is the number of ranges held (TSV) or of search-tree nodes
	// (mmdb).
	Entries int
	// DatabaseType is the mmdb metadata's database_type; empty for TSV.
	DatabaseType string
	// SkippedLines is the number of bad TSV lines that were skipped (see
	// [MaxBadLineRatio]); FirstSkipped describes the first of them.
	SkippedLines int
	FirstSkipped error
}

// DB is an opened ASN database. It holds only memory (no open file), so a
// DB that is no longer referenced is reclaimed by the garbage collector and
// needs no Close. All methods are safe for concurrent use; a nil *DB finds
// nothing.
type DB struct {
	meta   Meta
	lookup func(netip.Addr) (Info, bool)
}

// ErrFormat is wrapped by the errors Open returns for a file whose content
// is not a valid database of the chosen format.
var ErrFormat = errors.New("invalid ASN database")

// mmdbMarker starts the metadata section of every MaxMind DB file; it lies
// within the last 128 KiB of the file.
var mmdbMarker = []byte("\xab\xcd\xefMaxMind.com")

const mmdbMetadataMaxSize = 128 << 10

// Open reads the database at path. The format is chosen by content first:
// gzip magic bytes mean a compressed TSV, the MaxMind DB metadata marker
// means mmdb; otherwise a ".mmdb" extension means mmdb (and the error says
// why the file is not one), and anything else is read as TSV. Errors name
// the file and, for TSV, the line.
func Open(path string) (*DB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("asn: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("asn: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("asn: %s: is a directory: %w", path, ErrFormat)
	}
	head := make([]byte, 2)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("asn: %w", err)
	}
	switch {
	case bytes.Equal(head, []byte{0x1f, 0x8b}):
		return openTSV(f, path, true)
	case hasMMDBMarker(f, st.Size()) || strings.EqualFold(filepath.Ext(path), ".mmdb"):
		data, err := io.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("asn: %w", err)
		}
		return openMMDB(data, path)
	default:
		return openTSV(f, path, false)
	}
}

// hasMMDBMarker reports whether the metadata marker occurs in the tail of
// the file, where a MaxMind DB reader looks for it.
func hasMMDBMarker(f *os.File, size int64) bool {
	off := max(size-mmdbMetadataMaxSize, 0)
	tail := make([]byte, size-off)
	if _, err := f.ReadAt(tail, off); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	return bytes.Contains(tail, mmdbMarker)
}

// Lookup returns the AS of addr. It reports false when the database has
// no entry for the address, the entry has no AS number (or AS 0, "not
// routed"), or db is nil. IPv4-mapped IPv6 addresses are looked up as
// IPv4; zones are ignored.
func (db *DB) Lookup(addr netip.Addr) (Info, bool) {
	if db == nil || !addr.IsValid() {
		return Info{}, false
	}
	return db.lookup(addr.WithZone("").Unmap())
}

// Meta describes the database; the zero Meta for a nil db.
func (db *DB) Meta() Meta {
	if db == nil {
		return Meta{}
	}
	return db.meta
}
