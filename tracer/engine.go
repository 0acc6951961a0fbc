package tracer

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the engine's cumulative counters.
type Stats struct {
	// ProbesSent and Replies count probes sent and replies matched to them.
	ProbesSent, Replies uint64
	// SendErrors counts probes the socket refused.
	SendErrors uint64
	// Unmatched counts well-formed replies that answered no in-flight
	// probe (late, duplicate, or another program's); they are dropped.
	Unmatched uint64
	// Malformed counts packets that could not be decoded; they are dropped.
	Malformed uint64
}

type counters struct {
	sent, replies, sendErrors, unmatched, malformed atomic.Uint64
}

// Options configure an Engine.
type Options struct {
	// Conn4 and Conn6 are the shared sockets of each family; either may be
	// nil, and probes of that family then fail with ErrNoSocket.
	Conn4, Conn6 PacketConn
	// Now is the clock; it must carry a monotonic reading (time.Now does).
	// Default time.Now.
	Now func() time.Time
}

type startReq struct {
	flow *Flow
	spec Spec
	done func(Result)
	errc chan error
}

type incoming struct {
	reply Reply
	from  netip.Addr
	ttl   int
	at    time.Time
}

// Engine runs every target's probes from one event loop: one goroutine per
// socket reads replies, the loop owns all state, and a single timer wakes
// it for the next round or timeout.
type Engine struct {
	opts  Options
	now   func() time.Time
	stats counters
	reqs  chan startReq
	in    chan incoming

	mu  sync.Mutex
	ids map[uint16]bool
}

// New returns an engine over the given sockets. Call Run to start it.
func New(o Options) *Engine {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Engine{
		opts: o,
		now:  now,
		reqs: make(chan startReq),
		in:   make(chan incoming, 4096),
		ids:  make(map[uint16]bool),
	}
}

// NewFlow allocates a flow with a random ICMP identifier not used by any
// other live flow of this engine. Random identifiers keep two exporters on
// one host from taking each other's replies.
func (e *Engine) NewFlow() *Flow {
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		id := uint16(rand.Uint32())
		if !e.ids[id] || len(e.ids) >= 1<<16 {
			e.ids[id] = true
			return &Flow{id: id, seq: uint16(rand.Uint32())}
		}
	}
}

// ReleaseFlow returns a flow's identifier once its target is gone.
func (e *Engine) ReleaseFlow(f *Flow) {
	e.mu.Lock()
	delete(e.ids, f.id)
	e.mu.Unlock()
}

// Start begins one interval of tracing. done is called on the engine's loop
// once the interval is over and every probe is answered or timed out; it
// must not block. Start fails with ErrNoSocket when the destination's
// family has no socket, and with the context's error when ctx ends first.
func (e *Engine) Start(ctx context.Context, f *Flow, s Spec, done func(Result)) error {
	req := startReq{flow: f, spec: s, done: done, errc: make(chan error, 1)}
	select {
	case e.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.errc
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{
		ProbesSent: e.stats.sent.Load(),
		Replies:    e.stats.replies.Load(),
		SendErrors: e.stats.sendErrors.Load(),
		Unmatched:  e.stats.unmatched.Load(),
		Malformed:  e.stats.malformed.Load(),
	}
}

// Run drives the engine until ctx ends, then closes the sockets.
func (e *Engine) Run(ctx context.Context) error {
	c := newCore(e.opts.Conn4, e.opts.Conn6, &e.stats)
	var wg sync.WaitGroup
	for i, conn := range c.conns {
		if conn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.read(ctx, conn, i == 1)
		}()
	}
	defer func() {
		for _, conn := range c.conns {
			if conn != nil {
				conn.Close()
			}
		}
		wg.Wait()
	}()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if at, ok := c.next(); ok {
			timer.Reset(max(0, at.Sub(e.now())))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case r := <-e.reqs:
			r.errc <- c.start(e.now(), r.flow, r.spec, r.done)
		case p := <-e.in:
			c.reply(p.at, p.reply, p.from, p.ttl)
		case <-timer.C:
		}
		c.advance(e.now())
	}
}

// read decodes every packet of one socket and hands replies to the loop.
func (e *Engine) read(ctx context.Context, conn PacketConn, v6 bool) {
	buf := make([]byte, 1500)
	for {
		p, err := conn.ReadPacket(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient read error (e.g. ENOBUFS): count it and go on.
			e.stats.malformed.Add(1)
			continue
		}
		at := p.Time
		if at.IsZero() {
			at = e.now()
		}
		r, err := ParseReply(v6, p.Data)
		switch {
		case errors.Is(err, ErrNotReply), errors.Is(err, ErrNotOurProbe):
			e.stats.unmatched.Add(1)
			continue
		case err != nil:
			e.stats.malformed.Add(1)
			continue
		}
		select {
		case e.in <- incoming{reply: r, from: p.From, ttl: p.TTL, at: at}:
		case <-ctx.Done():
			return
		}
	}
}
