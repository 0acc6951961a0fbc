package tracer

// stripIPv4Header removes the IPv4 header that a raw IPv4 socket delivers in
// front of the ICMP message and returns the message and the header's TTL.
func stripIPv4Header(b []byte) ([]byte, int, error) {
	if len(b) < ipv4Min {
		return nil, -1, ErrTruncated
	}
	if b[0]>>4 != 4 {
		return nil, -1, ErrBadQuote
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < ipv4Min || ihl > len(b) {
		return nil, -1, ErrTruncated
	}
	return b[ihl:], int(b[8]), nil
}
