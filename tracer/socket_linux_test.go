package tracer

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// TestRawSocketOnLoopback exercises the real socket: an Echo Request to
// the loopback address comes back as an Echo Reply stamped by the kernel,
// Wake yields a watermark after it, and Close unblocks a waiting read.
func TestRawSocketOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("needs root")
	}
	testenv.Root(t)
	for _, tc := range []struct {
		v6  bool
		dst string
	}{{false, "127.0.0.1"}, {true, "::1"}} {
		t.Run(tc.dst, func(t *testing.T) {
			c, err := ListenICMP(tc.v6)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			dst := netip.MustParseAddr(tc.dst)
			var buf [EchoLen]byte
			before := time.Now()
			if err := c.WriteTo(MarshalEcho(tc.v6, 0x7e57, 1, buf[:]), dst, netip.Addr{}, 64); err != nil {
				t.Fatal(err)
			}
			rbuf := make([]byte, 1500)
			p, err := c.ReadPacket(rbuf)
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			r, err := ParseReply(tc.v6, p.Data)
			if err != nil || r.Kind != KindReached || r.ID != 0x7e57 || r.Seq != 1 || p.From != dst {
				t.Fatalf("reply %+v from %v (%v), want our Echo Reply from %v", r, p.From, err, dst)
			}
			if p.Time.IsZero() || p.Time.Before(before.Round(0)) || p.Time.After(after.Round(0)) {
				t.Fatalf("kernel receive time %v not between send %v and read %v", p.Time, before, after)
			}
			if p.TTL <= 0 {
				t.Fatalf("reply TTL %d, want the hop limit it arrived with", p.TTL)
			}
			woke := time.Now()
			c.Wake()
			p, err = c.ReadPacket(rbuf)
			if err != nil || !p.Drained || p.Time.Before(woke) {
				t.Fatalf("after Wake: %+v %v, want a watermark not before the wake", p, err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := c.ReadPacket(rbuf)
				done <- err
			}()
			time.Sleep(20 * time.Millisecond)
			c.Close()
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("read after Close: %v, want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not unblock ReadPacket")
			}
		})
	}
}
