package sources

import (
	"context"
	"errors"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/bgp"
	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// Routes is what the bgp source needs of *bgp.Table: a copy of its
// routes.
type Routes interface {
	Routes() []bgp.Route
}

// errNoTable is the error of a bgp source run without a table.
var errNoTable = errors.New("bgp: no BGP table to read")

// BGP reads the received routes at start and every refresh interval and
// lists one target per prefix that passes its filters (BGPItems). An
// announcement adds a target and a withdrawal removes it at the next
// refresh; the table empties when the speaker stops or its sessions go
// down, and the list with it.
type BGP struct {
	Config config.BGPSD
	// Family is the family of the source's defaults ("ip4", "ip6";
	// empty: both).
	Family string
	Table  Routes
	Logger log.Logger
	tick   ticker
}

// Run implements Source.
func (b *BGP) Run(ctx context.Context, report func([]Item, error)) {
	if b.Table == nil {
		report(nil, errNoTable)
		return
	}
	if b.tick == nil {
		b.tick = realTicker
	}
	tick, stop := b.tick(b.Config.RefreshInterval)
	defer stop()
	for {
		report(BGPItems(b.Config, b.Family, b.Table.Routes()), nil)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}
