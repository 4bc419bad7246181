package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConformance: the built-in suite passes on local; a case whose
// expectation is wrong fails the command with its reason.
func TestConformance(t *testing.T) {
	code, stdout, stderr := sluice(t, "conformance", "--run", "^(params|fanout)$")
	if code != 0 || !strings.Contains(stdout, "params  ok") {
		t.Fatalf("built-in cases: exit %d\n%s\n%s", code, stdout, stderr)
	}
	dir := t.TempDir()
	wrong := `-- pipeline.yaml --
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: wrong}
spec:
  steps: [{name: a, image: busybox, command: [sh, -c, 'echo 1 > ${{ outputs.params.v }}'], outputs: {params: [{name: v}]}}]
-- expect.yaml --
status: Succeeded
steps: {a: {state: Succeeded, outputs: {v: "2"}}}
`
	if err := os.WriteFile(filepath.Join(dir, "wrong.txtar"), []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = sluice(t, "conformance", "--cases", dir, "-o", "markdown")
	if code != 1 || !strings.Contains(stdout, "❌") || !strings.Contains(stdout, `a: output v = "1", want "2"`) {
		t.Errorf("wrong case: exit %d\n%s", code, stdout)
	}
	if code, _, _ := sluice(t, "conformance", "-b", "nowhere"); code != 2 {
		t.Errorf("unknown backend: exit %d, want 2", code)
	}
}
