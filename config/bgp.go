package config

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Defaults of the `bgp:` section.
const (
	// DefaultBGPPort is where the speaker listens and where it connects
	// to a neighbor unless told otherwise.
	DefaultBGPPort = 179
	// DefaultCorrelationWindow is how long before a path change a BGP
	// change of the target's covering prefix is taken as its cause.
	DefaultCorrelationWindow = 2 * time.Minute
	// DefaultCorrelationAfter is how long after a path change a BGP change
	// is still taken as its cause (the trace may see a change first).
	DefaultCorrelationAfter = 30 * time.Second
	// MaxCorrelationWindow bounds both windows.
	MaxCorrelationWindow = time.Hour
)

// BGP is the passive BGP speaker's configuration; the speaker runs only
// when the file has a `bgp:` section.
type BGP struct {
	// LocalAS is the exporter's AS number; RouterID its BGP identifier.
	LocalAS  uint32
	RouterID netip.Addr
	// ListenAddress is the address the speaker accepts sessions on (the
	// zero Addr: every address); ListenPort its port.
	ListenAddress netip.Addr
	ListenPort    int
	// Neighbors are the routers the speaker peers with.
	Neighbors []Neighbor
	// Window and After bound the BGP changes taken as the cause of a
	// path change: from Window before it to After after it.
	Window, After time.Duration
}

// Neighbor is one BGP neighbor.
type Neighbor struct {
	// Address is the neighbor's address; PeerAS its AS number.
	Address netip.Addr
	PeerAS  uint32
	// Port is the neighbor's BGP port the speaker connects to.
	Port int
	// Passive: the speaker waits for the neighbor to connect and never
	// connects itself.
	Passive bool
	// Password turns on TCP MD5 signatures (RFC 2385) with this key.
	Password string
}

// fileBGP and fileNeighbor mirror the YAML `bgp:` section.
type fileBGP struct {
	LocalAS           *int64         `yaml:"local_as"`
	RouterID          *string        `yaml:"router_id"`
	ListenAddress     *string        `yaml:"listen_address"`
	ListenPort        *int           `yaml:"listen_port"`
	CorrelationWindow *string        `yaml:"correlation_window"`
	CorrelationAfter  *string        `yaml:"correlation_after"`
	Neighbors         []fileNeighbor `yaml:"neighbors"`
}

type fileNeighbor struct {
	Address  *string `yaml:"address"`
	PeerAS   *int64  `yaml:"peer_as"`
	Port     *int    `yaml:"port"`
	Passive  *bool   `yaml:"passive"`
	Password *string `yaml:"password"`
}

// buildBGP validates the `bgp:` section; nil when absent. Errors name
// the field (and the neighbor).
func buildBGP(f *fileBGP) (*BGP, error) {
	if f == nil {
		return nil, nil
	}
	b := &BGP{ListenPort: DefaultBGPPort, Window: DefaultCorrelationWindow, After: DefaultCorrelationAfter}
	var err error
	if f.LocalAS == nil {
		return nil, errors.New("local_as: required")
	}
	if b.LocalAS, err = asNumber(*f.LocalAS); err != nil {
		return nil, fmt.Errorf("local_as: %w", err)
	}
	if f.RouterID == nil {
		return nil, errors.New("router_id: required")
	}
	if b.RouterID, err = netip.ParseAddr(*f.RouterID); err != nil || !b.RouterID.Is4() {
		return nil, fmt.Errorf("router_id: %q is not an IPv4 address", *f.RouterID)
	}
	if f.ListenAddress != nil {
		if b.ListenAddress, err = netip.ParseAddr(*f.ListenAddress); err != nil || b.ListenAddress.Zone() != "" {
			return nil, fmt.Errorf("listen_address: %q is not an IP address", *f.ListenAddress)
		}
	}
	if f.ListenPort != nil {
		if b.ListenPort = *f.ListenPort; b.ListenPort < 1 || b.ListenPort > 65535 {
			return nil, fmt.Errorf("listen_port: %d is out of range 1..65535", b.ListenPort)
		}
	}
	for _, d := range []struct {
		name string
		in   *string
		out  *time.Duration
		min  time.Duration
	}{{"correlation_window", f.CorrelationWindow, &b.Window, time.Second}, {"correlation_after", f.CorrelationAfter, &b.After, 0}} {
		if d.in == nil {
			continue
		}
		v, err := time.ParseDuration(*d.in)
		if err != nil || v < d.min || v > MaxCorrelationWindow {
			return nil, fmt.Errorf("%s: %q is not a duration from %s to %s", d.name, *d.in, d.min, MaxCorrelationWindow)
		}
		*d.out = v
	}
	seen := map[netip.Addr]int{}
	for i, fn := range f.Neighbors {
		n, err := buildNeighbor(fn)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", whereNeighbor(i, fn), err)
		}
		if j, dup := seen[n.Address]; dup {
			return nil, fmt.Errorf("%s: address: %s is already neighbors[%d]", whereNeighbor(i, fn), n.Address, j)
		}
		seen[n.Address] = i
		b.Neighbors = append(b.Neighbors, n)
	}
	return b, nil
}

func whereNeighbor(i int, fn fileNeighbor) string {
	if fn.Address != nil {
		return fmt.Sprintf("neighbors[%d] (%s)", i, *fn.Address)
	}
	return fmt.Sprintf("neighbors[%d]", i)
}

func buildNeighbor(fn fileNeighbor) (Neighbor, error) {
	n := Neighbor{Port: DefaultBGPPort}
	var err error
	if fn.Address == nil {
		return n, errors.New("address: required")
	}
	if n.Address, err = netip.ParseAddr(*fn.Address); err != nil {
		return n, fmt.Errorf("address: %q is not an IP address", *fn.Address)
	}
	if n.Address.Zone() != "" {
		return n, fmt.Errorf("address: %q: zoned addresses are not supported", *fn.Address)
	}
	n.Address = n.Address.Unmap()
	if fn.PeerAS == nil {
		return n, errors.New("peer_as: required")
	}
	if n.PeerAS, err = asNumber(*fn.PeerAS); err != nil {
		return n, fmt.Errorf("peer_as: %w", err)
	}
	if fn.Port != nil {
		if n.Port = *fn.Port; n.Port < 1 || n.Port > 65535 {
			return n, fmt.Errorf("port: %d is out of range 1..65535", n.Port)
		}
	}
	if fn.Passive != nil {
		n.Passive = *fn.Passive
	}
	if fn.Password != nil {
		if *fn.Password == "" || len(*fn.Password) > 80 {
			return n, errors.New("password: must be 1 to 80 characters (the TCP MD5 key limit)")
		}
		n.Password = *fn.Password
	}
	return n, nil
}

// asNumber checks a 4-byte AS number (RFC 6793): 1..4294967295, not the
// reserved AS_TRANS 23456.
func asNumber(v int64) (uint32, error) {
	if v < 1 || v > 1<<32-1 {
		return 0, fmt.Errorf("%d is out of range 1..4294967295", v)
	}
	if v == 23456 {
		return 0, errors.New("23456 is AS_TRANS (RFC 6793), not an AS")
	}
	return uint32(v), nil
}
