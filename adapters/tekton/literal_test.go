package tekton_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	prres "github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	trres "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"
	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/apis"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// The tests in this file play Tekton's controllers over compiled objects
// with Tekton's own code, in the order pipelinerun.go and taskrun.go call
// it: the PipelineRun's parameters, context and workspaces
// (pipelinerun/resources.ApplyParameters, ApplyContexts, ApplyWorkspaces),
// a task's result references and contexts (ApplyTaskResults,
// ApplyPipelineTaskContexts, ApplyPipelineTaskStateContext for finally),
// the matrix fan-out (Matrix.FanOut), then the TaskRun's own substitution
// (taskrun/resources.ApplyParameters, ApplyContexts, ApplyResults,
// ApplyArtifacts, ApplyStepExitCodePath, ApplyWorkspaces,
// ApplyCredentialsPath) and the validation the TaskRun reconciler runs
// after it. What comes out is the launcher's command line, which goes to
// the launcher's own parsers (launch.Decode, launch.ParseBindings).

// controller is what Tekton knows when it runs a pipeline task.
type controller struct {
	pr   *v1.PipelineRun
	spec *v1.PipelineSpec // after the PipelineRun-level substitution
	// results of finished tasks: task → result → value.
	results map[string]map[string]v1.ResultValue
	status  string // $(tasks.status), for finally tasks
	// crs are, with the cache plugin, the CustomRuns of the CachedSteps
	// that ran, by pipeline task; nil without it.
	crs map[string]*v1beta1.CustomRun
}

func newController(t testing.TB, objs *tekton.Objects) *controller {
	t.Helper()
	pr := objs.PipelineRun.DeepCopy()
	pr.Name, pr.Namespace, pr.UID = "run-x7k2p", "ml", "0f6f1c7e-uid"
	ctx := context.Background()
	pr.SetDefaults(ctx)
	spec := pr.Spec.PipelineSpec.DeepCopy()
	spec.SetDefaults(ctx)
	spec, err := prres.ApplyParameters(spec, pr)
	if err != nil {
		t.Fatal(err)
	}
	spec = prres.ApplyContexts(spec, pr.Name, pr)
	spec = prres.ApplyWorkspaces(spec, pr)
	return &controller{pr: pr, spec: spec, results: map[string]map[string]v1.ResultValue{}, status: "Succeeded"}
}

func (c *controller) task(t testing.TB, name string) (v1.PipelineTask, bool) {
	t.Helper()
	for _, pt := range c.spec.Tasks {
		if pt.Name == name {
			return *pt.DeepCopy(), false
		}
	}
	for _, pt := range c.spec.Finally {
		if pt.Name == name {
			return *pt.DeepCopy(), true
		}
	}
	t.Fatalf("no pipeline task %s", name)
	return v1.PipelineTask{}, false
}

// setResult records a finished task's result as its launcher wrote it.
func (c *controller) setResult(task, result string, v v1.ResultValue) {
	if c.results[task] == nil {
		c.results[task] = map[string]v1.ResultValue{}
	}
	c.results[task][result] = v
}

// run plays one pipeline task and returns the launcher's command line in
// each of its TaskRuns (one per matrix combination), or ran false when
// its `when` skips it. A CachedStep (the cache plugin) is played as its
// CustomRun: see runCached.
func (c *controller) run(t testing.TB, name string) (args [][]string, ran bool) {
	t.Helper()
	pt, ok := c.prepare(t, name)
	if !ok {
		return nil, false
	}
	if cs, err := cachedstep.OfPipelineTask(&pt); err != nil || cs != nil {
		t.Fatalf("task %s is a CachedStep (%v): play it with runCached", name, err)
	}
	combos := []v1.Params{nil}
	if pt.IsMatrixed() {
		combos = pt.Matrix.FanOut()
	}
	for _, combo := range combos {
		tr := &v1.TaskRun{}
		tr.Name, tr.Namespace, tr.UID = c.pr.Name+"-"+name, c.pr.Namespace, "7d1e-uid"
		tr.Spec.Params = append(append(v1.Params{}, pt.Params...), combo...)
		args = append(args, taskRunArgs(t, name, pt.TaskSpec.TaskSpec.DeepCopy(), tr))
	}
	return args, true
}

// prepare is what the PipelineRun reconciler does to a pipeline task
// before it creates its runs: the result references it reads (from the
// results set so far; one not set stays unreplaced, as in Tekton), its
// contexts, a finally task's $(tasks.status), and its `when`. ok is false
// when the task is skipped.
func (c *controller) prepare(t testing.TB, name string) (_ v1.PipelineTask, ok bool) {
	t.Helper()
	pt, final := c.task(t, name)
	rpt := &prres.ResolvedPipelineTask{PipelineTask: &pt}
	prres.ApplyTaskResults(prres.PipelineRunState{rpt}, c.resolve(t, &pt))
	rpt.PipelineTask = prres.ApplyPipelineTaskContexts(rpt.PipelineTask, v1.PipelineRunStatus{}, &prres.PipelineRunFacts{})
	if final {
		prres.ApplyPipelineTaskStateContext(prres.PipelineRunState{rpt}, map[string]string{"tasks.status": c.status})
	}
	pt = *rpt.PipelineTask
	return pt, pt.When.AllowsExecution(nil)
}

// resolve resolves the result references of pt: by hand from the
// results set; with CachedSteps, with Tekton's own ResolveResultRefs over
// the runs that hold them (TaskRuns, a matrix's TaskRuns, CustomRuns),
// which reads a CustomRun's results its own way.
func (c *controller) resolve(t testing.TB, pt *v1.PipelineTask) prres.ResolvedResultRefs {
	t.Helper()
	var exprs []string
	for _, p := range pt.Params {
		e, _ := p.GetVarSubstitutionExpressions()
		exprs = append(exprs, e...)
	}
	for i := range pt.When {
		e, _ := pt.When[i].GetVarSubstitutionExpressions()
		exprs = append(exprs, e...)
	}
	if pt.IsMatrixed() {
		for _, p := range pt.Matrix.Params {
			e, _ := p.GetVarSubstitutionExpressions()
			exprs = append(exprs, e...)
		}
	}
	if c.crs == nil {
		var resolved prres.ResolvedResultRefs
		for _, ref := range v1.NewResultRefs(exprs) {
			v, ok := c.results[ref.PipelineTask][ref.Result]
			if !ok {
				continue // not run: stays unreplaced, as in Tekton
			}
			resolved = append(resolved, &prres.ResolvedResultRef{Value: v, ResultReference: *ref, FromTaskRun: ref.PipelineTask + "-tr"})
		}
		return resolved
	}
	var state prres.PipelineRunState
	for task, results := range c.results {
		producer, _ := c.task(t, task)
		state = append(state, &prres.ResolvedPipelineTask{PipelineTask: &producer, TaskRuns: taskRunsWith(producer.IsMatrixed(), results)})
	}
	for task, cr := range c.crs {
		producer, _ := c.task(t, task)
		state = append(state, &prres.ResolvedPipelineTask{PipelineTask: &producer, CustomTask: true, CustomRuns: []*v1beta1.CustomRun{cr}})
	}
	resolved, _, err := prres.ResolveResultRefs(state, prres.PipelineRunState{{PipelineTask: pt}})
	if err != nil {
		t.Fatalf("task %s: %v", pt.Name, err)
	}
	return resolved
}

// taskRunsWith are the succeeded TaskRuns that hold results: one, or one
// per element of a matrix's aggregated results.
func taskRunsWith(matrix bool, results map[string]v1.ResultValue) []*v1.TaskRun {
	n := 1
	if matrix {
		for _, v := range results {
			n = len(v.ArrayVal)
		}
	}
	trs := make([]*v1.TaskRun, n)
	for i := range trs {
		tr := &v1.TaskRun{}
		tr.Name = fmt.Sprintf("producer-%d", i)
		tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue})
		for name, v := range results {
			if matrix {
				v = *v1.NewStructuredValues(v.ArrayVal[i])
			}
			tr.Status.Results = append(tr.Status.Results, v1.TaskRunResult{Name: name, Type: v1.ResultsTypeString, Value: v})
		}
		trs[i] = tr
	}
	return trs
}

// taskRunArgs plays the TaskRun reconciler's substitution of a TaskRun's
// Task and the validation that follows, and returns the launcher's
// command line.
func taskRunArgs(t testing.TB, name string, ts *v1.TaskSpec, tr *v1.TaskRun) []string {
	t.Helper()
	ctx := context.Background()
	ts.SetDefaults(ctx)
	ts = trres.ApplyParameters(ts, tr, ts.Params...)
	ts = trres.ApplyContexts(ts, name, tr)
	ts = trres.ApplyResults(ts)
	ts = trres.ApplyArtifacts(ts)
	ts = trres.ApplyStepExitCodePath(ts)
	ts = trres.ApplyWorkspaces(ctx, ts, ts.Workspaces, tr.Spec.Workspaces, nil)
	ts = trres.ApplyCredentialsPath(ts, "/tekton/creds")
	// The TaskRun reconciler validates the spec after substitution.
	if fe := ts.Validate(apis.WithinCreate(ctx)); fe != nil {
		t.Fatalf("task %s after substitution: %v", name, fe)
	}
	last := ts.Steps[len(ts.Steps)-1]
	for _, a := range last.Args {
		// The entrypoint substitutes $(steps.…) at run time: nothing
		// of the sort may be left.
		if strings.Contains(a, "$(") {
			t.Fatalf("task %s: argument %q still holds $( after Tekton's substitution", name, a)
		}
	}
	return append([]string{last.Command[0]}, last.Args...)
}

func compileText(t testing.TB, src string, overrides ...string) *tekton.Objects {
	t.Helper()
	objs, err := compileYAML(t, "pipeline.yaml", []byte(src), overrides, testOptions)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	mustValidate(t, objs)
	return objs
}

const literalPipeline = `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: literal}
spec:
  params: [{name: p, default: x}]
  steps:
    - name: produce
      image: busybox
      command: [sh, -c, 'cat in > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}]}
    - name: consume
      image: busybox
      when: '${{ steps.produce.outputs.params.v }} == ${{ params.p }}'
      command: [echo, '${{ params.p }}', '${{ steps.produce.outputs.params.v }}']
  onExit:
    - name: bye
      image: busybox
      command: [echo, '${{ params.p }}', '${{ pipeline.status }}']
`

// TestLiteralParams: every hostile text, given as a parameter, reaches
// each launcher that reads it byte for byte: a step, a condition, a
// finally task; and so does an output value (written as a value ref when
// it could not travel as it is).
func TestLiteralParams(t *testing.T) {
	for _, h := range plantest.Hostile {
		t.Run(fmt.Sprintf("%q", h), func(t *testing.T) {
			store := plantest.NewStore(t)
			objs := compileText(t, literalPipeline, "p="+h)
			c := newController(t, objs)
			c.setResult("produce", "v", *v1.NewStructuredValues(plantest.Written(t, store, h)))
			for _, task := range []string{"consume-when", "consume", "bye"} {
				runs, ran := c.run(t, task)
				if !ran {
					t.Fatalf("%s did not run", task)
				}
				l := plantest.Parse(t, store, runs[0][1:])
				if got := l.Value(t, "params.p"); got != h {
					t.Errorf("%s: params.p = %q, want %q", task, got, h)
				}
				switch task {
				case "consume-when":
					if want := "${{ steps.produce.outputs.params.v }} == ${{ params.p }}"; l.Spec.Step.When != want {
						t.Errorf("condition %q, want %q", l.Spec.Step.When, want)
					}
					c.setResult(task, "sluice-when", *v1.NewStructuredValues("true"))
					fallthrough
				case "consume":
					if got := l.Value(t, "steps.produce.outputs.params.v"); got != h {
						t.Errorf("%s: the output = %q, want %q", task, got, h)
					}
				}
				if task != "consume-when" {
					if got := l.Value(t, "pipeline.runId"); got != "run-x7k2p" {
						t.Errorf("%s: pipeline.runId = %q, want the PipelineRun's name", task, got)
					}
				}
			}
		})
	}
}

// TestLiteralItems: hostile items of a literal loop reach each
// iteration's launcher, one each, in order.
func TestLiteralItems(t *testing.T) {
	items := ir.NewValue(toAny(plantest.Hostile))
	p := &ir.Pipeline{
		APIVersion: ir.APIVersion, Kind: ir.Kind,
		Metadata: ir.Metadata{Name: "items"},
		Spec: ir.Spec{Steps: []ir.Step{
			{Name: "loop", Image: "busybox", ForEach: &ir.ForEach{Items: &items}, Command: []string{"echo", "${{ item }}"}},
		}},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	objs, err := tekton.Compile(p, nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, objs)
	runs, _ := newController(t, objs).run(t, "loop")
	if len(runs) != len(plantest.Hostile) {
		t.Fatalf("%d TaskRuns, want %d", len(runs), len(plantest.Hostile))
	}
	store := plantest.NewStore(t)
	for i, args := range runs {
		if got := plantest.Parse(t, store, args[1:]).Value(t, "item"); got != plantest.Hostile[i] {
			t.Errorf("iteration %d: item = %q, want %q", i, got, plantest.Hostile[i])
		}
	}
}

// TestLiteralSpec: the user's own text (command, args, env, inputs)
// travels in the spec and comes out of Tekton's substitution unchanged.
func TestLiteralSpec(t *testing.T) {
	step := ir.Step{Name: "s", Image: "busybox", Command: []string{"echo"}}
	for i, h := range plantest.Hostile {
		if !utf8.ValidString(h) {
			continue // a pipeline file is UTF-8; the spec is JSON
		}
		step.Command = append(step.Command, h)
		step.Env = append(step.Env, ir.EnvVar{Name: "V" + strconv.Itoa(i), Value: h})
	}
	step.WorkingDir = "/$(params.x)"
	p := &ir.Pipeline{APIVersion: ir.APIVersion, Kind: ir.Kind, Metadata: ir.Metadata{Name: "spec"}, Spec: ir.Spec{Steps: []ir.Step{step}}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	objs, err := tekton.Compile(p, nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	runs, _ := newController(t, objs).run(t, "s")
	got, err := ir.EncodeStep(&plantest.Parse(t, plantest.NewStore(t), runs[0][1:]).Spec.Step)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ir.EncodeStep(&step)
	if string(got) != string(want) {
		t.Errorf("the spec after Tekton:\n%s\nwant\n%s", got, want)
	}
}

// TestLiteralResults: output values as a launcher writes them reach the
// readers of a step, of a loop (its aggregated array, put in item order
// by the iterations' indexes) and of an unrolled loop unchanged.
func TestLiteralResults(t *testing.T) {
	src := `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: results}
spec:
  defaults: {image: busybox}
  steps:
    - name: one
      command: [sh, -c, 'cat v > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}], artifacts: [{name: a}]}
    - name: many
      forEach: {items: [1, 2]}
      command: [sh, -c, 'cat v > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}]}
    - name: each
      forEach: {items: [1, 2]}
      group:
        steps:
          - name: inner
            command: [sh, -c, 'cat v > ${{ outputs.params.v }}']
            outputs: {params: [{name: v}]}
    - name: read
      command: [echo, '${{ steps.one.outputs.params.v }}', '${{ steps.one.outputs.artifacts.a }}',
        '${{ steps.many.outputs.params.v }}', '${{ steps.inner.outputs.params.v }}']
`
	for _, h := range plantest.Hostile {
		t.Run(fmt.Sprintf("%q", h), func(t *testing.T) {
			store := plantest.NewStore(t)
			c := newController(t, compileText(t, src))
			w := plantest.Written(t, store, h)
			uri := "cas://sha256/" + strings.Repeat("ab", 32) + "?kind=file&size=3"
			c.setResult("one", "v", *v1.NewStructuredValues(w))
			c.setResult("one", "a", *v1.NewStructuredValues(uri))
			// As Tekton aggregates a matrix's results (by TaskRun name),
			// with each TaskRun's index: here out of item order.
			c.setResult("many", "v", *v1.NewStructuredValues("second", w))
			c.setResult("many", "sluice-index", *v1.NewStructuredValues("1", "0"))
			c.setResult("inner-0", "v", *v1.NewStructuredValues(w))
			c.setResult("inner-1", "v", *v1.NewStructuredValues("second"))
			runs, _ := c.run(t, "read")
			l := plantest.Parse(t, store, runs[0][1:])
			if got := l.Value(t, "steps.one.outputs.params.v"); got != h {
				t.Errorf("value = %q, want %q", got, h)
			}
			if got := l.Value(t, "steps.one.outputs.artifacts.a"); got != uri {
				t.Errorf("artifact = %q, want %q", got, uri)
			}
			// The list every backend makes (step.JSONList, as the local
			// runner's aggregate).
			want := step.JSONList([]any{step.ListElem(h, ir.TypeString, false), step.ListElem("second", ir.TypeString, false)})
			for _, k := range []string{"steps.many.outputs.params.v", "steps.inner.outputs.params.v"} {
				if got := l.Value(t, k); got != want {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
		})
	}
}

// TestStatus: a finally task that reads the pipeline's status runs once,
// with Succeeded or Failed, whatever Tekton's $(tasks.status) says.
func TestStatus(t *testing.T) {
	objs := compileText(t, literalPipeline)
	for tekton, want := range map[string]string{"Succeeded": "Succeeded", "Completed": "Succeeded", "Failed": "Failed", "None": "Failed"} {
		c := newController(t, objs)
		c.status = tekton
		var got []string
		for _, task := range []string{"bye", "bye-failed"} {
			if runs, ran := c.run(t, task); ran {
				got = append(got, plantest.Parse(t, plantest.NewStore(t), runs[0][1:]).Value(t, "pipeline.status"))
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("$(tasks.status) %s: pipeline.status %q, want once %q", tekton, got, want)
		}
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestFilteredLoop plays a loop over another step's output, with a
// condition on each item, through Tekton's own substitution and the
// launcher's own code: the filter task's launcher (launch.When) keeps the
// items that pass, Tekton fans the step out over the array it wrote, and
// each TaskRun's launcher gets its item back byte for byte, with its
// index in the loop.
func TestFilteredLoop(t *testing.T) {
	objs := compileText(t, plantest.FilterPipeline)
	list, want := plantest.FilterItems()
	store := plantest.NewStore(t)
	c := newController(t, objs)
	c.setResult("produce", "l", *v1.NewStructuredValues(plantest.Written(t, store, list)))
	if !c.runFilter(t, "each-items", store) {
		t.Fatal("the filter task did not run")
	}
	args, ran := c.run(t, "each")
	if !ran {
		t.Fatal("the loop did not run")
	}
	var got []string
	var indexes []int
	for _, a := range args {
		l := plantest.Parse(t, store, a[1:])
		got = append(got, l.Value(t, "item"))
		i, _ := l.In.Index()
		indexes = append(indexes, i)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	// FilterItems keeps every other item.
	for n, i := range indexes {
		if i != 2*n {
			t.Errorf("TaskRun %d: index %d, want %d", n, i, 2*n)
		}
	}
}

// resultsDir is where Tekton's entrypoint reads a Task's results
// ($(results.NAME.path) after ApplyResults).
const resultsDir = "/tekton/results/"

// runFilter plays a filter task: its launcher's command line after
// Tekton's substitution, read and decided by the launcher's own code
// (launch.When), and the results it writes (WhenResult.Texts) under the
// Task's --out NAME=$(results.RESULT.path), an array result read as
// Tekton reads it. It reports whether the task ran.
func (c *controller) runFilter(t testing.TB, name string, store cache.Store) bool {
	t.Helper()
	runs, ran := c.run(t, name)
	if !ran {
		return false
	}
	l := plantest.Parse(t, store, runs[0][1:])
	res, err := launch.When(context.Background(), &launch.WhenRequest{Spec: l.Spec, In: l.In})
	if err != nil {
		t.Fatal(err)
	}
	texts := res.Texts()
	pt, _ := c.task(t, name)
	for _, a := range runs[0] {
		out, ok := strings.CutPrefix(a, "--out=")
		if !ok {
			continue
		}
		key, path, _ := strings.Cut(out, "=")
		result := strings.TrimPrefix(path, resultsDir)
		v := *v1.NewStructuredValues(texts[key])
		for _, r := range pt.TaskSpec.Results {
			if r.Name == result && r.Type == v1.ResultsTypeArray {
				if err := v.UnmarshalJSON([]byte(texts[key])); err != nil {
					t.Fatalf("result %s: %v", result, err)
				}
			}
		}
		c.setResult(name, result, v)
	}
	return true
}
