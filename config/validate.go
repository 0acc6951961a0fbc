package config

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// ReservedLabels are label names the exporter sets itself; static labels
// may not use them.
var ReservedLabels = []string{"target", "hop", "ip", "name", "asn", "instance", "job", "bgp"}

// ReservedBGPLabels are the labels of traceroute_bgp_route_info; static
// labels may not use them when the file has a `bgp:` section.
var ReservedBGPLabels = []string{"prefix", "as_path", "next_hop"}

var (
	labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	dnsName   = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.?$`)
)

func (t *Target) validate() error {
	if t.Name == "" {
		return errors.New("name: must not be empty")
	}
	switch t.Protocol {
	case "icmp":
		if t.Port != 0 {
			return fmt.Errorf("port: not used by protocol %s", t.Protocol)
		}
	case "udp", "tcp":
		if t.Port == 0 {
			t.Port = DefaultPorts[t.Protocol]
		}
		if t.Port < 1 || t.Port > 65535 {
			return fmt.Errorf("port: %d is out of range 1..65535", t.Port)
		}
	default:
		return fmt.Errorf("protocol: %q is not one of icmp, udp, tcp", t.Protocol)
	}
	switch t.Family {
	case "", "ip4", "ip6":
	default:
		return fmt.Errorf("family: %q is not one of ip4, ip6", t.Family)
	}
	if ip, err := netip.ParseAddr(t.Host); err == nil {
		if ip.Zone() != "" {
			return fmt.Errorf("host: %q: zoned addresses are not supported", t.Host)
		}
		fam := familyOf(ip)
		if t.Family != "" && t.Family != fam {
			return fmt.Errorf("host: %s is an %s address but family is %s", t.Host, fam, t.Family)
		}
		t.Family = fam
	} else {
		if len(t.Host) > 253 || !dnsName.MatchString(t.Host) {
			return fmt.Errorf("host: %q is neither an IP address nor a valid DNS name", t.Host)
		}
		if t.Family == "" {
			t.Family = "ip4"
		}
	}
	if t.Source != "" {
		ip, err := netip.ParseAddr(t.Source)
		if err != nil {
			return fmt.Errorf("source: %q is not an IP address", t.Source)
		}
		if ip.Zone() != "" {
			return fmt.Errorf("source: %q: zoned addresses are not supported", t.Source)
		}
		if familyOf(ip) != t.Family {
			return fmt.Errorf("source: %s is not an %s address like the target's", t.Source, t.Family)
		}
	}
	if t.Interval < MinInterval {
		return fmt.Errorf("interval: %s is below the minimum %s", t.Interval, MinInterval)
	}
	if t.Probes < 1 || t.Probes > MaxProbes {
		return fmt.Errorf("probes: %d is out of range 1..%d", t.Probes, MaxProbes)
	}
	if t.Timeout <= 0 || t.Timeout > t.Interval {
		return fmt.Errorf("timeout: %s must be above 0 and at most the interval (%s)", t.Timeout, t.Interval)
	}
	if t.Flows < 1 || t.Flows > MaxFlows {
		return fmt.Errorf("flows: %d is out of range 1..%d", t.Flows, MaxFlows)
	}
	if t.PMTUEvery < 1 || t.PMTUEvery > MaxPMTUEvery {
		return fmt.Errorf("pmtu_every: %d is out of range 1..%d", t.PMTUEvery, MaxPMTUEvery)
	}
	if t.MaxHops < 1 || t.MaxHops > MaxHopsLimit {
		return fmt.Errorf("max_hops: %d is out of range 1..%d", t.MaxHops, MaxHopsLimit)
	}
	for k := range t.Labels {
		if !labelName.MatchString(k) || strings.HasPrefix(k, "__") {
			return fmt.Errorf("labels: %q is not a valid Prometheus label name", k)
		}
		for _, r := range ReservedLabels {
			if k == r {
				return fmt.Errorf("labels: %q is reserved by the exporter", k)
			}
		}
	}
	return nil
}

func familyOf(ip netip.Addr) string {
	if ip.Is4() {
		return "ip4"
	}
	return "ip6"
}
