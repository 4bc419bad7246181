package step

import (
	"context"
	"os"
	"testing"
)

// BenchmarkProcessRun is the floor of a step: starting and waiting for a
// no-op command in its own process group.
func BenchmarkProcessRun(b *testing.B) {
	env := Process{}.Env(b.TempDir())
	for b.Loop() {
		if code, err := (Process{}).Run(context.Background(), &Cmd{Argv: []string{"true"}, Env: env, Stdout: os.Stderr, Stderr: os.Stderr}); err != nil || code != 0 {
			b.Fatal(code, err)
		}
	}
}
