package history

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The kinds of change events.
const (
	// KindPath is a path change: the traced path changed (records
	// written before BGP correlation existed have no kind and are path
	// changes too).
	KindPath = "path"
	// KindRouting is a routing-only change: the BGP route covering the
	// target changed and the traced path did not within the window.
	KindRouting = "routing"
)

// BGPRoute is the BGP route covering a target at one time.
type BGPRoute struct {
	// Prefix is the route's prefix, ASPath its AS path (nearest first)
	// and NextHop its next hop.
	Prefix  netip.Prefix
	ASPath  []uint32
	NextHop netip.Addr
}

// BGPChange is one change of the route covering a target.
type BGPChange struct {
	// Time is when the update was received.
	Time time.Time
	// Before and After are the routes around the change; nil when there
	// was none (an announcement) or is none (a withdrawal).
	Before, After *BGPRoute
}

// DescribeBGP renders a change in one line: "198.18.7.0/24 AS path 64501
// 64504 -> withdrawn (now 198.18.0.0/15 AS path 64502 64503 64504)".
func DescribeBGP(c BGPChange) string {
	route := func(r *BGPRoute) string {
		if r == nil {
			return "none"
		}
		return r.Prefix.String() + " AS path " + formatASPath(r.ASPath) + " via " + r.NextHop.String()
	}
	switch {
	case c.Before == nil:
		return "announced " + route(c.After)
	case c.After == nil:
		return "withdrawn " + route(c.Before)
	}
	return route(c.Before) + " -> " + route(c.After)
}

// DescribeBGPChanges renders a change event's BGP changes in one line,
// "none" when there are none (BGP correlation on, nothing explains the
// change).
func DescribeBGPChanges(cs []BGPChange) string {
	if len(cs) == 0 {
		return "none"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %s", c.Time.UTC().Format("15:04:05"), DescribeBGP(c))
	}
	return strings.Join(parts, "; ")
}

func formatASPath(p []uint32) string {
	if len(p) == 0 {
		return "(empty)"
	}
	s := make([]string, len(p))
	for i, a := range p {
		s[i] = strconv.FormatUint(uint64(a), 10)
	}
	return strings.Join(s, " ")
}
