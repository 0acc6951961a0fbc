package lab

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// CPUTicks returns the CPU time (user + system, every thread, the dead
// included) the process has used, in clock ticks.
func CPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatTicks(string(b))
}

// parseStatTicks returns utime + stime (fields 14 and 15) of a
// /proc/PID/stat line. The command name in parentheses may contain spaces
// and parentheses, so fields are counted from the last ')'.
func parseStatTicks(s string) (int64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no ')' in %q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command", len(f))
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat utime: %w", err)
	}
	st, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat stime: %w", err)
	}
	return u + st, nil
}

// Memory is a process's resident set from /proc/PID/status, in bytes.
type Memory struct {
	RSS  int64 // VmRSS: now
	Peak int64 // VmHWM: the high-water mark since the process started
}

// ReadMemory reads the process's VmRSS and VmHWM.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	return parseStatus(string(b))
}

// parseStatus extracts VmRSS and VmHWM (kB) from /proc/PID/status.
func parseStatus(s string) (Memory, error) {
	var m Memory
	found := 0
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("status: bad %s line %q", k, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("status %s: %w", k, err)
		}
		if k == "VmRSS" {
			m.RSS = n << 10
		} else {
			m.Peak = n << 10
		}
		found++
	}
	if found != 2 {
		return Memory{}, fmt.Errorf("status: VmRSS or VmHWM missing")
	}
	return m, nil
}

// TxPackets returns the packets sent on interface dev of the network
// namespace process pid is in (/proc/PID/net/dev shows that namespace).
func TxPackets(pid int, dev string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return 0, err
	}
	return parseNetDevTx(string(b), dev)
}

// parseNetDevTx returns the transmitted packets of dev from /proc/net/dev:
// after "dev:", eight receive counters, then transmit bytes and packets.
func parseNetDevTx(s, dev string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) != dev {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 10 {
			return 0, fmt.Errorf("net/dev: short line for %s", dev)
		}
		return strconv.ParseInt(f[9], 10, 64)
	}
	return 0, fmt.Errorf("net/dev: no interface %s", dev)
}

// ClockTicks returns the kernel's clock ticks per second (getconf CLK_TCK;
// 100 if that fails, the value of every common Linux configuration).
func ClockTicks() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || n <= 0 {
		return 100
	}
	return n
}

// OpenFDs returns the number of open file descriptors of process pid (the
// entries of /proc/PID/fd).
func OpenFDs(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	return len(ents), nil
}
