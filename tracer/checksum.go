package tracer

// checksum returns the Internet checksum of b (RFC 1071): the ones'
// complement of the ones' complement sum of its 16-bit big-endian words.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// compensation returns the 16-bit word that, placed in the payload of an
// Echo Request whose sequence number is seq, cancels seq out of the ones'
// complement sum: seq + ^seq is 0xffff, the ones' complement zero (RFC 1624).
// Every probe of a flow then has the same checksum whatever its sequence
// number, so a load balancer that hashes the first bytes of the ICMP header
// (Paris traceroute) keeps all of them on one path.
func compensation(seq uint16) uint16 {
	return ^seq
}
