package tracer

import (
	"context"
	"errors"
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
	// Unmatched counts well-formed replies that answered no live probe
	// (another program's, a removed target's, or forged); they are dropped.
	Unmatched uint64
	// Late counts replies the kernel received after their probe's timeout;
	// they are dropped and never used as an RTT.
	Late uint64
	// Malformed counts packets that could not be decoded; they are dropped.
	Malformed uint64
	// SocketDrops is the number of packets the kernel dropped because a
	// socket's receive buffer was full.
	SocketDrops uint64
	// NoSocket counts intervals skipped because the target's address
	// family has no socket.
	NoSocket uint64
	// BadExtensions counts ICMP extensions (RFC 4884) that did not
	// decode; their replies were still matched.
	BadExtensions uint64
	// ProbesSkipped counts probes the packet budget (Options.RateLimit)
	// held back until their interval was over: they were never sent.
	ProbesSkipped uint64
	// HopProbesSkipped counts probes the hop budget (Options.HopRateLimit)
	// held back because the router their TTL expires at had been asked
	// enough: they were never sent, and count as neither sent nor lost.
	HopProbesSkipped uint64
}

type counters struct {
	sent, replies, sendErrors, unmatched, late, malformed, noSocket, badExt, skipped, hopSkipped atomic.Uint64
	drops                                                                                        [2][nSocks]atomic.Uint64
}

// Options configure an Engine.
type Options struct {
	// Conn4 and Conn6 are the shared ICMP sockets of each family; either
	// may be nil, and targets of that family are then not traced. They
	// send ICMP probes and receive every ICMP reply.
	Conn4, Conn6 PacketConn
	// UDP4, UDP6 send UDP probes; TCP4, TCP6 send TCP probes and receive
	// the destination's SYN-ACK and RST. Any may be nil: targets of that
	// protocol and family are then not traced.
	UDP4, UDP6, TCP4, TCP6 PacketConn
	// ICMPID4 and ICMPID6, when not zero, are the ICMP identifiers the
	// sockets impose (datagram "ping" sockets, ListenICMPUnprivileged):
	// every ICMP flow of that family uses it, and flows to one destination
	// are told apart by their sequence numbers alone.
	ICMPID4, ICMPID6 uint16
	// RateLimit is the packet budget: at most this many probes a second,
	// in bursts of at most RateBurst (default: a tenth of a second's
	// worth); 0 means no limit. A round the budget holds back goes on
	// when it allows; what cannot go out within its interval is skipped
	// and counted (Stats.ProbesSkipped).
	RateLimit float64
	RateBurst int
	// HopRateLimit is the hop budget: at most this many probes a second
	// that expire at one router (asking it for a Time Exceeded), in
	// bursts of at most HopRateBurst (default: five seconds' worth); 0
	// means no limit. A probe it holds back is skipped at once and
	// counted (Stats.HopProbesSkipped); see hopbudget.go.
	HopRateLimit float64
	HopRateBurst int
	// Now is the clock; it must carry a monotonic reading (time.Now does).
	// Default time.Now.
	Now func() time.Time
}

type incoming struct {
	reply   Reply
	from    netip.Addr
	ttl     int
	at      time.Time
	fam     int
	sock    sockKind
	drained bool
}

type request struct {
	target *Target
	remove bool
	done   chan struct{}
}

// Engine runs every target's intervals from one event loop: the loop owns
// all state and schedules intervals, rounds and deadlines on one heap with
// one timer; one goroutine per socket reads replies; finished intervals
// are handed to a delivery goroutine, so summaries and logging never delay
// a probe.
type Engine struct {
	opts  Options
	now   func() time.Time
	stats counters
	in    chan incoming
	out   *queue

	mu      sync.Mutex
	reqs    []request
	kick    chan struct{}
	stopped chan struct{}
}

// New returns an engine over the given sockets. Call Run to start it.
func New(o Options) *Engine {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Engine{
		opts:    o,
		now:     now,
		in:      make(chan incoming, 4096),
		out:     newQueue(),
		kick:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
}

// Add starts tracing t. It does not wait for the loop.
func (e *Engine) Add(t *Target) {
	e.request(request{target: t})
}

// Remove stops tracing t. When it returns, the loop has cancelled t's
// interval in progress: no further probe of t is sent and no further
// result of t is delivered.
func (e *Engine) Remove(t *Target) {
	t.gone.Store(true)
	done := make(chan struct{})
	e.request(request{target: t, remove: true, done: done})
	select {
	case <-done:
	case <-e.stopped:
	}
}

func (e *Engine) request(r request) {
	e.mu.Lock()
	e.reqs = append(e.reqs, r)
	e.mu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{
		ProbesSent:       e.stats.sent.Load(),
		Replies:          e.stats.replies.Load(),
		SendErrors:       e.stats.sendErrors.Load(),
		Unmatched:        e.stats.unmatched.Load(),
		Late:             e.stats.late.Load(),
		Malformed:        e.stats.malformed.Load(),
		SocketDrops:      e.socketDrops(),
		NoSocket:         e.stats.noSocket.Load(),
		BadExtensions:    e.stats.badExt.Load(),
		ProbesSkipped:    e.stats.skipped.Load(),
		HopProbesSkipped: e.stats.hopSkipped.Load(),
	}
}

func (e *Engine) socketDrops() uint64 {
	var n uint64
	for fam := range e.stats.drops {
		for k := range e.stats.drops[fam] {
			n += e.stats.drops[fam][k].Load()
		}
	}
	return n
}

// Run drives the engine until ctx ends, then closes the sockets.
func (e *Engine) Run(ctx context.Context) error {
	defer close(e.stopped)
	o := e.opts
	conns := [2][nSocks]PacketConn{{o.Conn4, o.UDP4, o.TCP4}, {o.Conn6, o.UDP6, o.TCP6}}
	c := newCore(conns, e.now, &e.stats, func(t *Target, r Result) { e.out.push(t, r) })
	c.budget = newBudget(e.opts.RateLimit, burstOf(e.opts))
	c.hops = newHopBudget(e.opts.HopRateLimit, hopBurstOf(e.opts))
	c.fixedID = [2]uint16{o.ICMPID4, o.ICMPID6}
	var wg sync.WaitGroup
	for fam := range conns {
		for k, conn := range conns[fam] {
			if conn == nil || !receives(sockKind(k)) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.read(ctx, conn, fam, sockKind(k))
			}()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.out.run(ctx)
	}()
	defer func() {
		for fam := range conns {
			for _, conn := range conns[fam] {
				if conn != nil {
					conn.Close()
				}
			}
		}
		// Run returns only once ctx is done, which stops the goroutines.
		// Otherwise the loop panicked: waiting for them would hang the
		// process with the panic swallowed, so let it go on.
		if ctx.Err() != nil {
			wg.Wait()
		}
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
		case <-e.kick:
			e.serve(c)
		case p := <-e.in:
			e.handle(c, p)
			// Handle what else is queued before the timer, so expiry
			// sees the replies that are already here.
			for n := len(e.in); n > 0; n-- {
				e.handle(c, <-e.in)
			}
		case <-timer.C:
		}
		c.advance(e.now())
	}
}

func (e *Engine) serve(c *core) {
	e.mu.Lock()
	reqs := e.reqs
	e.reqs = nil
	e.mu.Unlock()
	now := e.now()
	for _, r := range reqs {
		if r.remove {
			c.remove(r.target)
			close(r.done)
		} else {
			c.add(now, r.target)
		}
	}
}

func (e *Engine) handle(c *core, p incoming) {
	now := e.now()
	if p.drained {
		c.drained(now, p.fam, p.sock, p.at)
		return
	}
	c.reply(now, p.at, p.reply, p.from, p.ttl)
}

// hopExt is what a router said about itself in ICMP extensions (RFC 4884):
// the MPLS label stack the probe carried (RFC 4950) and the interface it
// arrived on (RFC 5837).
type hopExt struct {
	mpls, iface string
}

// extensions decodes the extensions of an ICMP error; nil when it has none.
// A malformed extension is counted and never affects matching.
func (e *Engine) extensions(v6 bool, msg []byte) *hopExt {
	x := ParseExtensions(v6, msg)
	if x.Malformed() {
		e.stats.badExt.Add(1)
	}
	if len(x.MPLS) == 0 && len(x.Interfaces) == 0 {
		return nil
	}
	return &hopExt{mpls: x.MPLSString(), iface: x.InterfaceString()}
}

// read decodes every packet of one socket and hands replies and drain
// watermarks to the loop, in the order the socket gave them.
func (e *Engine) read(ctx context.Context, conn PacketConn, fam int, k sockKind) {
	decode := func(b []byte, _ netip.Addr) (Reply, error) { return ParseReply(fam == 1, b) }
	if k == sockTCP {
		decode = func(b []byte, from netip.Addr) (Reply, error) { return parseTCPAnswer(fam == 1, b, from) }
	}
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
		if p.Drops > 0 {
			e.stats.drops[fam][k].Store(uint64(p.Drops))
		}
		var m incoming
		if p.Drained {
			m = incoming{drained: true, fam: fam, sock: k, at: p.Time}
		} else {
			at := p.Time
			if at.IsZero() {
				at = e.now()
			}
			r, err := decode(p.Data, p.From)
			switch {
			case errors.Is(err, ErrNotReply), errors.Is(err, ErrNotOurProbe):
				e.stats.unmatched.Add(1)
				continue
			case err != nil:
				e.stats.malformed.Add(1)
				continue
			}
			m = incoming{reply: r, from: p.From, ttl: p.TTL, at: at, fam: fam, sock: k}
			if k == sockICMP && r.Kind != KindReached {
				m.reply.ext = e.extensions(fam == 1, p.Data)
			}
		}
		select {
		case e.in <- m:
		case <-ctx.Done():
			return
		}
	}
}
