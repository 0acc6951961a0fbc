package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// TestWebSecurity runs the binary with a --web.config.file that turns on
// TLS (a self-signed certificate made here) and basic auth (a bcrypt
// hash), in a namespace of its own whose only network is loopback, tracing
// 127.0.0.1. Every endpoint must answer the right password over TLS and
// refuse (401) a wrong one or none; plain HTTP and TLS below 1.2 must not
// get through; /-/reload must refuse GET (405) and reload on POST; and no
// page, API or metrics body may reveal the configuration file's path, the
// web configuration's path, the password or its hash.
func TestWebSecurity(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped with -short")
	}
	testenv.Root(t)
	testenv.Tool(t, "ip")
	l := newLab(t, false)
	l.addNode("web")
	ns := l.name("web")

	const user = "prometheus"
	password := rand.Text()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webDir := t.TempDir()
	certPEM := writeSelfSigned(t, webDir)
	webConfig := writeFile(t, webDir, "web-config.yml", fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n",
		filepath.Join(webDir, "cert.pem"), filepath.Join(webDir, "key.pem"), user, hash))

	const cfg = "targets:\n  - {name: lo4, host: 127.0.0.1, interval: 1s, probes: 2, timeout: 500ms}\n"
	e := startExporter(t, ns, 10188, cfg, "--web.config.file="+webConfig)
	secrets := map[string]string{"configuration path": e.config, "web configuration path": webConfig,
		"web configuration directory": webDir, "password": password, "password hash": string(hash)}

	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		t.Fatal("cannot use the generated certificate")
	}
	trusted := tlsClient(ns, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	base := "https://" + e.addr
	get := func(c *http.Client, method, path, user, pass string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" || pass != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: reading the body: %v", method, path, err)
		}
		for what, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s %s (status %d) reveals the %s %q", method, path, resp.StatusCode, what, s)
			}
		}
		return resp.StatusCode, resp.Header, string(b)
	}

	// Wait for the first interval, so the pages and the API have a path.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, body := get(trusted, "GET", "/metrics", user, password)
		if code == http.StatusOK && strings.Contains(body, `traceroute_destination_reached{target="lo4"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("127.0.0.1 not reached over TLS with basic auth within 10s: last status %d\n%s", code, e.log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	pages := []struct{ path, want string }{
		{"/metrics", "traceroute_hops{"},
		{"/api/v1/targets", `"lo4"`},
		{"/api/v1/targets/lo4", `"lo4"`},
		{"/", "lo4"},
		{"/targets/lo4", "lo4"},
		{"/targets/lo4/path.svg", "<svg"},
		{"/-/healthy", "Healthy"},
		{"/-/ready", "Ready"},
	}
	for _, p := range pages {
		if code, h, body := get(trusted, "GET", p.path, user, password); code != http.StatusOK || !strings.Contains(body, p.want) {
			t.Errorf("GET %s with the password over TLS: %d, body without %q:\n%.300s", p.path, code, p.want, body)
		} else if strings.HasPrefix(h.Get("Content-Type"), "text/html") && (h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") == "") {
			t.Errorf("GET %s: page without nosniff and a content security policy: %v", p.path, h)
		}
		for _, cred := range [][2]string{{user, password + "x"}, {user, string(hash)}, {"admin", password}, {"", ""}} {
			code, h, _ := get(trusted, "GET", p.path, cred[0], cred[1])
			if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("GET %s as %q with a wrong password or none: %d (WWW-Authenticate %q), want 401 asking for basic auth",
					p.path, cred[0], code, h.Get("WWW-Authenticate"))
			}
		}
	}
	if code, _, _ := get(trusted, "POST", "/-/reload", user, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("POST /-/reload with a wrong password: %d, want 401", code)
	}

	// /-/reload: GET is refused, POST reloads (a new target appears).
	if code, h, _ := get(trusted, "GET", "/-/reload", user, password); code != http.StatusMethodNotAllowed || h.Get("Allow") != http.MethodPost {
		t.Errorf("GET /-/reload: %d (Allow %q), want 405 allowing POST", code, h.Get("Allow"))
	}
	writeFile(t, filepath.Dir(e.config), filepath.Base(e.config), cfg+"  - {name: lo4b, host: 127.0.0.1, interval: 1s, probes: 2, timeout: 500ms}\n")
	if code, _, body := get(trusted, "POST", "/-/reload", user, password); code != http.StatusOK {
		t.Errorf("POST /-/reload: %d %q, want 200", code, body)
	}
	if code, _, body := get(trusted, "GET", "/api/v1/targets", user, password); code != http.StatusOK || !strings.Contains(body, `"lo4b"`) {
		t.Errorf("after POST /-/reload, /api/v1/targets: %d without the new target lo4b:\n%.300s", code, body)
	}

	// Nothing gets through without TLS 1.2 or later and our certificate.
	plain := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dialer(ns)}}
	req, _ := http.NewRequest("GET", "http://"+e.addr+"/metrics", nil)
	req.SetBasicAuth(user, password)
	if resp, err := plain.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(b), "traceroute_") {
			t.Errorf("plain HTTP to the TLS port: %d %q, want the request refused", resp.StatusCode, b)
		}
	}
	for name, c := range map[string]*http.Client{
		"an untrusted certificate": tlsClient(ns, &tls.Config{ServerName: "127.0.0.1"}),
		"TLS 1.1":                  tlsClient(ns, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}),
	} {
		if resp, err := c.Get(base + "/-/healthy"); err == nil {
			resp.Body.Close()
			t.Errorf("a client with %s connected: %s", name, resp.Status)
		}
	}
}

// tlsClient is an HTTPS client that connects from inside namespace ns.
func tlsClient(ns string, cfg *tls.Config) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dialer(ns), TLSClientConfig: cfg}}
}

// writeSelfSigned writes cert.pem and key.pem into dir: a self-signed
// ECDSA certificate for 127.0.0.1 and localhost, valid for an hour. It
// returns the certificate in PEM.
func writeSelfSigned(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "traceroute_exporter e2e"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:    []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	writeFile(t, dir, "cert.pem", string(certPEM))
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}
