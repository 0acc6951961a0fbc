// Package examples holds deployment examples and the tests that keep them
// honest: traceroute_exporter.service, a least-privilege systemd unit, and
// multisite/, the Prometheus agent and central configurations of many
// sites and shards.
package examples

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

const unitFile = "traceroute_exporter.service"

// maxExposure is the highest `systemd-analyze security` exposure (0 safe
// .. 10 unsafe) the unit may have; systemd calls up to 2.0 "OK". What
// remains is what tracing needs: the host's network, Internet sockets,
// CAP_NET_RAW, no IP address allow list, no private user namespace (see
// the unit's comments), /proc/stat for the process metrics, and the read
// access to the RTC that ProtectClock= grants. The unit scored 1.6 with
// systemd 252 when this was written, 1.7 once capset was allowed back so
// the exporter can drop CAP_NET_RAW after opening its sockets.
const maxExposure = 2.0

// unit is a parsed unit file: each section's directives in file order.
type unit map[string][][2]string

// parseUnit reads a systemd unit file: sections, Key=Value lines, comments
// (# or ;) and lines continued by a trailing backslash.
func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, section, cont := unit{}, "", ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cont != "" {
			line, cont = cont+" "+line, ""
		}
		if strings.HasSuffix(line, `\`) {
			cont = strings.TrimSuffix(line, `\`)
			continue
		}
		switch {
		case line == "", line[0] == '#', line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a directive in a section: %q", path, n, line)
			}
			u[section] = append(u[section], [2]string{strings.TrimSpace(k), strings.Join(strings.Fields(v), " ")})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// values returns every value of key in section, in file order.
func (u unit) values(section, key string) []string {
	var out []string
	for _, kv := range u[section] {
		if kv[0] == key {
			out = append(out, kv[1])
		}
	}
	return out
}

// value returns the last value of key in section (the one systemd uses for
// a single-valued setting), or "".
func (u unit) value(section, key string) string {
	v := u.values(section, key)
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// TestUnitHardening checks the directives that make the unit least
// privilege: a dedicated user with CAP_NET_RAW only, no way to gain more,
// a read-only system with the history in the state directory, the socket
// families the exporter uses and no others, and none of the settings that
// would break raw sockets.
func TestUnitHardening(t *testing.T) {
	u := parseUnit(t, unitFile)
	const s = "Service"
	if u.value(s, "DynamicUser") != "yes" && (u.value(s, "User") == "" || u.value(s, "User") == "root") {
		t.Error("the service must run as a dedicated user: DynamicUser=yes or User=traceroute_exporter")
	}
	for _, key := range []string{"AmbientCapabilities", "CapabilityBoundingSet"} {
		if got := u.values(s, key); !slices.Equal(got, []string{"CAP_NET_RAW"}) {
			t.Errorf("%s = %q, want exactly CAP_NET_RAW", key, got)
		}
	}
	for key, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
		"ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes",
		"ProtectHostname": "yes", "ProtectProc": "invisible", "MemoryDenyWriteExecute": "yes",
		"LockPersonality": "yes", "RestrictRealtime": "yes", "RestrictNamespaces": "yes",
		"RestrictSUIDSGID": "yes", "SystemCallArchitectures": "native",
		"StateDirectory": "traceroute_exporter", "UMask": "0077",
	} {
		if got := u.value(s, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if filters := u.values(s, "SystemCallFilter"); !slices.Contains(filters, "@system-service") {
		t.Errorf("SystemCallFilter = %q, want @system-service among them", filters)
	}
	families := strings.Fields(u.value(s, "RestrictAddressFamilies"))
	for _, f := range families {
		if !slices.Contains([]string{"AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"}, f) {
			t.Errorf("RestrictAddressFamilies allows %s, which the exporter does not use", f)
		}
	}
	if !slices.Contains(families, "AF_INET") || !slices.Contains(families, "AF_INET6") {
		t.Errorf("RestrictAddressFamilies = %q: the probe sockets need AF_INET and AF_INET6", families)
	}
	for _, key := range []string{"PrivateUsers", "PrivateNetwork"} {
		if v := u.value(s, key); v != "" && v != "no" && v != "false" {
			t.Errorf("%s=%s: the exporter needs CAP_NET_RAW in the host's network namespace", key, v)
		}
	}

	start := u.value(s, "ExecStart")
	if !regexp.MustCompile(`--storage\.path=(%S|/var/lib)/traceroute_exporter/`).MatchString(start) {
		t.Errorf("ExecStart %q must keep the history (--storage.path) in the state directory", start)
	}
	flags := exporterFlags(t)
	for _, m := range regexp.MustCompile(`--([a-z][a-z0-9.-]*)`).FindAllStringSubmatch(start, -1) {
		if !flags[m[1]] {
			t.Errorf("ExecStart passes --%s, which the exporter does not have", m[1])
		}
	}
}

// exporterFlags returns the names of the exporter's flags: those main.go
// declares and those exporter-toolkit adds.
func exporterFlags(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{"web.listen-address": true, "web.config.file": true, "web.systemd-socket": true}
	for _, m := range regexp.MustCompile(`Flag\("([a-z0-9.-]+)"`).FindAllStringSubmatch(string(b), -1) {
		flags[m[1]] = true
	}
	if !flags["storage.path"] || !flags["config.file"] {
		t.Fatalf("cannot find the exporter's flags in main.go (found %v)", flags)
	}
	return flags
}

// TestUnitSystemdAnalyze has systemd check the unit: `systemd-analyze
// verify` must find nothing to say (it warns, and still exits 0, for an
// unknown key or a bad value), and `systemd-analyze security` must rate its
// exposure at most maxExposure.
func TestUnitSystemdAnalyze(t *testing.T) {
	analyze := testenv.Tool(t, "systemd-analyze")

	// verify checks that ExecStart names an executable: check a copy that
	// starts one that exists.
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), unitFile)
	if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/traceroute_exporter", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", tmp).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	out, err = exec.Command(analyze, "security", "--offline=true", "--no-pager", unitFile).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(unitFile) + `: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd-analyze security: exposure %.1f (at most %.1f)", score, maxExposure)
	if score > maxExposure {
		t.Errorf("exposure %.1f is above %.1f; what systemd-analyze found:\n%s", score, maxExposure, out)
	}
}
