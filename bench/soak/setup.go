package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/anyip"
	"github.com/traceroute-exporter/traceroute_exporter/bench/internal/lab"
)

// Target i of n is configured by these rules, so that every code path a
// real configuration takes runs: one in ten is a DNS name (h0000.soak.test
// from the source namespace's hosts file); i%10 == 3 probes UDP and
// i%10 == 7 TCP, the rest ICMP; intervals are 10 s (i%4 == 0), 20 s
// (i%4 == 1) or 30 s; one in twenty traces two Paris flows; every target
// has a site label.

// isName reports whether target i is configured by DNS name.
func isName(i int) bool { return i%10 == 0 }

// hostName is the DNS name of target i.
func hostName(i int) string { return fmt.Sprintf("h%04d.soak.test", i) }

// targetConfig writes the YAML of target i: address anyip.Addr(i) or its
// name; changed gives it a different probe count (a reload that changes
// the target).
func targetConfig(w io.Writer, i int, changed bool) {
	host := anyip.Addr(i).String()
	if isName(i) {
		host = hostName(i)
	}
	fmt.Fprintf(w, "  - name: t%04d\n    host: %s\n", i, host)
	switch i % 10 {
	case 3:
		fmt.Fprintf(w, "    protocol: udp\n")
	case 7:
		fmt.Fprintf(w, "    protocol: tcp\n")
	}
	switch i % 4 {
	case 0:
		fmt.Fprintf(w, "    interval: 10s\n")
	case 1:
		fmt.Fprintf(w, "    interval: 20s\n")
	}
	if i%20 == 5 {
		fmt.Fprintf(w, "    flows: 2\n")
	}
	if changed {
		fmt.Fprintf(w, "    probes: 8\n")
	}
	fmt.Fprintf(w, "    labels: {site: s%d}\n", i%5)
}

// configVariant is how a configuration differs from the plain one.
type configVariant int

const (
	configPlain   configVariant = iota
	configChanged               // the last 5% of the targets removed, the 5% before them changed
	configBad                   // not a valid file: the reload must fail and keep the running one
)

// writeConfig writes the configuration of n targets, in place (same
// inode), in variant v.
func writeConfig(path string, n int, v configVariant) error {
	return writeFile(path, func(w io.Writer) {
		if v == configBad {
			fmt.Fprintf(w, "defaults:\n  interval: soon\ntargets: [\n")
			return
		}
		fmt.Fprintf(w, "defaults:\n  protocol: icmp\n  interval: 30s\n  probes: 10\n  timeout: 2s\n  max_hops: 16\ntargets:\n")
		keep, change := n, n
		if v == configChanged {
			keep = n - n/20
			change = keep - n/20
		}
		for i := range keep {
			targetConfig(w, i, i >= change)
		}
	})
}

// writeHosts writes the hosts file of the source namespace: the names of
// the targets of n that use one, at their own address, or, when moved, at
// the address of target i+n (also in anyip.Prefix) with every seventh
// name gone.
func writeHosts(path string, n int, moved bool) error {
	return writeFile(path, func(w io.Writer) {
		fmt.Fprintf(w, "127.0.0.1\tlocalhost\n")
		for i := 0; i < n; i++ {
			if !isName(i) {
				continue
			}
			switch {
			case !moved:
				fmt.Fprintf(w, "%s\t%s\n", anyip.Addr(i), hostName(i))
			case i%7 != 0:
				fmt.Fprintf(w, "%s\t%s\n", anyip.Addr(i+n), hostName(i))
			}
		}
	})
}

// writeASN writes an iptoasn-style TSV: each link 198.18.k.0/24 of the
// chain in AS 64500+k, the AnyIP destinations in AS 64510. corrupt writes
// bytes that start like gzip and are not.
func writeASN(path string, corrupt bool) error {
	return writeFile(path, func(w io.Writer) {
		if corrupt {
			w.Write([]byte{0x1f, 0x8b, 0x08, 0x00, 'n', 'o', 't', ' ', 'g', 'z', 'i', 'p'})
			return
		}
		for k := 1; k < len(lab.Nodes); k++ {
			fmt.Fprintf(w, "198.18.%d.0\t198.18.%d.255\t%d\tZZ\tSOAK-LINK-%d\n", k, k, 64500+k, k)
		}
		fmt.Fprintf(w, "198.19.0.0\t198.19.255.255\t64510\tZZ\tSOAK-DESTINATIONS\n")
	})
}

// writeFile truncates and rewrites path in place, so a bind mount of it
// (the namespace's hosts file) sees the new content.
func writeFile(path string, fill func(io.Writer)) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fill(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// netnsEtc is /etc/netns/NS, whose files `ip netns exec` mounts over
// /etc for processes in namespace NS.
func netnsEtc(ns string) string { return filepath.Join("/etc/netns", ns) }

// exporterFlags are the exporter's flags for the soak.
func exporterFlags(cfg, listen, store, asn string) []string {
	return []string{"--config.file=" + cfg, "--web.listen-address=" + listen, "--storage.path=" + store,
		"--asn.database=" + asn, "--dns.refresh-interval=" + (30 * time.Second).String(), "--log.level=info"}
}
