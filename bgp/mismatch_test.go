package bgp

import "testing"

func TestMismatch(t *testing.T) {
	const local = 64500
	for _, c := range []struct {
		name              string
		traced, announced []uint32
		mismatch, ok      bool
	}{
		{"same", []uint32{64501, 64502, 64504}, []uint32{64501, 64502, 64504}, false, true},
		{"local AS first", []uint32{local, 64501, 64502}, []uint32{64501, 64502}, false, true},
		{"unknown hops hide an AS", []uint32{64501, 64504}, []uint32{64501, 64502, 64504}, false, true},
		{"prepends collapse", []uint32{64501, 64504}, []uint32{64501, 64504, 64504, 64504}, false, true},
		{"forged origin", []uint32{64501, 64502, 64504}, []uint32{64501, 64666}, true, true},
		{"leak through another AS", []uint32{64501, 64503, 64504}, []uint32{64501, 64502, 64504}, true, true},
		{"reversed order", []uint32{64502, 64501}, []uint32{64501, 64502}, true, true},
		{"local AS inside", []uint32{64501, local, 64502}, []uint32{64501, 64502}, false, true},
		{"nothing traced", nil, []uint32{64501}, false, false},
		{"only the local AS traced", []uint32{local}, []uint32{64501}, false, false},
		{"iBGP route without AS path", []uint32{64501}, nil, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, ok := Mismatch(c.traced, c.announced, local)
			if m != c.mismatch || ok != c.ok {
				t.Errorf("Mismatch(%v, %v) = %v, %v; want %v, %v", c.traced, c.announced, m, ok, c.mismatch, c.ok)
			}
		})
	}
}
