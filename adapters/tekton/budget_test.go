package tekton_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/result"
	"github.com/tektoncd/pipeline/pkg/termination"
)

// TestBudget: the fullest termination message a step's launcher can
// make, written with Tekton's own code (termination.WriteMessage, which
// refuses one over 4 KiB): Tekton's StartedAt, every result the Task
// declares, each output value as long as --max-value-bytes allows and
// made of the byte JSON escapes longest, each artifact URI and value ref
// as long as one gets, and for an iteration of a matrix its index, with
// ten digits.
func TestBudget(t *testing.T) {
	for _, tc := range []struct{ params, artifacts int }{{1, 0}, {0, 1}, {2, 3}, {8, 0}, {24, 0}, {10, 10}, {0, 24}} {
		for _, loop := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d values %d artifacts loop %v", tc.params, tc.artifacts, loop), func(t *testing.T) {
				src := "apiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: budget}\nspec:\n  steps:\n" +
					"    - name: s\n      image: busybox\n      command: [\"true\"]\n"
				if loop {
					src += "      forEach: {items: [1, 2]}\n"
				}
				src += "      outputs:\n        params: ["
				for i := range tc.params {
					src += fmt.Sprintf("{name: p%d}, ", i)
				}
				src += "]\n        artifacts: ["
				for i := range tc.artifacts {
					src += fmt.Sprintf("{name: a%d}, ", i)
				}
				src += "]\n"
				objs := compileText(t, src)
				ts := objs.PipelineRun.Spec.PipelineSpec.Tasks[0].TaskSpec.TaskSpec
				run := ts.Steps[len(ts.Steps)-1]
				maxValue := 0
				for _, a := range run.Args {
					if v, ok := strings.CutPrefix(a, "--max-value-bytes="); ok {
						maxValue, _ = strconv.Atoi(v)
					}
				}
				if tc.params > 0 && maxValue <= 0 {
					t.Fatalf("no --max-value-bytes in %q", run.Args)
				}
				zone := time.FixedZone("", -(9*3600 + 30*60)) // the longest offset text
				msg := []result.RunResult{{Key: "StartedAt", Value: time.Now().In(zone).Format("2006-01-02T15:04:05.000Z07:00"), ResultType: result.InternalTektonResultType}}
				longest := "cas://sha256/" + strings.Repeat("f", 64) + "?kind=value&size=" + strings.Repeat("9", 19)
				indexed := false
				for _, r := range ts.Results {
					v := longest // an artifact's URI, or a value ref
					switch {
					case r.Name == "sluice-cached":
						v = "false"
					case r.Name == "sluice-index":
						v, indexed = "4294967295", true
					case strings.HasPrefix(r.Name, "p") && maxValue > len(longest):
						v = strings.Repeat("<", maxValue) // \u003c in JSON
					}
					msg = append(msg, result.RunResult{Key: r.Name, Value: v, ResultType: result.TaskRunResultType})
				}
				if indexed != loop {
					t.Fatalf("results %v: the index of a matrix's iteration declared %v, want %v", names(ts.Results), indexed, loop)
				}
				if err := termination.WriteMessage(filepath.Join(t.TempDir(), "termination"), msg); err != nil {
					t.Errorf("the fullest message, %d results: %v", len(msg), err)
				}
			})
		}
	}
}

func names(rs []v1.TaskResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}
