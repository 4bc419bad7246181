package tekton_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	prres "github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	"github.com/tektoncd/pipeline/pkg/reconciler/taskrun"
	trres "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"
	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/apis"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

// The tests in this file play a loop over one step (a matrix) with more
// than ten iterations the way Tekton runs it, with Tekton's own code:
// the fan-out (Matrix.FanOut), the TaskRuns' names (GetNamesOfTaskRuns:
// PIPELINERUN-TASK-i), each TaskRun's substitution, then, for a reader of
// the loop's outputs, the aggregation of the TaskRuns' results
// (ResolveResultRefs, which sorts the TaskRuns by name, so …-10 comes
// before …-2) and the count (ApplyPipelineTaskContexts). Each launcher
// runs for real (launch.Run), and its result files are its TaskRun's
// results. The reader's launcher must bind the loop's list in item order,
// as IR.md says and every other backend does.

// matrixRuns plays a matrix pipeline task: one TaskRun per combination,
// named as Tekton names them, each running its launcher for real in
// store. It returns the TaskRuns, succeeded with their results, in the
// reverse of their order, as an informer might list them.
func (c *controller) matrixRuns(t *testing.T, name, store string) []*v1.TaskRun {
	t.Helper()
	pt, ok := c.prepare(t, name)
	if !ok || !pt.IsMatrixed() {
		t.Fatalf("task %s: ran %v, matrix %v", name, ok, pt.Matrix)
	}
	combos := pt.Matrix.FanOut()
	names := prres.GetNamesOfTaskRuns(nil, name, c.pr.Name, len(combos))
	var trs []*v1.TaskRun
	for i, combo := range combos {
		tr := &v1.TaskRun{}
		tr.Name, tr.Namespace, tr.UID = names[i], c.pr.Namespace, "7d1e-uid"
		tr.Spec.Params = append(append(v1.Params{}, pt.Params...), combo...)
		args := taskRunArgs(t, name, pt.TaskSpec.TaskSpec.DeepCopy(), tr)
		tr.Status.Results = runLauncher(t, tr.Name, args, pt.TaskSpec.Results, store)
		tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue})
		trs = append(trs, tr)
	}
	slices.Reverse(trs)
	return trs
}

// runLauncher runs `sluice-exec run` with a TaskRun's command line, its
// result files in a directory of their own, and reads back the results
// the Task declares, as Tekton's entrypoint does (a file not written is
// no result).
func runLauncher(t *testing.T, name string, args []string, declared []v1.TaskResult, store string) []v1.TaskRunResult {
	t.Helper()
	dir := t.TempDir()
	args = slices.Clone(args[2:]) // less the launcher's path and "run"
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, resultsDir, dir+"/")
	}
	req, err := launch.ParseRunArgs(args, func(k string) string {
		if k == launch.CacheEnv {
			return store
		}
		return ""
	})
	if err != nil {
		t.Fatalf("TaskRun %s: %v", name, err)
	}
	var out bytes.Buffer
	req.Stdout, req.Stderr = &out, &out
	req.Environ = []string{"PATH=" + os.Getenv("PATH")}
	if _, err := launch.Run(context.Background(), req); err != nil {
		t.Fatalf("TaskRun %s: %v\n%s", name, err, out.String())
	}
	var results []v1.TaskRunResult
	for _, r := range declared {
		b, err := os.ReadFile(filepath.Join(dir, r.Name))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		results = append(results, v1.TaskRunResult{Name: r.Name, Type: v1.ResultsTypeString, Value: *v1.NewStructuredValues(string(b))})
	}
	return results
}

// readMatrix plays a reader of a matrix's outputs: its references
// resolved by Tekton from the matrix's TaskRuns (ResolveResultRefs, the
// aggregation) and from the other tasks' results set so far (a
// condition's), its matrix.RESULT.length counted from them
// (ApplyPipelineTaskContexts), its TaskRun substituted; it returns the
// reader's launcher command line and the aggregated values Tekton made.
func (c *controller) readMatrix(t *testing.T, reader, matrix string, trs []*v1.TaskRun) ([]string, prres.ResolvedResultRefs) {
	t.Helper()
	producer, _ := c.task(t, matrix)
	state := prres.PipelineRunState{{PipelineTask: &producer, TaskRuns: trs}}
	for task, results := range c.results { // the other tasks that ran
		pt, _ := c.task(t, task)
		state = append(state, &prres.ResolvedPipelineTask{PipelineTask: &pt, TaskRuns: taskRunsWith(false, results)})
	}
	pt, _ := c.task(t, reader)
	rpt := &prres.ResolvedPipelineTask{PipelineTask: &pt}
	resolved, _, err := prres.ResolveResultRefs(state, prres.PipelineRunState{rpt})
	if err != nil {
		t.Fatalf("task %s: %v", reader, err)
	}
	prres.ApplyTaskResults(prres.PipelineRunState{rpt}, resolved)
	status := v1.PipelineRunStatus{PipelineRunStatusFields: v1.PipelineRunStatusFields{PipelineSpec: c.spec}}
	rpt.PipelineTask = prres.ApplyPipelineTaskContexts(rpt.PipelineTask, status, &prres.PipelineRunFacts{State: state})
	if !rpt.PipelineTask.When.AllowsExecution(nil) {
		t.Fatalf("task %s is skipped", reader)
	}
	tr := &v1.TaskRun{}
	tr.Name, tr.Namespace, tr.UID = c.pr.Name+"-"+reader, c.pr.Namespace, "9a2b-uid"
	tr.Spec.Params = rpt.PipelineTask.Params
	return taskRunArgs(t, reader, rpt.PipelineTask.TaskSpec.TaskSpec.DeepCopy(), tr), resolved
}

// aggregated is what Tekton aggregated for one result of a task: the
// array value of its first resolved reference.
func aggregated(refs prres.ResolvedResultRefs, task, result string) []string {
	for _, r := range refs {
		if r.ResultReference.PipelineTask == task && r.ResultReference.Result == result {
			return r.Value.ArrayVal
		}
	}
	return nil
}

// reconcileChecks runs the checks Tekton's PipelineRun reconciler makes
// once it has resolved a run's Tasks, beyond the webhook's Validate
// (pipelinerun.go): each task's parameters against its Task, a matrix's
// included ones among them (taskrun.ValidateResolvedTask), its result
// references against the Tasks' results (ValidatePipelineTaskResults),
// and the types of matrix parameters (ValidateParameterTypesInMatrix).
func (c *controller) reconcileChecks(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var state prres.PipelineRunState
	for _, tasks := range [][]v1.PipelineTask{c.spec.Tasks, c.spec.Finally} {
		for i := range tasks {
			pt := tasks[i].DeepCopy()
			ts := pt.TaskSpec.TaskSpec.DeepCopy()
			ts.SetDefaults(ctx)
			rt := &trres.ResolvedTask{TaskName: pt.Name, TaskSpec: ts}
			if err := taskrun.ValidateResolvedTask(ctx, pt.Params, pt.Matrix, rt); err != nil {
				t.Errorf("task %s: %v", pt.Name, err)
			}
			state = append(state, &prres.ResolvedPipelineTask{PipelineTask: pt, ResolvedTask: rt})
		}
	}
	if err := prres.ValidatePipelineTaskResults(state); err != nil {
		t.Error(err)
	}
	if err := prres.ValidateParameterTypesInMatrix(state); err != nil {
		t.Error(err)
	}
}

// trackedAs is how the tracker shows a run's TaskRuns: state by step
// name. It fails the test if an iteration's index shows as an output.
func trackedAs(t *testing.T, objs *tekton.Objects, p *ir.Pipeline, c *controller, trs map[string][]*v1.TaskRun) map[string]report.State {
	t.Helper()
	r := &tekton.Run{PipelineRun: c.pr.DeepCopy(), TaskRuns: map[string]*v1.TaskRun{}}
	for task, list := range trs {
		for _, tr := range list {
			tr = tr.DeepCopy()
			tr.Labels = map[string]string{pipeline.PipelineTaskLabelKey: task, pipeline.PipelineRunLabelKey: c.pr.Name}
			r.TaskRuns[tr.Name] = tr
		}
	}
	got := map[string]report.State{}
	for _, s := range tekton.Steps(p.Graph(), r) {
		got[s.Name] = s.State
		if _, ok := s.Outputs[launch.IndexFile]; ok {
			t.Errorf("%s: the iteration's index shows as an output: %v", s.Name, s.Outputs)
		}
	}
	return got
}

const orderPipeline = `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: order}
spec:
  defaults: {image: busybox}
  steps:
    - name: square
      forEach: {items: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]}
      when: '${{ item }} != 3'
      command: [sh, -c, 'printf %s $(( ${{ item }} * ${{ item }} )) > ${{ outputs.params.sq }}; printf n%s ${{ item }} > ${{ outputs.params.name }}']
      outputs: {params: [{name: sq, type: int}, {name: name}]}
    - name: sum
      command: [echo, '${{ steps.square.outputs.params.sq }}', '${{ steps.square.outputs.params.name }}']
`

// TestMatrixOrder: a literal loop of 14 items (one left out at compile
// time, so the indexes have a gap) runs as 13 TaskRuns; Tekton
// aggregates their results by TaskRun name, out of item order; the
// reader's launcher still binds both lists in item order, and the
// tracker shows each TaskRun under its item's index. (An iteration left
// out at compile time has no TaskRun, and the tracker does not show it.)
func TestMatrixOrder(t *testing.T) {
	objs := compileText(t, orderPipeline)
	store := "file://" + t.TempDir()
	c := newController(t, objs)
	c.reconcileChecks(t)
	trs := c.matrixRuns(t, "square", store)
	if len(trs) != 13 {
		t.Fatalf("%d TaskRuns, want 13", len(trs))
	}
	args, refs := c.readMatrix(t, "sum", "square", trs)
	var sq, names []string
	tracked := map[string]report.State{}
	for i := range 14 {
		if i != 3 {
			sq = append(sq, strconv.Itoa(i*i))
			names = append(names, `"n`+strconv.Itoa(i)+`"`)
			tracked["square["+strconv.Itoa(i)+"]"] = report.Succeeded
		}
	}
	// The premise: Tekton's aggregate is not in item order.
	if got := aggregated(refs, "square", "sq"); slices.Equal(got, sq) || len(got) != len(sq) {
		t.Fatalf("Tekton aggregated %q: the test shows nothing", got)
	}
	l := plantest.Parse(t, nil, args[1:])
	if got, want := l.Value(t, "steps.square.outputs.params.sq"), "["+strings.Join(sq, ",")+"]"; got != want {
		t.Errorf("sq = %s, want %s", got, want)
	}
	if got, want := l.Value(t, "steps.square.outputs.params.name"), "["+strings.Join(names, ",")+"]"; got != want {
		t.Errorf("name = %s, want %s", got, want)
	}
	p, _ := plantest.ParsePipeline(t, "pipeline.yaml", []byte(orderPipeline), nil)
	got := trackedAs(t, objs, p, c, map[string][]*v1.TaskRun{"square": trs})
	delete(got, "sum") // not run here
	if diff := cmp.Diff(tracked, got); diff != "" {
		t.Errorf("the tracker (-want +got):\n%s", diff)
	}
}

const filteredOrderPipeline = `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: filtered-order}
spec:
  defaults: {image: busybox}
  steps:
    - name: produce
      command: ["true"]
      outputs: {params: [{name: l, type: list}]}
    - name: cube
      forEach: {items: '${{ steps.produce.outputs.params.l }}'}
      when: '${{ item }} != 4 && ${{ item }} != 9'
      command: [sh, -c, 'printf %s $(( ${{ item }} * ${{ item }} * ${{ item }} )) > ${{ outputs.params.c }}']
      outputs: {params: [{name: c, type: int}]}
    - name: total
      command: [echo, '${{ steps.cube.outputs.params.c }}']
`

// TestFilteredMatrixOrder: a loop over another step's output of 16
// items, 14 kept by its filter task (played with the launcher's own
// launch.When), runs as 14 TaskRuns over the filter's array; Tekton
// aggregates their results by TaskRun name and counts them
// (matrix.c.length); the reader's launcher binds the list in item order,
// and the tracker shows each TaskRun under its item's index in the loop,
// the two left out as Skipped.
func TestFilteredMatrixOrder(t *testing.T) {
	objs := compileText(t, filteredOrderPipeline)
	dir := t.TempDir()
	store, err := cache.Open(context.Background(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	c := newController(t, objs)
	c.reconcileChecks(t)
	var items []string
	for i := range 16 {
		items = append(items, strconv.Itoa(i))
	}
	c.setResult("produce", "l", *v1.NewStructuredValues("[" + strings.Join(items, ",") + "]"))
	if !c.runFilter(t, "cube-items", store) {
		t.Fatal("the filter task did not run")
	}
	trs := c.matrixRuns(t, "cube", "file://"+dir)
	if len(trs) != 14 {
		t.Fatalf("%d TaskRuns, want 14", len(trs))
	}
	args, refs := c.readMatrix(t, "total", "cube", trs)
	var cubes []string
	tracked := map[string]report.State{"produce": report.Succeeded}
	for i := range 16 {
		state := report.Skipped
		if i != 4 && i != 9 {
			cubes = append(cubes, strconv.Itoa(i*i*i))
			state = report.Succeeded
		}
		tracked["cube["+strconv.Itoa(i)+"]"] = state
	}
	if got := aggregated(refs, "cube", "c"); slices.Equal(got, cubes) || len(got) != len(cubes) {
		t.Fatalf("Tekton aggregated %q: the test shows nothing", got)
	}
	l := plantest.Parse(t, store, args[1:])
	if got, want := l.Value(t, "steps.cube.outputs.params.c"), "["+strings.Join(cubes, ",")+"]"; got != want {
		t.Errorf("c = %s, want %s", got, want)
	}
	// The tracker reads the filter's verdicts from its TaskRun.
	filter := &v1.TaskRun{}
	filter.Name = c.pr.Name + "-cube-items"
	filter.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue})
	for name, v := range c.results["cube-items"] {
		filter.Status.Results = append(filter.Status.Results, v1.TaskRunResult{Name: name, Type: v1.ResultsType(v.Type), Value: v})
	}
	produce := &v1.TaskRun{}
	produce.Name = c.pr.Name + "-produce"
	produce.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue})
	p, _ := plantest.ParsePipeline(t, "pipeline.yaml", []byte(filteredOrderPipeline), nil)
	got := trackedAs(t, objs, p, c, map[string][]*v1.TaskRun{"cube": trs, "cube-items": {filter}, "produce": {produce}})
	delete(got, "total") // not run here
	if diff := cmp.Diff(tracked, got); diff != "" {
		t.Errorf("the tracker (-want +got):\n%s", diff)
	}
}

// TestMatrixSameItems: the TaskRuns of a loop whose items are equal show
// as one iteration each, found by their combination's index (the
// include's sluice_index), not as the first combination with that item.
func TestMatrixSameItems(t *testing.T) {
	src := `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: same}
spec:
  steps:
    - name: sq
      image: busybox
      forEach: {items: [7, 7, 7]}
      command: [echo, '${{ item }}']
`
	objs := compileText(t, src)
	c := newController(t, objs)
	pt, _ := c.prepare(t, "sq")
	combos := pt.Matrix.FanOut()
	names := prres.GetNamesOfTaskRuns(nil, "sq", c.pr.Name, len(combos))
	var trs []*v1.TaskRun
	for i, combo := range combos {
		tr := &v1.TaskRun{}
		tr.Name = names[i]
		tr.Spec.Params = append(append(v1.Params{}, pt.Params...), combo...)
		tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue})
		trs = append(trs, tr)
	}
	p, _ := plantest.ParsePipeline(t, "pipeline.yaml", []byte(src), nil)
	got := trackedAs(t, objs, p, c, map[string][]*v1.TaskRun{"sq": trs})
	want := map[string]report.State{"sq[0]": report.Succeeded, "sq[1]": report.Succeeded, "sq[2]": report.Succeeded}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the tracker (-want +got):\n%s", diff)
	}
}
