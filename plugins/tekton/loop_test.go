package tekton_test

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"knative.dev/pkg/apis"

	"github.com/sluice-dev/sluice/plugins/probe"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// loopSrc has a loop over literal items with parallelism 2, retries and
// a timeout, and a loop over another step's output with a condition on
// each item, which a filter task decides.
const loopSrc = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: p, labels: {team: ml}}
spec:
  defaults: {image: busybox:1.36}
  steps:
    - name: sweep
      forEach: {items: [a, b, c, d], parallelism: 2}
      command: [sh, -c, 'printf "%s-v" "${{ item }}" > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}]}
      retry: {limit: 1}
      timeout: 1m
    - name: words
      command: [sh, -c, 'printf "[\"x\",\"y\",\"z\"]" > ${{ outputs.params.w }}']
      outputs: {params: [{name: w, type: list}]}
    - name: each
      forEach: {items: '${{ steps.words.outputs.params.w }}'}
      when: '"${{ item }}" != "y"'
      command: [sh, -c, 'printf "%s!" "${{ item }}" > ${{ outputs.params.s }}']
      outputs: {params: [{name: s}]}
`

func newLoopEnv(t *testing.T) *env {
	e := newEnv(t)
	e.src = loopSrc
	return e
}

// sweep creates the CustomRun of the literal loop in run.
func (e *env) sweep(run string, edit func(*cachedstep.Spec)) *v1beta1.CustomRun {
	e.t.Helper()
	return e.customRun(run, e.pipelineTask("sweep"), edit)
}

// itemOf is the item a lookup was for.
func itemOf(t *testing.T, r *probe.Request) string {
	t.Helper()
	for _, a := range r.Args {
		if v, ok := strings.CutPrefix(a, "--in=item="); ok {
			return v
		}
		if v, ok := strings.CutPrefix(a, "--in-b64=item="); ok {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatalf("a lookup without an item: %q", r.Args)
	return ""
}

// looked are the items looked up so far, sorted: the controller looks
// several up at once.
func (e *env) looked() []string {
	e.t.Helper()
	var out []string
	for _, r := range e.probes.reqs {
		out = append(out, itemOf(e.t, r))
	}
	sort.Strings(out)
	return out
}

// fillItems runs the iterations of the lookups for items with the
// launcher, so that the store holds their entries.
func (e *env) fillItems(items ...string) {
	e.t.Helper()
	for _, it := range items {
		found := false
		for _, r := range e.probes.reqs {
			if itemOf(e.t, r) == it {
				e.run(r)
				found = true
				break
			}
		}
		if !found {
			e.t.Fatalf("no lookup for item %q", it)
		}
	}
}

func iterations(t *testing.T, cr *v1beta1.CustomRun) []cachedstep.Iteration {
	t.Helper()
	return cachedstep.StatusOf(&cr.Status).Iterations
}

// states are the iterations' conditions: "Index:Status/Reason".
func states(t *testing.T, cr *v1beta1.CustomRun) []string {
	t.Helper()
	var out []string
	for _, it := range iterations(t, cr) {
		c := it.Status.GetCondition(apis.ConditionSucceeded)
		s := "waiting"
		if c != nil {
			s = string(c.Status) + "/" + c.Reason
		}
		out = append(out, string(rune('0'+it.Index))+":"+s)
	}
	return out
}

func (e *env) taskRunNames() []string {
	e.t.Helper()
	var out []string
	for _, tr := range e.taskRuns() {
		out = append(out, tr.Name)
	}
	sort.Strings(out)
	return out
}

// TestLoopHits: a loop whose iterations are all in the cache completes in
// one reconcile with the results a matrix would have aggregated, in item
// order, and no TaskRun: hits take no place, whatever the parallelism.
func TestLoopHits(t *testing.T) {
	e := newLoopEnv(t)
	first := e.sweep("run-1", func(s *cachedstep.Spec) { s.Loop.Parallelism = 0 })
	first = e.reconcile(first.Name)
	if got := states(t, first); !cmp.Equal(got, []string{"0:Unknown/TaskRunPending", "1:Unknown/TaskRunPending", "2:Unknown/TaskRunPending", "3:Unknown/TaskRunPending"}) {
		t.Fatalf("first run: %v, want four misses", got)
	}
	e.fillItems("a", "b", "c", "d")
	e.probes.reqs = nil
	cr := e.reconcile(e.sweep("run-2", nil).Name)
	status, reason, msg := condition(cr)
	if status != "True" || reason != cachedstep.ReasonCached || msg != "4 iterations: 4 from the cache, 0 ran" {
		t.Fatalf("second run: %s %s %q", status, reason, msg)
	}
	want := map[string]string{
		"v":             `["a-v","b-v","c-v","d-v"]`,
		"sluice-cached": `["true","true","true","true"]`,
		"sluice-count":  "4",
	}
	if diff := cmp.Diff(want, resultsOf(cr)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if n := len(e.taskRuns()); n != 0 {
		t.Errorf("%d TaskRuns, want none", n)
	}
	if got := e.looked(); len(got) != 4 {
		t.Errorf("lookups %v, want one per item", got)
	}
	for i, it := range iterations(t, cr) {
		st := cachedstep.StatusOf(&it.Status)
		if it.Index != i || st.Lookup != cachedstep.Hit || st.Key == "" || len(it.Status.Results) != 0 {
			t.Errorf("iteration %d: index %d, record %+v, results %v (want them aggregated only)", i, it.Index, st, it.Status.Results)
		}
	}
	// The per-iteration results come back from the aggregate.
	if got := cachedstep.Element(cr.Status.Results, 2); !cmp.Equal(got, []v1beta1.CustomRunResult{{Name: "sluice-cached", Value: "true"}, {Name: "v", Value: "c-v"}}) {
		t.Errorf("Element(2) = %v", got)
	}
}

// TestLoopParallelism: misses run as TaskRuns, at most parallelism at
// once, each created only after its lookup is recorded; hits take no
// place; the results are aggregated in item order, the TaskRuns' and the
// hits' alike.
func TestLoopParallelism(t *testing.T) {
	e := newLoopEnv(t)
	seed := e.reconcile(e.sweep("run-0", func(s *cachedstep.Spec) { s.Loop.Parallelism = 0 }).Name)
	if n := len(iterations(t, seed)); n != 4 {
		t.Fatalf("%d iterations", n)
	}
	e.fillItems("b", "d")
	e.probes.reqs = nil

	cr := e.reconcile(e.sweep("run-1", nil).Name)
	// a misses, b hits, c misses: two run, d waits for a place.
	if diff := cmp.Diff([]string{"0:Unknown/TaskRunPending", "1:True/Cached", "2:Unknown/TaskRunPending", "3:waiting"}, states(t, cr)); diff != "" {
		t.Fatalf("after the first reconcile (-want +got):\n%s", diff)
	}
	if got := e.looked(); !cmp.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("lookups %v, want a, b, c", got)
	}
	if n := len(e.taskRuns()); n != 0 {
		t.Fatalf("%d TaskRuns before the lookups are recorded", n)
	}
	cr = e.reconcile(cr.Name)
	if diff := cmp.Diff([]string{"run-1-sweep-0-0", "run-1-sweep-2-0"}, e.taskRunNames()); diff != "" {
		t.Fatalf("TaskRuns (-want +got):\n%s", diff)
	}
	tr := e.taskRun("run-1-sweep-2-0")
	if got := tr.Spec.Params; len(got) != 2 || got[0].Name != "sluice_item" || got[0].Value.StringVal != "c" || got[1].Name != "sluice_run" {
		t.Errorf("TaskRun params %v: want the item first, then the CustomRun's", got)
	}
	if !metav1.IsControlledBy(tr, cr) || tr.Labels["tekton.dev/pipelineRun"] != "run-1" || tr.Labels[cachedstep.LabelCustomRun] != cr.Name ||
		tr.Spec.Timeout.Duration != 6*time.Minute || tr.Spec.Retries != 0 {
		t.Errorf("TaskRun owners %v, labels %v, timeout %v, retries %d", tr.OwnerReferences, tr.Labels, tr.Spec.Timeout, tr.Spec.Retries)
	}
	if status, reason, msg := condition(cr); status != "Unknown" || reason != "Running" || msg != "1 of 4 iterations done (1 from the cache), 2 running, 1 waiting" {
		t.Errorf("while it runs: %s %s %q", status, reason, msg)
	}
	e.finish("run-1-sweep-0-0", "True", "Succeeded", "", map[string]string{"sluice-cached": "false", "v": "a-v"})
	cr = e.reconcile(cr.Name)
	// a's place goes to d, a hit.
	if diff := cmp.Diff([]string{"0:True/Succeeded", "1:True/Cached", "2:Unknown/TaskRunPending", "3:True/Cached"}, states(t, cr)); diff != "" {
		t.Fatalf("after a (-want +got):\n%s", diff)
	}
	e.finish("run-1-sweep-2-0", "True", "Succeeded", "", map[string]string{"sluice-cached": "false", "v": "c-v"})
	cr = e.reconcile(cr.Name)
	if status, reason, msg := condition(cr); status != "True" || reason != "Succeeded" || msg != "4 iterations: 2 from the cache, 2 ran" {
		t.Fatalf("at the end: %s %s %q", status, reason, msg)
	}
	want := map[string]string{"v": `["a-v","b-v","c-v","d-v"]`, "sluice-cached": `["false","true","false","true"]`, "sluice-count": "4"}
	if diff := cmp.Diff(want, resultsOf(cr)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if n := len(e.taskRuns()); n != 2 {
		t.Errorf("%d TaskRuns, want 2", n)
	}
}

// TestLoopBound: with every iteration a miss, no more than parallelism
// TaskRuns exist before one ends.
func TestLoopBound(t *testing.T) {
	e := newLoopEnv(t)
	cr := e.sweep("run-1", nil)
	for range 3 {
		cr = e.reconcile(cr.Name)
	}
	if diff := cmp.Diff([]string{"run-1-sweep-0-0", "run-1-sweep-1-0"}, e.taskRunNames()); diff != "" {
		t.Fatalf("TaskRuns (-want +got):\n%s", diff)
	}
	e.finish("run-1-sweep-1-0", "True", "Succeeded", "", map[string]string{"sluice-cached": "false", "v": "b-v"})
	e.reconcile(cr.Name)
	e.reconcile(cr.Name)
	if diff := cmp.Diff([]string{"run-1-sweep-0-0", "run-1-sweep-1-0", "run-1-sweep-2-0"}, e.taskRunNames()); diff != "" {
		t.Errorf("TaskRuns after b (-want +got):\n%s", diff)
	}
}

// TestLoopFailure: an iteration whose attempts all fail is retried
// (spec.retries, its own TaskRun per attempt, a new lookup each), then
// fails the loop; no other iteration starts after it, and the one still
// running finishes first.
func TestLoopFailure(t *testing.T) {
	e := newLoopEnv(t)
	cr := e.sweep("run-1", nil) // retries: 1
	e.reconcile(cr.Name)
	e.reconcile(cr.Name)
	e.finish("run-1-sweep-0-0", "False", "Failed", "exit 1", nil)
	e.now = e.now.Add(time.Minute)
	cr = e.reconcile(cr.Name)
	it := iterations(t, cr)[0]
	if c := it.Status.GetCondition(apis.ConditionSucceeded); c.Reason != cachedstep.ReasonToBeRetried || len(it.Status.RetriesStatus) != 1 ||
		!it.Status.StartTime.Time.Equal(e.now) || cachedstep.StatusOf(&it.Status.RetriesStatus[0]).TaskRun != "run-1-sweep-0-0" {
		t.Fatalf("iteration 0 after its first attempt: %+v", it.Status)
	}
	e.reconcile(cr.Name)
	if got := e.looked(); !cmp.Equal(got, []string{"a", "a", "b"}) {
		t.Errorf("lookups %v: the retry is looked up again", got)
	}
	cr = e.reconcile(cr.Name)
	e.finish("run-1-sweep-0-1", "False", "Failed", "exit 2", nil)
	cr = e.reconcile(cr.Name)
	if status, _, msg := condition(cr); status != "Unknown" || !strings.HasSuffix(msg, "1 running; item 0 failed") {
		t.Fatalf("while b runs: %s %q", status, msg)
	}
	if diff := cmp.Diff([]string{"0:False/Failed", "1:Unknown/TaskRunPending", "2:waiting", "3:waiting"}, states(t, cr)); diff != "" {
		t.Errorf("iterations (-want +got):\n%s", diff)
	}
	e.finish("run-1-sweep-1-0", "True", "Succeeded", "", map[string]string{"sluice-cached": "false", "v": "b-v"})
	cr = e.reconcile(cr.Name)
	if status, reason, msg := condition(cr); status != "False" || reason != "Failed" || msg != "item 0: exit 2" || cr.Status.CompletionTime == nil {
		t.Errorf("at the end: %s %s %q", status, reason, msg)
	}
	if diff := cmp.Diff([]string{"run-1-sweep-0-0", "run-1-sweep-0-1", "run-1-sweep-1-0"}, e.taskRunNames()); diff != "" {
		t.Errorf("TaskRuns (-want +got):\n%s", diff)
	}
	if len(cr.Status.Results) != 0 || len(cr.Status.RetriesStatus) != 0 {
		t.Errorf("a failed loop: results %v, retries %d", cr.Status.Results, len(cr.Status.RetriesStatus))
	}
}

// TestLoopCancel: cancelling the loop's CustomRun cancels every TaskRun
// that runs and ends it as CustomRunCancelled; nothing else starts.
func TestLoopCancel(t *testing.T) {
	e := newLoopEnv(t)
	cr := e.sweep("run-1", nil)
	e.reconcile(cr.Name)
	cr = e.reconcile(cr.Name)
	cr.Spec.Status = v1beta1.CustomRunSpecStatusCancelled
	cr.Spec.StatusMessage = v1beta1.CustomRunCancelledByPipelineMsg
	e.update(cr)
	lookups := len(e.probes.reqs)
	cr = e.reconcile(cr.Name)
	if status, reason, _ := condition(cr); status != "False" || reason != v1beta1.CustomRunReasonCancelled.String() {
		t.Errorf("%s %s", status, reason)
	}
	for _, name := range []string{"run-1-sweep-0-0", "run-1-sweep-1-0"} {
		if tr := e.taskRun(name); tr.Spec.Status != v1.TaskRunSpecStatusCancelled || tr.Spec.StatusMessage != v1.TaskRunCancelledByPipelineMsg {
			t.Errorf("%s: spec.status %q, statusMessage %q", name, tr.Spec.Status, tr.Spec.StatusMessage)
		}
	}
	if diff := cmp.Diff([]string{"0:False/CustomRunCancelled", "1:False/CustomRunCancelled", "2:waiting", "3:waiting"}, states(t, cr)); diff != "" {
		t.Errorf("iterations (-want +got):\n%s", diff)
	}
	if len(e.probes.reqs) != lookups || len(e.taskRuns()) != 2 {
		t.Errorf("after the cancellation: %d more lookups, %d TaskRuns", len(e.probes.reqs)-lookups, len(e.taskRuns()))
	}
}

// TestLoopTimeout: each iteration's attempt has the CustomRun's timeout,
// from its own start (as each TaskRun of a matrix has the pipeline
// task's): one that outlives it is cancelled and retried, then fails the
// loop as CustomRunTimedOut. Reconcile asks to be called back at the
// first deadline.
func TestLoopTimeout(t *testing.T) {
	e := newLoopEnv(t)
	cr := e.sweep("run-1", nil) // timeout 6m, retries 1
	e.reconcile(cr.Name)
	e.now = e.now.Add(2 * time.Minute)
	again, err := e.rec.Reconcile(context.Background(), e.get(cr.Name))
	if err != nil || again != 4*time.Minute {
		t.Fatalf("Reconcile: again %v, %v; want the first deadline", again, err)
	}
	e.finish("run-1-sweep-1-0", "True", "Succeeded", "", map[string]string{"sluice-cached": "false", "v": "b-v"})
	e.reconcile(cr.Name) // c starts, at 2m
	e.now = e.now.Add(5 * time.Minute)
	cr = e.reconcile(cr.Name)
	if diff := cmp.Diff([]string{"0:Unknown/ToBeRetried", "1:True/Succeeded", "2:Unknown/TaskRunPending", "3:waiting"}, states(t, cr)); diff != "" {
		t.Fatalf("after a's deadline (-want +got):\n%s", diff)
	}
	if tr := e.taskRun("run-1-sweep-0-0"); tr.Spec.Status != v1.TaskRunSpecStatusCancelled {
		t.Error("a's timed out TaskRun is not cancelled")
	}
	if c := iterations(t, cr)[0].Status.RetriesStatus[0].GetCondition(apis.ConditionSucceeded); c.Reason != v1beta1.CustomRunReasonTimedOut.String() {
		t.Errorf("the timed out attempt's reason %s", c.Reason)
	}
	e.reconcile(cr.Name) // a's second attempt: its lookup
	e.reconcile(cr.Name) // and its TaskRun
	e.finish("run-1-sweep-0-1", "False", v1.TaskRunReasonTimedOut.String(), `TaskRun "run-1-sweep-0-1" failed to finish within "6m0s"`, nil)
	e.finish("run-1-sweep-2-0", "True", "Succeeded", "", map[string]string{"sluice-cached": "false", "v": "c-v"})
	cr = e.reconcile(cr.Name)
	if status, reason, msg := condition(cr); status != "False" || reason != v1beta1.CustomRunReasonTimedOut.String() || !strings.HasPrefix(msg, "item 0: ") {
		t.Errorf("at the end: %s %s %q", status, reason, msg)
	}
}

// TestLoopResume: a reconcile cut short, its status never written, is
// done again without a second TaskRun for any attempt; a TaskRun that
// could not be created is created by the next reconcile.
func TestLoopResume(t *testing.T) {
	e := newLoopEnv(t)
	cr := e.sweep("run-1", nil)
	e.reconcile(cr.Name)
	// The reconcile that creates the TaskRuns: b's creation fails, and
	// so does the status update.
	failCreate, failUpdate := true, true
	e.cs.PrependReactor("create", "taskruns", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if tr := a.(k8stesting.CreateAction).GetObject().(*v1.TaskRun); tr.Name == "run-1-sweep-1-0" && failCreate {
			failCreate = false
			return true, nil, errors.New("etcd is busy")
		}
		return false, nil, nil
	})
	e.cs.PrependReactor("update", "customruns", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" && failUpdate {
			failUpdate = false
			return true, nil, errors.New("conflict")
		}
		return false, nil, nil
	})
	if _, err := e.rec.Reconcile(context.Background(), e.get(cr.Name)); err == nil {
		t.Fatal("Reconcile: no error")
	}
	if diff := cmp.Diff([]string{"run-1-sweep-0-0"}, e.taskRunNames()); diff != "" {
		t.Fatalf("TaskRuns after the cut-short reconcile (-want +got):\n%s", diff)
	}
	cr = e.reconcile(cr.Name)
	cr = e.reconcile(cr.Name)
	if diff := cmp.Diff([]string{"run-1-sweep-0-0", "run-1-sweep-1-0"}, e.taskRunNames()); diff != "" {
		t.Errorf("TaskRuns (-want +got):\n%s", diff)
	}
	if got := e.looked(); !cmp.Equal(got, []string{"a", "b"}) {
		t.Errorf("lookups %v: want each once", got)
	}
	if diff := cmp.Diff([]string{"0:Unknown/TaskRunPending", "1:Unknown/TaskRunPending", "2:waiting", "3:waiting"}, states(t, cr)); diff != "" {
		t.Errorf("iterations (-want +got):\n%s", diff)
	}
}

// TestLoopRunTime: a loop over items known at run time takes its filter
// task's items (base64 each) and verdicts as parameters: each iteration
// shows under its item's index in the loop, gets its item as its
// TaskRun's sluice_item, and the loop's own parameters stay out of the
// TaskRun.
func TestLoopRunTime(t *testing.T) {
	e := newLoopEnv(t)
	pt := e.pipelineTask("each")
	b64 := base64.StdEncoding.EncodeToString
	for i, p := range pt.Params {
		switch p.Name {
		case "sluice_items": // as Tekton resolves $(tasks.each-items.results.sluice-items[*])
			pt.Params[i].Value = v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: []string{b64([]byte("x")), b64([]byte("z"))}}
		case "sluice_runs":
			pt.Params[i].Value = *v1.NewStructuredValues("[true,false,true]")
		}
	}
	cr := e.reconcile(e.customRun("run-1", pt, nil).Name)
	var idx []int
	for _, it := range iterations(t, cr) {
		idx = append(idx, it.Index)
	}
	if !cmp.Equal(idx, []int{0, 2}) {
		t.Fatalf("iterations %v, want the items 0 and 2", idx)
	}
	if got := e.looked(); !cmp.Equal(got, []string{"x", "z"}) {
		t.Errorf("lookups %v", got)
	}
	e.reconcile(cr.Name)
	tr := e.taskRun("run-1-each-2-0")
	want := v1.Params{{Name: "sluice_item", Value: *v1.NewStructuredValues(b64([]byte("z")))}, {Name: "sluice_run", Value: *v1.NewStructuredValues("run-1")}}
	if diff := cmp.Diff(want, tr.Spec.Params); diff != "" {
		t.Errorf("TaskRun params (-want +got):\n%s", diff)
	}
	// Verdicts that do not match the items: the CustomRun is refused.
	for i, p := range pt.Params {
		if p.Name == "sluice_runs" {
			pt.Params[i].Value = *v1.NewStructuredValues("[true,false]")
		}
	}
	bad := e.reconcile(e.customRun("run-2", pt, nil).Name)
	if status, reason, msg := condition(bad); status != "False" || reason != cachedstep.ReasonInvalid || !strings.Contains(msg, "2 items in sluice_items, 1 that run") {
		t.Errorf("bad verdicts: %s %s %q", status, reason, msg)
	}
}
