//go:build !wasip1

package e2e

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestArtifactsCarryThePolicyOfConfigJSON runs what a user runs after
// editing config.json, `corsctl render --check`, on the repository: every
// artifact that carries the plugin's policy (envoy.yaml, the compose
// configuration, the Istio and Envoy Gateway manifests under deploy/) must
// carry config.json's, with its own mode kept. It fails naming each
// artifact that differs, and the fields; `go run ./cmd/corsctl render`
// fixes them.
func TestArtifactsCarryThePolicyOfConfigJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: builds cmd/corsctl")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(gobin, "run", "./cmd/corsctl", "render", "--check")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("corsctl render --check: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "artifacts carry the policy of config.json") {
		t.Errorf("corsctl render --check printed %q", out)
	}
}
