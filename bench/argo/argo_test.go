// Package argo_test measures the Argo adapter: how long Compile takes, how
// many JSON bytes each task costs, how long Argo's own validator takes on
// the output, and how large a pipeline fits in one Workflow under Argo's
// 1 MiB limit and etcd's 1.5 MiB. bench/argo.sh runs it and prints the
// table of docs/perf.md.
package argo_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	"github.com/argoproj/argo-workflows/v3/workflow/templateresolution"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/ir"
)

var opts = argo.Options{
	LauncherImage: "ghcr.io/sluice-dev/sluice-exec:v0.1.0",
	CacheURL:      "s3://sluice-cache/runs?endpoint=minio.kubeflow:9000&insecure=true",
	CacheSecret:   "mlpipeline-minio-artifact",
	MaxBytes:      1 << 30, // measure past the limits
}

// shapes are the pipelines measured, each of n steps.
//   - independent: n steps with no edges, each its own command and one
//     output value; they share one pod shape, so one template.
//   - chain: the same, each reading the previous step's output.
//   - distinct: each step its own image: the pods differ in their image
//     only, so they share a template and each task passes its image.
var shapes = []string{"independent", "chain", "distinct"}

func pipeline(tb testing.TB, shape string, n int) *ir.Pipeline {
	tb.Helper()
	p := &ir.Pipeline{APIVersion: ir.APIVersion, Kind: ir.Kind, Metadata: ir.Metadata{Name: "bench-" + shape}}
	p.Spec.Steps = make([]ir.Step, n)
	for i := range n {
		s := ir.Step{
			Name:    fmt.Sprintf("step-%05d", i),
			Image:   "python:3.11",
			Command: []string{"python", "-m", "work", "--shard", strconv.Itoa(i), "--out", "${{ outputs.params.out }}"},
			Outputs: &ir.Outputs{Params: []ir.OutputParam{{Name: "out"}}},
		}
		switch shape {
		case "chain":
			if i > 0 {
				s.Command = append(s.Command, "--in", fmt.Sprintf("${{ steps.step-%05d.outputs.params.out }}", i-1))
			}
		case "distinct":
			s.Image = fmt.Sprintf("registry.example.com/ml/step-%05d:1.0", i)
		}
		p.Spec.Steps[i] = s
	}
	src, err := ir.Encode(p)
	if err != nil {
		tb.Fatal(err)
	}
	parsed, err := ir.Parse("bench.json", src)
	if err != nil {
		tb.Fatal(err)
	}
	return parsed
}

func compile(tb testing.TB, p *ir.Pipeline) (*wfv1.Workflow, int) {
	tb.Helper()
	wf, err := argo.Compile(p, map[string]ir.Value{}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(wf)
	if err != nil {
		tb.Fatal(err)
	}
	return wf, len(b)
}

var sizes = []int{10, 100, 1000, 5000}

func BenchmarkCompile(b *testing.B) {
	for _, shape := range shapes {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				p := pipeline(b, shape, n)
				_, size := compile(b, p)
				b.ResetTimer()
				for b.Loop() {
					if _, err := argo.Compile(p, map[string]ir.Value{}, opts); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(size)/float64(n), "B/task")
				b.ReportMetric(float64(size), "B/workflow")
			})
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	cs := fake.NewSimpleClientset()
	wftmpl := templateresolution.WrapWorkflowTemplateInterface(cs.ArgoprojV1alpha1().WorkflowTemplates(metav1.NamespaceDefault))
	cwftmpl := templateresolution.WrapClusterWorkflowTemplateInterface(cs.ArgoprojV1alpha1().ClusterWorkflowTemplates())
	for _, shape := range shapes {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				wf, _ := compile(b, pipeline(b, shape, n))
				for b.Loop() {
					if err := validate.ValidateWorkflow(wftmpl, cwftmpl, wf.DeepCopy(), nil, validate.ValidateOpts{Lint: true}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkFits finds the most steps of each shape whose Workflow fits
// under Argo's 1 MiB and under etcd's 1.5 MiB (run it with -benchtime=1x).
func BenchmarkFits(b *testing.B) {
	for _, shape := range shapes {
		b.Run(shape, func(b *testing.B) {
			for b.Loop() {
				for _, limit := range []struct {
					name  string
					bytes int
				}{{"tasks@1MiB", 1 << 20}, {"tasks@1.5MiB", 3 << 19}} {
					b.ReportMetric(float64(largest(b, shape, limit.bytes)), limit.name)
				}
			}
		})
	}
}

// largest is the most steps whose Workflow is at most limit bytes.
func largest(tb testing.TB, shape string, limit int) int {
	lo, hi := 1, 2
	for fits(tb, shape, hi, limit) {
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(tb, shape, mid, limit) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

func fits(tb testing.TB, shape string, n, limit int) bool {
	_, size := compile(tb, pipeline(tb, shape, n))
	return size <= limit
}

// TestSizeGoal keeps what was measured from regressing: at most 400
// JSON bytes per task (the goal) for independent steps, a chain,
// and steps each with its own image.
func TestSizeGoal(t *testing.T) {
	for _, tc := range []struct {
		shape string
		max   int
	}{{"independent", 400}, {"chain", 400}, {"distinct", 400}} {
		_, size := compile(t, pipeline(t, tc.shape, 1000))
		if per := size / 1000; per > tc.max {
			t.Errorf("%s: %d bytes per task, want ≤ %d", tc.shape, per, tc.max)
		}
	}
}
