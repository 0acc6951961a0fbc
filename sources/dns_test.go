package sources

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

type fakeResolver struct {
	addrs map[string][]netip.Addr
	srv   map[string][]*net.SRV
	calls []string
}

func (f *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	f.calls = append(f.calls, network+" "+host)
	a, ok := f.addrs[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	return a, nil
}

func (f *fakeResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	f.calls = append(f.calls, "SRV "+service+proto+name)
	s, ok := f.srv[name]
	if !ok {
		return "", nil, errors.New("no such host")
	}
	return name, s, nil
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestAddrItems(t *testing.T) {
	in := addrs("198.18.7.3", "2001:db8::2", "::ffff:198.18.7.1", "198.18.7.3", "fe80::1%eth0")
	if got := hosts(AddrItems(in, false)); got != "198.18.7.1 198.18.7.3" {
		t.Errorf("A: %q", got)
	}
	if got := hosts(AddrItems(in, true)); got != "2001:db8::2 fe80::1" {
		t.Errorf("AAAA: %q", got)
	}
}

func TestSRVItems(t *testing.T) {
	got := SRVItems([]*net.SRV{
		{Target: "b.example.", Port: 443, Priority: 10, Weight: 5},
		{Target: "a.example.", Port: 8443, Priority: 10, Weight: 50},
		{Target: "c.example.", Port: 443, Priority: 5},
		{Target: ".", Port: 0},
	})
	want := []Item{{Host: "c.example", Port: 443}, {Host: "a.example", Port: 8443}, {Host: "b.example", Port: 443}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v, want %+v", got, want)
	}
}

func TestDNSLookup(t *testing.T) {
	r := &fakeResolver{
		addrs: map[string][]netip.Addr{"a.example": addrs("198.18.7.3", "198.18.7.2"), "b.example": addrs("198.18.7.9")},
		srv:   map[string][]*net.SRV{"_trace._tcp.example": {{Target: "web.example.", Port: 443}}},
	}
	d := &DNS{Config: config.DNSSD{Names: []string{"a.example", "b.example"}, Type: "A", RefreshInterval: time.Minute}, Resolver: r}
	items, err := d.lookup(context.Background())
	if err != nil || hosts(items) != "198.18.7.2 198.18.7.3 198.18.7.9" {
		t.Fatalf("A: %+v %v", items, err)
	}
	d.Config = config.DNSSD{Names: []string{"_trace._tcp.example"}, Type: "SRV", RefreshInterval: time.Minute}
	items, err = d.lookup(context.Background())
	if err != nil || !reflect.DeepEqual(items, []Item{{Host: "web.example", Port: 443}}) {
		t.Fatalf("SRV: %+v %v", items, err)
	}
	d.Config = config.DNSSD{Names: []string{"a.example", "gone.example"}, Type: "AAAA", RefreshInterval: time.Minute}
	if _, err := d.lookup(context.Background()); err == nil || err.Error() != "AAAA gone.example: no such host" {
		t.Fatalf("a failed lookup: %v", err)
	}
	if want := []string{"ip4 a.example", "ip4 b.example", "SRV _trace._tcp.example", "ip6 a.example", "ip6 gone.example"}; !reflect.DeepEqual(r.calls, want) {
		t.Fatalf("lookups %v, want %v", r.calls, want)
	}
}
