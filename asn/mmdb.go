package asn

import (
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// mmdbRecord holds the fields of the ASN databases in MaxMind DB format
// that are known to exist. The number is "autonomous_system_number"
// (GeoLite2-ASN, DB-IP, ip-location-db) or "asn" (a number, or a string
// such as "AS13335" as ipinfo writes it); the organisation is
// "autonomous_system_organization", "as_name" or "as_org". Fields are
// decoded as any so that a database storing them with another type still
// yields what it can instead of failing the whole record.
type mmdbRecord struct {
	Number any `maxminddb:"autonomous_system_number"`
	ASN    any `maxminddb:"asn"`
	Org    any `maxminddb:"autonomous_system_organization"`
	ASName any `maxminddb:"as_name"`
	ASOrg  any `maxminddb:"as_org"`
}

// openMMDB opens a MaxMind DB held in data. Opening checks the metadata
// and the section sizes, so a truncated file fails here (and a reload
// keeps the previous DB). Reader.Verify is not called: it also rejects
// files whose metadata merely lacks optional content (an empty
// description), which third-party ASN databases may have; a corrupt
// record later fails only its own lookup, as a miss. data is kept in
// memory rather than memory-mapped: replacing the file in place (cp over
// it) must never fault a running exporter.
func openMMDB(data []byte, path string) (*DB, error) {
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, fmt.Errorf("asn: %s: %w: %w", path, ErrFormat, err)
	}
	db := &DB{meta: Meta{
		Path:         path,
		Format:       FormatMMDB,
		Entries:      int(r.Metadata.NodeCount),
		DatabaseType: r.Metadata.DatabaseType,
	}}
	db.lookup = func(addr netip.Addr) (Info, bool) {
		var rec mmdbRecord
		if err := r.Lookup(addr).Decode(&rec); err != nil {
			return Info{}, false
		}
		return rec.info()
	}
	return db, nil
}

// info picks the AS number and organisation out of a decoded record.
func (rec *mmdbRecord) info() (Info, bool) {
	n, ok := asNumber(rec.Number)
	if !ok {
		n, ok = asNumber(rec.ASN)
	}
	if !ok || n == 0 {
		return Info{}, false
	}
	in := Info{ASN: n}
	for _, v := range []any{rec.Org, rec.ASName, rec.ASOrg} {
		if s, ok := v.(string); ok && s != "" {
			in.Org = s
			break
		}
	}
	return in, true
}

// asNumber converts a decoded AS number field to uint32. It accepts every
// integer type the MaxMind DB decoder produces and strings like "13335"
// or "AS13335".
func asNumber(v any) (uint32, bool) {
	var u uint64
	switch x := v.(type) {
	case uint64:
		u = x
	case uint32:
		u = uint64(x)
	case uint16:
		u = uint64(x)
	case uint:
		u = uint64(x)
	case int64:
		if x < 0 {
			return 0, false
		}
		u = uint64(x)
	case int32:
		if x < 0 {
			return 0, false
		}
		u = uint64(x)
	case int:
		if x < 0 {
			return 0, false
		}
		u = uint64(x)
	case float64:
		if x < 0 || x > math.MaxUint32 || x != math.Trunc(x) {
			return 0, false
		}
		u = uint64(x)
	case *big.Int:
		if x == nil || !x.IsUint64() {
			return 0, false
		}
		u = x.Uint64()
	case string:
		return parseASN(x)
	default:
		return 0, false
	}
	if u > math.MaxUint32 {
		return 0, false
	}
	return uint32(u), true
}

// parseASN parses "13335", "AS13335" or "as13335".
func parseASN(s string) (uint32, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && strings.EqualFold(s[:2], "AS") {
		s = s[2:]
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}
