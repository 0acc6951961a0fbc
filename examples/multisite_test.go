package examples

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/traceroute-exporter/traceroute_exporter/internal/testenv"
)

// TestMultisiteConfigs checks the multi-site example configurations with
// Prometheus's own promtool: the agent's in agent mode, the central one's
// syntax (its rule file lives where the operator installs it). The agent
// configuration also runs for real in the end-to-end test
// TestShardsThroughAgentsToCentralPrometheus.
func TestMultisiteConfigs(t *testing.T) {
	promtool := testenv.Tool(t, "promtool")
	for _, args := range [][]string{
		{"check", "config", "--agent", filepath.Join("multisite", "prometheus-agent.yml")},
		{"check", "config", "--syntax-only", filepath.Join("multisite", "prometheus-central.yml")},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
