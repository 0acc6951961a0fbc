package sources

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// Resolver is what the dns source needs of *net.Resolver.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// DNS looks names up at start and every refresh interval: an A or AAAA
// name gives one target per address (the address as host), an SRV name
// one target per record (its target name as host, with its port). A
// failed lookup of any name fails the refresh.
type DNS struct {
	Config   config.DNSSD
	Logger   log.Logger
	Resolver Resolver
	tick     ticker
}

// Run implements Source.
func (d *DNS) Run(ctx context.Context, report func([]Item, error)) {
	if d.tick == nil {
		d.tick = realTicker
	}
	if d.Resolver == nil {
		d.Resolver = net.DefaultResolver
	}
	tick, stop := d.tick(d.Config.RefreshInterval)
	defer stop()
	for {
		items, err := d.lookup(ctx)
		if ctx.Err() != nil {
			return
		}
		report(items, err)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

func (d *DNS) lookup(ctx context.Context) ([]Item, error) {
	ctx, cancel := context.WithTimeout(ctx, max(d.Config.RefreshInterval, 10*time.Second))
	defer cancel()
	var out []Item
	for _, name := range d.Config.Names {
		if d.Config.Type == "SRV" {
			_, srvs, err := d.Resolver.LookupSRV(ctx, "", "", name)
			if err != nil {
				return nil, fmt.Errorf("SRV %s: %w", name, err)
			}
			out = append(out, SRVItems(srvs)...)
			continue
		}
		network := "ip4"
		if d.Config.Type == "AAAA" {
			network = "ip6"
		}
		addrs, err := d.Resolver.LookupNetIP(ctx, network, name)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", d.Config.Type, name, err)
		}
		out = append(out, AddrItems(addrs, network == "ip6")...)
	}
	return out, nil
}

// AddrItems returns one item per address of the family (v6 or not), in
// address order; an IPv4-mapped IPv6 address counts as IPv4.
func AddrItems(addrs []netip.Addr, v6 bool) []Item {
	var out []Item
	seen := map[netip.Addr]bool{}
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if a.Is6() != v6 || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, Item{Host: a.String()})
	}
	sort.Slice(out, func(i, j int) bool {
		return netip.MustParseAddr(out[i].Host).Less(netip.MustParseAddr(out[j].Host))
	})
	return out
}

// SRVItems returns one item per SRV record, by priority, then target and
// port (not the resolver's weighted random order, so the list is stable):
// its target without the trailing dot, and its port. The "." target
// (service not available) gives none.
func SRVItems(srvs []*net.SRV) []Item {
	srvs = append([]*net.SRV(nil), srvs...)
	sort.SliceStable(srvs, func(i, j int) bool {
		a, b := srvs[i], srvs[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return a.Port < b.Port
	})
	var out []Item
	for _, s := range srvs {
		host := strings.TrimSuffix(s.Target, ".")
		if host == "" || s.Port == 0 {
			continue
		}
		out = append(out, Item{Host: host, Port: int(s.Port)})
	}
	return out
}
