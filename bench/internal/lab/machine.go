package lab

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Machine describes the host a run measured.
type Machine struct {
	CPUs     int    `json:"cpus"`
	Model    string `json:"cpu_model"`
	Kernel   string `json:"kernel"`
	MemTotal string `json:"mem_total"`
	Go       string `json:"go"`
	Revision string `json:"revision"`
}

// DescribeMachine reads the CPU count and model, the kernel release, the
// memory size and the repository's revision (with "-modified" when the
// working tree differs from it).
func DescribeMachine(repo string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.Model = procField(string(b), "model name")
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal = procField(string(b), "MemTotal")
	}
	if out, err := exec.Command("git", "-C", repo, "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Revision = strings.TrimSpace(string(out))
		if exec.Command("git", "-C", repo, "diff", "--quiet", "HEAD").Run() != nil {
			m.Revision += "-modified"
		}
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc
// file such as cpuinfo or meminfo.
func procField(s, key string) string {
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// LoadAverage returns /proc/loadavg's 1, 5 and 15 minute averages.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
