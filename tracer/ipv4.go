package tracer

// ipv4HeaderLen validates the IPv4 header at the start of b (version 4, an
// IHL of at least 20 bytes that fits in b) and returns its length.
func ipv4HeaderLen(b []byte) (int, error) {
	if len(b) < ipv4Min {
		return 0, ErrTruncated
	}
	if b[0]>>4 != 4 {
		return 0, ErrBadQuote
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < ipv4Min {
		return 0, ErrBadQuote
	}
	if ihl > len(b) {
		return 0, ErrTruncated
	}
	return ihl, nil
}

// stripIPv4Header removes the IPv4 header that a raw IPv4 socket delivers in
// front of the ICMP message and returns the message and the header's TTL.
func stripIPv4Header(b []byte) ([]byte, int, error) {
	ihl, err := ipv4HeaderLen(b)
	if err != nil {
		return nil, -1, err
	}
	return b[ihl:], int(b[8]), nil
}
