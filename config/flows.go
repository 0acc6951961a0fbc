package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Defaults of a flows source.
var (
	DefaultFlowsTop     = 100
	DefaultFlowsMargin  = 10
	DefaultFlowsWindow  = 10 * time.Minute
	DefaultFlowsMinTime = 30 * time.Minute
	DefaultFlowsRefresh = 30 * time.Second
)

// FlowsSD collects NetFlow v5/v9, IPFIX or sFlow records on a UDP port
// and lists the busiest destinations by bytes over a sliding window, with
// hysteresis: a destination enters at rank Top or better and leaves when
// below rank Top+Margin, after at least MinTime on the list.
type FlowsSD struct {
	// ListenAddress is the UDP host:port the collector listens on.
	ListenAddress string
	// Protocol is "netflow" (NetFlow v5, v9 and IPFIX) or "sflow" (v5).
	Protocol string
	Top      int
	Margin   int
	// Window is the sliding window the bytes are summed over.
	Window  time.Duration
	MinTime time.Duration
	// RefreshInterval is how often the list is recomputed.
	RefreshInterval time.Duration
	// Prefix aggregates by /24 (IPv4) and /48 (IPv6) networks, each
	// traced at its busiest address, instead of by address.
	Prefix bool
}

type fileFlows struct {
	ListenAddress   *string `yaml:"listen_address"`
	Protocol        *string `yaml:"protocol"`
	Top             *int    `yaml:"top"`
	Margin          *int    `yaml:"margin"`
	Window          *string `yaml:"window"`
	MinTime         *string `yaml:"min_time"`
	RefreshInterval *string `yaml:"refresh_interval"`
	Aggregate       *string `yaml:"aggregate"`
}

func buildFlows(f *fileFlows) (*FlowsSD, error) {
	c := &FlowsSD{Protocol: "netflow", Top: DefaultFlowsTop, Margin: DefaultFlowsMargin}
	if f.ListenAddress == nil {
		return nil, errors.New("flows: listen_address: required (UDP host:port, e.g. :2055)")
	}
	c.ListenAddress = *f.ListenAddress
	if _, p, err := net.SplitHostPort(c.ListenAddress); err != nil {
		return nil, fmt.Errorf("flows: listen_address: %q is not host:port", c.ListenAddress)
	} else if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("flows: listen_address: port %q is out of range 1..65535", p)
	}
	if f.Protocol != nil {
		c.Protocol = *f.Protocol
	}
	if c.Protocol != "netflow" && c.Protocol != "sflow" {
		return nil, fmt.Errorf("flows: protocol: %q is not one of netflow, sflow", c.Protocol)
	}
	if f.Top != nil {
		c.Top = *f.Top
	}
	if c.Top < 1 || c.Top > MaxMaxTargets {
		return nil, fmt.Errorf("flows: top: %d is out of range 1..%d", c.Top, MaxMaxTargets)
	}
	if f.Margin != nil {
		c.Margin = *f.Margin
	}
	if c.Margin < 0 || c.Margin > MaxMaxTargets {
		return nil, fmt.Errorf("flows: margin: %d is out of range 0..%d", c.Margin, MaxMaxTargets)
	}
	var err error
	if c.RefreshInterval, err = refresh("flows: refresh_interval", f.RefreshInterval, DefaultFlowsRefresh); err != nil {
		return nil, err
	}
	if c.Window, err = refresh("flows: window", f.Window, DefaultFlowsWindow); err != nil {
		return nil, err
	}
	if c.Window < c.RefreshInterval {
		return nil, fmt.Errorf("flows: window: %s is shorter than refresh_interval %s", c.Window, c.RefreshInterval)
	}
	c.MinTime = DefaultFlowsMinTime
	if f.MinTime != nil {
		if c.MinTime, err = time.ParseDuration(*f.MinTime); err != nil || c.MinTime < 0 {
			return nil, fmt.Errorf("flows: min_time: invalid duration %q (use e.g. 30m; 0 for none)", *f.MinTime)
		}
	}
	if f.Aggregate != nil {
		switch *f.Aggregate {
		case "address":
		case "prefix":
			c.Prefix = true
		default:
			return nil, fmt.Errorf("flows: aggregate: %q is not one of address, prefix", *f.Aggregate)
		}
	}
	return c, nil
}
