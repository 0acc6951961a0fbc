// Package bgp is the exporter's view of the BGP routing table: a passive
// BGP speaker (RFC 4271, with multiprotocol IPv6 unicast, RFC 4760)
// embedded with github.com/osrg/gobgp/v4, which receives routes from the
// configured neighbors and never announces any, and the pure parts the
// rest of the exporter reads:
//
//   - [Table]: the best route of every prefix, the longest match covering
//     an address, and for every tracked address (a target's) the changes
//     of its covering route (table.go);
//   - [Mismatch]: whether the AS path seen by tracing is consistent with
//     the announced one (mismatch.go);
//   - [Speaker]: the gobgp server, its neighbors (added and removed on
//     reload without disturbing the others) and their sessions
//     (speaker.go, convert.go).
//
// Nothing outside speaker.go and convert.go knows of gobgp.
package bgp
