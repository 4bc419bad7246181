package local_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/adapters/local"
	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

const header = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: test}
spec:
  defaults: {image: busybox:1.36}
`

func mustParse(t *testing.T, body string) *ir.Pipeline {
	t.Helper()
	p, err := ir.Parse("test.yaml", []byte(header+body))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

// env is one test's world: a cache directory and a runs directory.
type env struct {
	t     *testing.T
	store cache.Store
	runs  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	s, err := cache.NewFS(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, store: s, runs: filepath.Join(dir, "runs")}
}

// events records every event, for order and state assertions.
type events struct {
	mu  sync.Mutex
	all []report.Event
}

func (e *events) Event(ev report.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *env) run(p *ir.Pipeline, overrides map[string]string, mod ...func(*local.Options)) (*report.Summary, *events) {
	e.t.Helper()
	params, err := p.ResolveParams(overrides)
	if err != nil {
		e.t.Fatal(err)
	}
	ev := &events{}
	opts := local.Options{Store: e.store, RunsDir: e.runs, Parallel: 4, Observer: ev}
	for _, m := range mod {
		m(&opts)
	}
	sum, err := local.Run(context.Background(), p, params, opts)
	if err != nil {
		e.t.Fatalf("run: %v", err)
	}
	return sum, ev
}

func states(s *report.Summary) map[string]report.State {
	out := map[string]report.State{}
	for _, st := range s.Steps {
		out[st.Name] = st.State
	}
	return out
}

func outputs(s *report.Summary, step string) map[string]string {
	for _, st := range s.Steps {
		if st.Name == step {
			return st.Outputs
		}
	}
	return nil
}

func TestDataFlowAndCache(t *testing.T) {
	p := mustParse(t, `
  params: [{name: n, type: int, default: 3}]
  steps:
    - name: gen
      command: [sh, -c, 'seq 1 ${{ params.n }} > ${{ outputs.artifacts.nums }}; mkdir -p ${{ outputs.artifacts.tree }}/a; echo x > ${{ outputs.artifacts.tree }}/a/f']
      outputs: {artifacts: [{name: nums}, {name: tree}]}
    - name: sum
      command: [sh, -c, 'awk "{s+=\$1} END {print s}" ${{ inputs.artifacts.in }} > ${{ outputs.params.total }}']
      inputs: {artifacts: [{name: in, from: '${{ steps.gen.outputs.artifacts.nums }}'}]}
      outputs: {params: [{name: total, type: int}]}
    - name: tree
      command: [sh, -c, 'cat ${{ steps.gen.outputs.artifacts.tree }}/a/f > ${{ outputs.params.f }}']
      outputs: {params: [{name: f}]}
    - name: other
      command: [sh, -c, 'echo ${{ steps.sum.outputs.params.total }} > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}]}
`)
	e := newEnv(t)
	sum, _ := e.run(p, nil)
	want := map[string]report.State{"gen": report.Succeeded, "sum": report.Succeeded, "tree": report.Succeeded, "other": report.Succeeded}
	if diff := cmp.Diff(want, states(sum)); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
	if got := outputs(sum, "other")["v"]; got != "6" {
		t.Errorf("other.v = %q, want 6", got)
	}
	if got := outputs(sum, "tree")["f"]; got != "x" {
		t.Errorf("tree.f = %q, want x", got)
	}
	// A second run hits every step.
	sum, _ = e.run(p, nil)
	for name, st := range states(sum) {
		if st != report.Cached {
			t.Errorf("rerun: %s is %s, want Cached", name, st)
		}
	}
	// Changing the param re-runs everything downstream of it; here, all.
	sum, _ = e.run(p, map[string]string{"n": "4"})
	if got := outputs(sum, "other")["v"]; got != "10" {
		t.Errorf("n=4: other.v = %q, want 10", got)
	}
	if st := states(sum)["gen"]; st != report.Succeeded {
		t.Errorf("n=4: gen is %s, want Succeeded", st)
	}
}
