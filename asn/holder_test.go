package asn_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/asn"
)

func TestHolderReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "asn.tsv")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := netip.MustParseAddr("192.0.2.1")
	var h asn.Holder
	if _, ok := h.Lookup(addr); ok {
		t.Fatal("empty holder found something")
	}
	steps := []struct {
		name    string
		content string // "" with remove: the file is deleted
		remove  bool
		path    string // Reload argument; defaults to path
		wantErr bool
		asn     uint32 // expected afterwards; 0 for a miss
	}{
		{name: "first load", content: "192.0.2.0\t192.0.2.255\t64500\tZZ\tA\n", asn: 64500},
		{name: "new file replaces", content: "192.0.2.0\t192.0.2.255\t64501\tZZ\tB\n", asn: 64501},
		{name: "bad file keeps old", content: "garbage\n", wantErr: true, asn: 64501},
		{name: "missing file keeps old", remove: true, wantErr: true, asn: 64501},
		{name: "fixed file loads", content: "192.0.2.0\t192.0.2.255\t64502\n", asn: 64502},
		{name: "empty path clears", path: "-", asn: 0},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.remove {
				os.Remove(path)
			} else if s.content != "" {
				write(s.content)
			}
			p := path
			if s.path == "-" {
				p = ""
			}
			db, err := h.Reload(p)
			if (err != nil) != s.wantErr {
				t.Fatalf("Reload = %v, wantErr %v", err, s.wantErr)
			}
			if err == nil && db != h.Current() {
				t.Error("Reload did not return the current DB")
			}
			in, ok := h.Lookup(addr)
			if ok != (s.asn != 0) || in.ASN != s.asn {
				t.Errorf("Lookup = %+v, %v; want ASN %d", in, ok, s.asn)
			}
		})
	}
}

// TestHolderConcurrent looks up while reloading and setting; run with
// -race.
func TestHolderConcurrent(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.tsv")
	os.WriteFile(a, []byte("192.0.2.0\t192.0.2.255\t64500\n"), 0o644)
	m := geolite(t, dir, "b.mmdb")
	var h asn.Holder
	if _, err := h.Reload(a); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			addrs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				h.Lookup(addrs[i%2])
			}
		})
	}
	for i := range 20 {
		p := a
		if i%2 == 1 {
			p = m
		}
		if _, err := h.Reload(p); err != nil {
			t.Error(err)
		}
	}
	h.Set(nil)
	close(stop)
	wg.Wait()
}
