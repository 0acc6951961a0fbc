package sources

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// netflowV5 builds a NetFlow v5 datagram with one record per destination
// and its byte count, sampled 1 in sampling (0: unsampled).
func netflowV5(sampling uint16, flows ...any) []byte {
	n := len(flows) / 2
	b := make([]byte, 24+48*n)
	binary.BigEndian.PutUint16(b[0:], 5)
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	binary.BigEndian.PutUint16(b[22:], sampling)
	for i := 0; i < n; i++ {
		r := b[24+48*i:]
		copy(r[0:4], netip.MustParseAddr("198.18.1.1").AsSlice())
		copy(r[4:8], netip.MustParseAddr(flows[2*i].(string)).AsSlice())
		binary.BigEndian.PutUint32(r[16:], 1)
		binary.BigEndian.PutUint32(r[20:], uint32(flows[2*i+1].(int)))
		r[38] = 17
	}
	return b
}

// netflowV9 builds a NetFlow v9 datagram: with template, a template set
// (id 256: IPV4_DST_ADDR, IN_BYTES) before the data set; without, only
// the data set, whose template the collector does not know.
func netflowV9(template bool, dst string, octets uint32) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], 9)
	count := 1
	if template {
		count = 2
		t := make([]byte, 16)
		binary.BigEndian.PutUint16(t[0:], 0)   // template set
		binary.BigEndian.PutUint16(t[2:], 16)  // length
		binary.BigEndian.PutUint16(t[4:], 256) // template id
		binary.BigEndian.PutUint16(t[6:], 2)   // fields
		binary.BigEndian.PutUint16(t[8:], 12)  // IPV4_DST_ADDR
		binary.BigEndian.PutUint16(t[10:], 4)
		binary.BigEndian.PutUint16(t[12:], 1) // IN_BYTES
		binary.BigEndian.PutUint16(t[14:], 4)
		b = append(b, t...)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(count))
	d := make([]byte, 12)
	binary.BigEndian.PutUint16(d[0:], 256)
	binary.BigEndian.PutUint16(d[2:], 12)
	copy(d[4:8], netip.MustParseAddr(dst).AsSlice())
	binary.BigEndian.PutUint32(d[8:], octets)
	return append(b, d...)
}

func newFlows(t *testing.T, c config.FlowsSD) (*Flows, *time.Time) {
	now := t0
	f := &Flows{Config: c, Logger: log.NewNopLogger(), now: func() time.Time { return now }}
	if err := f.init(); err != nil {
		t.Fatal(err)
	}
	return f, &now
}

func TestFlowsDecodeAndRank(t *testing.T) {
	f, now := newFlows(t, config.FlowsSD{Protocol: "netflow", Top: 2, Margin: 0, Window: time.Minute, RefreshInterval: 10 * time.Second})
	sender := netip.MustParseAddr("198.18.1.1")
	// v5, unsampled and sampled 1 in 100: 198.51.100.3 counts 300*100.
	f.handle(sender, netflowV5(0, "198.51.100.1", 5000, "198.51.100.2", 4000))
	f.handle(sender, netflowV5(100, "198.51.100.3", 300))
	// v9: data before its template is unknown; after it, counted.
	f.handle(sender, netflowV9(false, "198.51.100.9", 1e6))
	f.handle(sender, netflowV9(true, "198.51.100.4", 6000))
	f.handle(sender, []byte{0, 9, 1})
	*now = now.Add(time.Second)
	if got := hosts(f.list()); got != "198.51.100.3 198.51.100.4" {
		t.Fatalf("list %q, want 198.51.100.3 (30000 bytes sampled) then 198.51.100.4 (v9)", got)
	}
	if r, d, u := f.Stats.Records.Load(), f.Stats.DecodeErrors.Load(), f.Stats.UnknownTemplates.Load(); r != 4 || d != 1 || u != 1 {
		t.Fatalf("records %d, decode errors %d, unknown templates %d; want 4, 1, 1", r, d, u)
	}
}

// TestFlowsOverUDP runs the collector on a loopback port and sends it
// datagrams; a tick reports the list.
func TestFlowsOverUDP(t *testing.T) {
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.LocalAddr().String()
	l.Close()
	tick := make(chan time.Time)
	f := &Flows{Config: config.FlowsSD{ListenAddress: addr, Protocol: "netflow", Top: 1, Window: time.Minute, RefreshInterval: time.Second},
		Logger: log.NewNopLogger(), tick: func(time.Duration) (<-chan time.Time, func()) { return tick, func() {} }}
	reports := make(chan []Item, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx, func(i []Item, err error) { reports <- i }); close(done) }()
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for f.Stats.Records.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("collector decoded %d records", f.Stats.Records.Load())
		}
		conn.Write(netflowV5(0, "198.51.100.7", 100, "198.51.100.8", 50))
		time.Sleep(20 * time.Millisecond)
	}
	tick <- time.Now()
	if got := hosts(<-reports); got != "198.51.100.7" {
		t.Fatalf("reported %q, want 198.51.100.7", got)
	}
}
