// Package tracer is the probe engine of traceroute_exporter: it sends ICMP
// Echo probes with increasing TTL (hop limit) over one shared raw socket per
// address family and matches the replies to the probes they answer.
//
// The package knows nothing of Prometheus. It is split by concern:
//
//   - packet.go: pure encoding of Echo Requests and decoding of Echo Reply,
//     Time Exceeded and Destination Unreachable messages (RFC 792 for ICMPv4,
//     RFC 4443 for ICMPv6), including the quoted datagram that identifies the
//     probe an error answers.
//   - checksum.go: the Internet checksum (RFC 1071) and the Paris-traceroute
//     payload compensation (arithmetic of RFC 1624) that keeps the checksum,
//     and so the flow, of every probe of a target constant.
//   - conn.go, socket_linux.go: the small PacketConn interface all socket I/O
//     goes through, and its raw-socket implementation.
//   - core.go, events.go: the scheduling state machine (rounds spread over an
//     interval, parallel TTLs, timeouts, reply matching), driven by explicit
//     times so it is tested without sockets, privileges or sleeps.
//   - engine.go: the event loop that drives the core from one timer, one
//     reader goroutine per socket and a request channel.
package tracer
