package local_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/adapters/local"
	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

// dag is the benchmark DAG of bench/local.sh: step i needs steps i-1 and
// i/2, each a distinct no-op command.
func dag(b *testing.B, n int) *ir.Pipeline {
	var s strings.Builder
	s.WriteString("  steps:\n")
	for i := range n {
		var deps []string
		if i > 0 {
			deps = append(deps, fmt.Sprintf("s%d", i-1))
		}
		if i > 1 && i/2 != i-1 {
			deps = append(deps, fmt.Sprintf("s%d", i/2))
		}
		after := ""
		if len(deps) > 0 {
			after = ", after: [" + strings.Join(deps, ", ") + "]"
		}
		fmt.Fprintf(&s, "    - {name: s%d, command: [true, s%d]%s}\n", i, i, after)
	}
	p, err := ir.Parse("dag.yaml", []byte(header+s.String()))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchRun(b *testing.B, n int, warm bool) {
	p := dag(b, n)
	dir := b.TempDir()
	store, err := cache.NewFS(filepath.Join(dir, "cache"))
	if err != nil {
		b.Fatal(err)
	}
	opts := local.Options{Store: store, RunsDir: filepath.Join(dir, "runs"), Parallel: 2}
	if warm {
		if _, err := local.Run(context.Background(), p, nil, opts); err != nil {
			b.Fatal(err)
		}
	} else {
		opts.NoCache = true
	}
	b.ReportAllocs()
	for b.Loop() {
		sum, err := local.Run(context.Background(), p, nil, opts)
		if err != nil || sum.Status != report.Succeeded {
			b.Fatalf("%v %v", err, sum.Status)
		}
	}
}

// BenchmarkRunDAG runs 100 and 1,000 no-op steps, every one executed.
func BenchmarkRunDAG(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchRun(b, n, false) })
	}
}

// BenchmarkRunDAGCached reruns the same DAGs with every step a cache hit.
func BenchmarkRunDAGCached(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchRun(b, n, true) })
	}
}
