package tracer

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// The route to a loopback address leaves by lo, whose MTU is the answer;
// the interface list is read once however often it is asked.
func TestRouteMTULoopback(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatalf("no loopback interface: %v", err)
	}
	if got := routeMTU(netip.MustParseAddr("127.0.0.1")); got != lo.MTU {
		t.Errorf("routeMTU(127.0.0.1) = %d, want lo's %d", got, lo.MTU)
	}
	c := &mtuCache{}
	now := time.Unix(1000, 0)
	c.of(netip.MustParseAddr("127.0.0.1"), now)
	first := c.at
	c.of(netip.MustParseAddr("127.0.0.1"), now.Add(30*time.Second))
	if c.at != first {
		t.Error("the interface list was read again within a minute")
	}
	c.of(netip.MustParseAddr("127.0.0.1"), now.Add(2*time.Minute))
	if c.at == first {
		t.Error("the interface list was not refreshed after a minute")
	}
	if got := c.of(netip.MustParseAddr("198.51.100.7"), now.Add(2*time.Minute)); got != 1500 {
		t.Errorf("an address no interface holds: %d, want 1500", got)
	}
}
