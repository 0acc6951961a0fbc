package main

import "testing"

func TestEchoRequest(t *testing.T) {
	var buf [16]byte
	b := echoRequest(buf[:], 0x1234, 0xfffe)
	if len(b) != 16 || b[0] != 8 || b[1] != 0 || b[4] != 0x12 || b[5] != 0x34 || b[6] != 0xff || b[7] != 0xfe {
		t.Fatalf("echoRequest = % x", b)
	}
	if c := checksum(b); c != 0 {
		t.Fatalf("checksum over the message with its checksum = %#04x, want 0", c)
	}
}
