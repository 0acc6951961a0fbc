// Package tracer is the probe engine of traceroute_exporter: it sends
// probes with increasing TTL (hop limit) over shared sockets, one per
// address family and protocol, and matches the replies to the probes they
// answer. ICMP Echo (RFC 792, RFC 4443), UDP and TCP SYN probes are Paris
// traceroute flows: everything a load balancer hashes stays constant.
//
// The package knows nothing of Prometheus. It is split by concern:
//
//   - method.go: the probe-method seam (icmp, udp, tcp): how a flow's
//     probes are built and what a reply means (router, destination,
//     unreachable).
//   - packet.go, udp.go, tcp.go, extension.go: pure encoding and decoding:
//     Echo Requests, Paris UDP probes (identity in the checksum) and TCP
//     SYNs (identity in the sequence number); Time Exceeded and
//     Destination Unreachable with the quoted datagram that identifies the
//     probe; RFC 4884 extensions (MPLS, RFC 4950; interface information,
//     RFC 5837).
//   - checksum.go: the Internet checksum (RFC 1071) and the Paris payload
//     compensation (the arithmetic of RFC 1624).
//   - conn.go: the small PacketConn interface all socket I/O goes through,
//     with drain watermarks; socket_linux.go, read_linux.go, cmsg_linux.go,
//     route_linux.go: the raw-socket implementation (kernel receive times,
//     socket filters); socket_dgram_linux.go, errqueue_linux.go: ICMP
//     datagram ("ping") sockets for running without CAP_NET_RAW.
//   - core.go, expire.go, schedule.go, target.go, events.go: the state
//     machine (intervals and rounds on one event heap, parallel TTLs,
//     deadlines judged by kernel receive times, reply matching), driven by
//     explicit times so it is tested without sockets, privileges or sleeps.
//   - budget.go: the packet budget (probes a second from the process);
//     hopbudget.go, hopset.go: the hop budget (probes a second whose TTL
//     expires at one router, so routers every target shares are sampled
//     within their ICMP rate limit instead of shedding replies).
//   - engine.go, queue.go: the event loop that drives the core from one
//     timer, one reader goroutine per receiving socket and a request queue,
//     and hands finished intervals to a delivery goroutine.
package tracer
