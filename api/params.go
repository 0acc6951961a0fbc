package api

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// parseSince parses the changes endpoint's since parameter: an RFC 3339
// time or Unix seconds (a fraction allowed); the zero time when empty.
func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
		return time.Time{}, fmt.Errorf("invalid since %q: want an RFC 3339 time or Unix seconds", s)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// parseLimit parses the changes endpoint's limit parameter: an integer
// from 1 to MaxLimit; DefaultLimit when empty.
func parseLimit(s string) (int, error) {
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, fmt.Errorf("invalid limit %q: want an integer from 1 to %d", s, MaxLimit)
	}
	return n, nil
}
