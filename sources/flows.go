package sources

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	"github.com/netsampler/goflow2/v2/decoders/sflow"
	"github.com/netsampler/goflow2/v2/producer"
	protoproducer "github.com/netsampler/goflow2/v2/producer/proto"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// FlowStats counts what a flows source received.
type FlowStats struct {
	// Records are flow records (or sFlow samples) decoded.
	Records atomic.Uint64
	// DecodeErrors are datagrams that did not decode.
	DecodeErrors atomic.Uint64
	// UnknownTemplates are NetFlow v9 / IPFIX data sets whose template
	// the exporter has not sent (yet); their records are skipped.
	UnknownTemplates atomic.Uint64
}

// Flows is a NetFlow v5/v9, IPFIX or sFlow v5 collector on a UDP port,
// decoding with goflow2, whose targets are the busiest destinations by
// bytes (times the sampling rate) under the hysteresis rule of TopN. It
// reports the list every refresh interval.
type Flows struct {
	Config config.FlowsSD
	Logger log.Logger
	Stats  FlowStats

	tick ticker
	now  func() time.Time

	mu        sync.Mutex
	top       *TopN
	templates map[netip.Addr]netflow.NetFlowTemplateSystem
	producer  producer.ProducerInterface
}

// Run implements Source.
func (f *Flows) Run(ctx context.Context, report func([]Item, error)) {
	if f.tick == nil {
		f.tick = realTicker
	}
	if err := f.init(); err != nil {
		report(nil, err)
		return
	}
	conn, err := net.ListenPacket("udp", f.Config.ListenAddress)
	if err != nil {
		level.Error(f.Logger).Log("msg", "Cannot listen for flow records", "address", f.Config.ListenAddress, "err", err)
		report(nil, err)
		return
	}
	level.Info(f.Logger).Log("msg", "Collecting flow records", "address", conn.LocalAddr(), "protocol", f.Config.Protocol)
	go func() { <-ctx.Done(); conn.Close() }()
	go f.receive(conn)
	tick, stop := f.tick(f.Config.RefreshInterval)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			report(f.list(), nil)
		}
	}
}

// init prepares the window and goflow2's producer.
func (f *Flows) init() error {
	if f.now == nil {
		f.now = time.Now
	}
	f.top = &TopN{N: f.Config.Top, Margin: f.Config.Margin, Window: f.Config.Window, MinTime: f.Config.MinTime, Prefix: f.Config.Prefix}
	f.templates = map[netip.Addr]netflow.NetFlowTemplateSystem{}
	cfg, err := (&protoproducer.ProducerConfig{}).Compile()
	if err != nil {
		return err
	}
	f.producer, err = protoproducer.CreateProtoProducer(cfg, protoproducer.CreateSamplingSystem)
	return err
}

// list applies the hysteresis rule now and returns the targets.
func (f *Flows) list() []Item {
	f.mu.Lock()
	ranked := f.top.Update(f.now())
	f.mu.Unlock()
	items := make([]Item, len(ranked))
	for i, r := range ranked {
		items[i] = Item{Host: r.Addr.String()}
	}
	return items
}

// receive reads datagrams until conn is closed.
func (f *Flows) receive(conn net.PacketConn) {
	buf := make([]byte, 65535)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				level.Warn(f.Logger).Log("msg", "Reading flow records", "err", err)
			}
			return
		}
		sender := netip.Addr{}
		if u, ok := from.(*net.UDPAddr); ok {
			sender = u.AddrPort().Addr().Unmap()
		}
		f.handle(sender, buf[:n])
	}
}

// handle decodes one datagram from sender and counts its records.
func (f *Flows) handle(sender netip.Addr, b []byte) {
	msg, err := f.decode(sender, b)
	if err != nil {
		f.Stats.DecodeErrors.Add(1)
		level.Debug(f.Logger).Log("msg", "Flow datagram does not decode", "from", sender, "err", err)
		return
	}
	now := f.now()
	msgs, err := f.producer.Produce(msg, &producer.ProduceArgs{Src: netip.AddrPortFrom(sender, 0), SamplerAddress: sender, TimeReceived: now})
	defer f.producer.Commit(msgs)
	if err != nil {
		f.Stats.DecodeErrors.Add(1)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range msgs {
		pm, ok := m.(*protoproducer.ProtoProducerMessage)
		if !ok {
			continue
		}
		dst, ok := netip.AddrFromSlice(pm.DstAddr)
		if !ok {
			continue
		}
		f.Stats.Records.Add(1)
		f.top.Add(now, dst, pm.Bytes*max(pm.SamplingRate, 1))
	}
}

// decode decodes a datagram by its version: NetFlow v5, v9 and IPFIX
// (10) for protocol netflow, sFlow v5 for sflow.
func (f *Flows) decode(sender netip.Addr, b []byte) (any, error) {
	buf := bytes.NewBuffer(b)
	if f.Config.Protocol == "sflow" {
		var p sflow.Packet
		return &p, sflow.DecodeMessageVersion(buf, &p)
	}
	if len(b) < 2 {
		return nil, errors.New("datagram too short")
	}
	if binary.BigEndian.Uint16(b) == 5 {
		var p netflowlegacy.PacketNetFlowV5
		return &p, netflowlegacy.DecodeMessageVersion(buf, &p)
	}
	f.mu.Lock()
	ts, ok := f.templates[sender]
	if !ok {
		ts = countingTemplates{netflow.CreateTemplateSystem(), &f.Stats.UnknownTemplates}
		f.templates[sender] = ts
	}
	f.mu.Unlock()
	var v9 netflow.NFv9Packet
	var ipfix netflow.IPFIXPacket
	// Data sets of unknown templates are skipped (and counted by ts);
	// the datagram's other sets still count.
	if err := netflow.DecodeMessageVersion(buf, ts, &v9, &ipfix); err != nil && !errors.Is(err, netflow.ErrorTemplateNotFound) {
		return nil, err
	}
	if binary.BigEndian.Uint16(b) == 9 {
		return &v9, nil
	}
	return &ipfix, nil
}

// countingTemplates counts lookups of templates not received.
type countingTemplates struct {
	netflow.NetFlowTemplateSystem
	unknown *atomic.Uint64
}

// GetTemplate implements netflow.NetFlowTemplateSystem.
func (c countingTemplates) GetTemplate(version uint16, obsDomainID uint32, templateID uint16) (any, error) {
	t, err := c.NetFlowTemplateSystem.GetTemplate(version, obsDomainID, templateID)
	if errors.Is(err, netflow.ErrorTemplateNotFound) {
		c.unknown.Add(1)
	}
	return t, err
}
