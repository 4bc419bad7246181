package tekton_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/ir"
)

// limit is what a Kubernetes object may take: etcd's default request
// size, 1.5 MiB.
const limit = 3 << 19

var options = tekton.Options{
	LauncherImage: "ghcr.io/sluice-dev/sluice-exec:v0.1.0",
	Cache:         "s3://sluice-cache/runs?endpoint=minio.sluice:9000",
	CacheSecret:   "sluice-cache",
}

// pipeline is a DAG of n steps like a real one: each runs a short shell
// command in its image, writes an output value, and reads the values of
// the step before it and of step i/2 (the local runner's benchmark
// shape), so every task has parameters, a result and dependencies. Every
// tenth step has a condition on an output, decided by a condition task.
func pipeline(tb testing.TB, n int) *ir.Pipeline {
	tb.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: bench}\nspec:\n")
	b.WriteString("  params: [{name: rows, type: int, default: 1000}]\n")
	b.WriteString("  defaults: {image: 'python:3.12-slim', timeout: 30m, cache: {enabled: true}}\n  steps:\n")
	for i := range n {
		fmt.Fprintf(&b, "    - name: s%d\n", i)
		cmd := fmt.Sprintf("python -c 'import sys; print(%d + int(sys.argv[1]))' ${{ params.rows }}", i)
		if i > 0 {
			cmd += fmt.Sprintf(" ${{ steps.s%d.outputs.params.n }} ${{ steps.s%d.outputs.params.n }}", i-1, i/2)
			if i%10 == 0 {
				fmt.Fprintf(&b, "      when: '${{ steps.s%d.outputs.params.n }} > 0'\n", i-1)
			}
		}
		fmt.Fprintf(&b, "      command: [sh, -c, %q]\n", cmd+" > ${{ outputs.params.n }}")
		b.WriteString("      outputs: {params: [{name: n, type: int}]}\n")
	}
	p, err := ir.Parse("bench.yaml", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// sizes are what a pipeline takes as Kubernetes objects, in JSON (what
// the API server stores).
type sizes struct {
	tasks int
	yaml  int // the PipelineRun as printed, everything embedded
	run   int // the PipelineRun as submitted, everything embedded
	// stored is the PipelineRun as Tekton keeps it while it runs: it
	// copies the pipeline's spec into status.pipelineSpec and adds a
	// child reference per TaskRun.
	stored int
	// pipeline and storedRef are --emit pipeline's Pipeline, and its
	// PipelineRun as Tekton keeps it (the Pipeline's spec copied, the
	// Tasks' specs not).
	pipeline  int
	storedRef int
}

func measure(tb testing.TB, p *ir.Pipeline) sizes {
	tb.Helper()
	params, err := p.ResolveParams(nil)
	if err != nil {
		tb.Fatal(err)
	}
	objs, err := tekton.Compile(p, params, options)
	if err != nil {
		tb.Fatal(err)
	}
	opts := options
	opts.Emit = tekton.EmitPipeline
	refs, err := tekton.Compile(p, params, opts)
	if err != nil {
		tb.Fatal(err)
	}
	var s sizes
	s.tasks = len(objs.PipelineRun.Spec.PipelineSpec.Tasks)
	y, err := yaml.Marshal(objs.PipelineRun)
	if err != nil {
		tb.Fatal(err)
	}
	s.yaml = len(y)
	children := 0
	for _, pt := range objs.PipelineRun.Spec.PipelineSpec.Tasks {
		ref := v1.ChildStatusReference{Name: "bench-x7k2p-" + pt.Name, PipelineTaskName: pt.Name}
		ref.APIVersion, ref.Kind = "tekton.dev/v1", "TaskRun"
		children += jsonSize(tb, ref) + 1
	}
	s.run = jsonSize(tb, objs.PipelineRun)
	s.stored = s.run + jsonSize(tb, objs.PipelineRun.Spec.PipelineSpec) + children
	s.pipeline = jsonSize(tb, refs.Pipeline)
	s.storedRef = jsonSize(tb, refs.PipelineRun) + jsonSize(tb, refs.Pipeline.Spec) + children
	return s
}

func jsonSize(tb testing.TB, v any) int {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return len(b)
}

// BenchmarkCompile: compiling pipelines of 10, 100 and 1,000 steps
// (Compile alone; render adds printing the PipelineRun as YAML, what
// `sluice compile` does). bytes/task is the PipelineRun's YAML per
// pipeline task, condition tasks included.
func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		p := pipeline(b, n)
		params, err := p.ResolveParams(nil)
		if err != nil {
			b.Fatal(err)
		}
		s := measure(b, p)
		for _, render := range []bool{false, true} {
			name := fmt.Sprint(n)
			if render {
				name += "/render"
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					objs, err := tekton.Compile(p, params, options)
					if err != nil {
						b.Fatal(err)
					}
					if render {
						if _, err := yaml.Marshal(objs.PipelineRun); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(s.yaml)/float64(s.tasks), "bytes/task")
				b.ReportMetric(float64(s.tasks), "tasks")
			})
		}
	}
}

// TestLargestUnder1_5MiB finds, for each object that must fit, the most
// steps that keep it under 1.5 MiB, and logs the sizes along the way.
func TestLargestUnder1_5MiB(t *testing.T) {
	if os.Getenv("SLUICE_BENCH") == "" {
		t.Skip("a measurement, not a test: SLUICE_BENCH=1 go test -run Largest -v ./bench/tekton (compiles pipelines of thousands of steps)")
	}
	for _, n := range []int{10, 100, 1000} {
		s := measure(t, pipeline(t, n))
		t.Logf("%5d steps, %5d tasks: PipelineRun YAML %8d (%4d/task), JSON %8d (%4d/task), stored while running %8d; --emit pipeline: Pipeline %8d (%4d/task)",
			n, s.tasks, s.yaml, s.yaml/s.tasks, s.run, s.run/s.tasks, s.stored, s.pipeline, s.pipeline/s.tasks)
	}
	for _, m := range []struct {
		what string
		size func(sizes) int
	}{
		{"the PipelineRun as submitted (JSON)", func(s sizes) int { return s.run }},
		{"the PipelineRun as stored while it runs", func(s sizes) int { return s.stored }},
		{"--emit pipeline: the Pipeline", func(s sizes) int { return s.pipeline }},
		{"--emit pipeline: the PipelineRun as stored while it runs", func(s sizes) int { return s.storedRef }},
	} {
		lo, hi := 1, 2
		for m.size(measure(t, pipeline(t, hi))) <= limit {
			lo, hi = hi, hi*2
		}
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if m.size(measure(t, pipeline(t, mid))) <= limit {
				lo = mid
			} else {
				hi = mid
			}
		}
		s := measure(t, pipeline(t, lo))
		t.Logf("largest under 1.5 MiB, %s: %d steps (%d tasks), %d bytes", m.what, lo, s.tasks, m.size(s))
	}
}

// BenchmarkValidate: Tekton's own defaulting and validation of the
// compiled PipelineRun, as its admission webhook runs it on create.
func BenchmarkValidate(b *testing.B) {
	ctx, err := tekton.Context(context.Background(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{10, 100, 1000} {
		p := pipeline(b, n)
		params, err := p.ResolveParams(nil)
		if err != nil {
			b.Fatal(err)
		}
		objs, err := tekton.Compile(p, params, options)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if err := tekton.Validate(ctx, objs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
