package tracer

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// panicConn panics when asked to send; reads block until Close.
type panicConn struct{ closed chan struct{} }

func (c *panicConn) WriteTo([]byte, netip.Addr, netip.Addr, int) error { panic("send exploded") }
func (c *panicConn) ReadPacket([]byte) (Packet, error) {
	<-c.closed
	return Packet{}, net.ErrClosed
}
func (c *panicConn) Wake()        {}
func (c *panicConn) Close() error { close(c.closed); return nil }

// A panic on the probing loop ends Run with that panic (and so the
// process), rather than hanging in Run's cleanup with the panic swallowed.
func TestEngineLoopPanicPropagates(t *testing.T) {
	e := New(Options{Conn4: &panicConn{closed: make(chan struct{})}})
	got := make(chan any, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer func() { got <- recover() }()
		e.Run(ctx)
	}()
	tg := NewTarget(Schedule{Interval: time.Second, Rounds: 1, MaxHops: 2, Timeout: time.Second}, func(Result) {})
	tg.SetAddr(dstA)
	e.Add(tg)
	select {
	case r := <-got:
		if r != "send exploded" {
			t.Fatalf("Run ended with %v, want the loop's panic", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run hangs after a panic on its loop")
	}
}
