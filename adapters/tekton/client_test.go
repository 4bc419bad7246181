package tekton_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tkfake "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/kube/kubetest"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

var prGR = schema.GroupResource{Group: "tekton.dev", Resource: "pipelineruns"}

// runFile is a pipeline with what a PipelineRun shows in its own way: a
// matrix (fit), a condition task (check-when), a skip that follows from
// another (publish), an unrolled loop over a group (draw-0, draw-1) and
// an onExit step compiled once per outcome (notify, notify-failed).
const runFile = "testdata/run.yaml"

// compiled is runFile's pipeline and PipelineRun.
func compiled(t testing.TB) (*ir.Pipeline, *v1.PipelineRun) {
	t.Helper()
	src, err := os.ReadFile(runFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ir.Parse(runFile, src)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := tekton.Compile(p, nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	return p, objs.PipelineRun
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(s int) *metav1.Time {
	t := metav1.NewTime(t0.Add(time.Duration(s) * time.Second))
	return &t
}

func succeededCond(status corev1.ConditionStatus, reason, msg string) duckv1.Conditions {
	return duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: status, Reason: reason, Message: msg}}
}

// tr is a TaskRun of pipeline task pt in run, as Tekton's controller
// writes it.
type tr struct {
	name, pt string
	status   corev1.ConditionStatus
	reason   string
	msg      string
	start    int
	end      int
	results  []string // name, value, …
	item     string   // a matrix's sluice_item
	retries  int      // failed attempts before this one
}

func (x tr) build(run string) *v1.TaskRun {
	t := &v1.TaskRun{ObjectMeta: metav1.ObjectMeta{
		Name: run + "-" + x.name, Namespace: "ml", CreationTimestamp: *at(x.start),
		Labels: map[string]string{pipeline.PipelineRunLabelKey: run, pipeline.PipelineTaskLabelKey: x.pt},
	}}
	if x.item != "" {
		t.Spec.Params = v1.Params{{Name: "sluice_item", Value: *v1.NewStructuredValues(x.item)}}
	}
	st := &t.Status
	st.Conditions = succeededCond(x.status, x.reason, x.msg)
	st.StartTime = at(x.start)
	st.PodName = run + "-" + x.name + "-pod"
	if x.end > 0 {
		st.CompletionTime = at(x.end)
	}
	for i := 0; i+1 < len(x.results); i += 2 {
		st.Results = append(st.Results, v1.TaskRunResult{Name: x.results[i], Type: v1.ResultsTypeString, Value: *v1.NewStructuredValues(x.results[i+1])})
	}
	for i := range x.retries {
		prev := v1.TaskRunStatus{}
		prev.Conditions = succeededCond(corev1.ConditionFalse, "Failed", `"step-run" exited with code 1`)
		prev.PodName = run + "-" + x.name + "-pod-" + string(rune('a'+i))
		prev.CompletionTime = at(x.start - 1)
		st.RetriesStatus = append(st.RetriesStatus, prev)
	}
	return t
}

// runStates are runFile's run as Tekton's controllers move it along.
func runStates(t testing.TB, name string) (*ir.Pipeline, []*tekton.Run) {
	p, pr := compiled(t)
	pr.Name, pr.Namespace = name, "ml"
	pr.CreationTimestamp = *at(0)
	state := func(cond duckv1.Conditions, end *metav1.Time, skipped []v1.SkippedTask, trs ...tr) *tekton.Run {
		r := &tekton.Run{PipelineRun: pr.DeepCopy(), TaskRuns: map[string]*v1.TaskRun{}}
		r.PipelineRun.Status.Conditions = cond
		r.PipelineRun.Status.StartTime = at(0)
		r.PipelineRun.Status.CompletionTime = end
		r.PipelineRun.Status.SkippedTasks = skipped
		for _, x := range trs {
			t := x.build(name)
			r.TaskRuns[t.Name] = t
			r.PipelineRun.Status.ChildReferences = append(r.PipelineRun.Status.ChildReferences, v1.ChildStatusReference{
				TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: pipeline.TaskRunControllerName}, Name: t.Name, PipelineTaskName: x.pt,
			})
		}
		return r
	}
	running := succeededCond(corev1.ConditionUnknown, "Running", "Tasks Completed: 0")
	whenFalse := []v1.SkippedTask{
		{Name: "check", Reason: v1.WhenExpressionsSkip},
		{Name: "publish", Reason: v1.WhenExpressionsSkip},
	}
	fetch := tr{name: "fetch", pt: "fetch", status: corev1.ConditionTrue, reason: "Succeeded", start: 1, end: 3, results: []string{"rows", "3", "sluice-cached", "true"}}
	mid := []tr{
		fetch,
		{name: "fit-0", pt: "fit", status: corev1.ConditionUnknown, reason: "Running", start: 7, item: "a", retries: 1},
		{name: "fit-1", pt: "fit", status: corev1.ConditionUnknown, reason: "ToBeRetried", start: 6, item: "b", retries: 1},
		{name: "check-when", pt: "check-when", status: corev1.ConditionTrue, reason: "Succeeded", start: 4, end: 5, results: []string{"sluice-when", "false"}},
		{name: "draw-0", pt: "draw-0", status: corev1.ConditionTrue, reason: "Succeeded", start: 4, end: 6, results: []string{"sluice-cached", "false"}},
		{name: "draw-1", pt: "draw-1", status: corev1.ConditionUnknown, reason: "Pending", start: 4},
	}
	done := append([]tr(nil), mid...)
	done[1] = tr{name: "fit-0", pt: "fit", status: corev1.ConditionTrue, reason: "Succeeded", start: 7, end: 9, item: "a", retries: 1}
	done[2] = tr{name: "fit-1", pt: "fit", status: corev1.ConditionFalse, reason: "Failed", msg: `"step-run" exited with code 69`, start: 6, end: 8, item: "b", retries: 1}
	done[5] = tr{name: "draw-1", pt: "draw-1", status: corev1.ConditionTrue, reason: "Succeeded", start: 5, end: 9}
	done = append(done, tr{name: "notify-failed", pt: "notify-failed", status: corev1.ConditionTrue, reason: "Succeeded", start: 10, end: 11})
	return p, []*tekton.Run{
		state(running, nil, nil, tr{name: "fetch", pt: "fetch", status: corev1.ConditionUnknown, reason: "Running", start: 1}),
		state(running, nil, whenFalse, mid...),
		state(succeededCond(corev1.ConditionFalse, "Failed", "Tasks Completed: 7 (Failed: 1, Cancelled 0), Skipped: 3"), at(12),
			append(whenFalse, v1.SkippedTask{Name: "notify", Reason: v1.WhenExpressionsSkip}), done...),
	}
}

func TestTracker(t *testing.T) {
	p, states := runStates(t, "run-1")
	tr := tekton.NewTracker(p)
	var got []report.Event
	for _, r := range states {
		got = append(got, tr.Update(r)...)
	}
	const needs = "not run: it needs a step that was skipped or failed"
	want := []report.Event{
		{Step: "fetch", State: report.Pending}, {Step: "check", State: report.Pending}, {Step: "publish", State: report.Pending},
		{Step: "draw[0]", State: report.Pending}, {Step: "draw[1]", State: report.Pending}, {Step: "notify", State: report.Pending},
		{Step: "fetch", State: report.Running, Attempt: 1},
		{Step: "fetch", State: report.Cached, Attempt: 1},
		{Step: "check", State: report.Skipped, Message: "when is false"},
		{Step: "fit[1]", State: report.Retrying, Attempt: 1, Message: `"step-run" exited with code 1`},
		{Step: "publish", State: report.Skipped, Message: needs},
		{Step: "draw[0]", State: report.Succeeded, Attempt: 1},
		{Step: "fit[0]", State: report.Running, Attempt: 2},
		{Step: "fit[1]", State: report.Failed, Attempt: 2,
			Message: `"step-run" exited with code 69: the store could not be opened, or an input not fetched`},
		{Step: "draw[1]", State: report.Succeeded, Attempt: 1},
		{Step: "fit[0]", State: report.Succeeded, Attempt: 2},
		{Step: "notify", State: report.Succeeded, Attempt: 1},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(report.Event{}, "Time")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	final := states[len(states)-1]
	sum := tekton.Summarize(p, final)
	if sum.Status != report.Failed || sum.Run != "run-1" || sum.Backend != "tekton" || sum.Pipeline != "run" {
		t.Errorf("summary: %s %s %s %s", sum.Status, sum.Run, sum.Backend, sum.Pipeline)
	}
	if r := sum.Step("fetch"); r == nil || !r.Cached || r.Outputs["rows"] != "3" || r.Outputs["sluice-cached"] != "" {
		t.Errorf("fetch: %+v", r)
	}
	if r := sum.Step("fit[0]"); r == nil || r.Attempts != 2 || r.State != report.Succeeded {
		t.Errorf("fit[0]: %+v", r)
	}
	if !sum.Finished.Equal(at(12).Time) || sum.Duration() != 12*time.Second {
		t.Errorf("finished %v, duration %v", sum.Finished, sum.Duration())
	}
}

// TestTrackerRawNames: for a run known by its name only, the steps come
// from the PipelineRun's own spec (PipelineOf), with the same names.
func TestTrackerRawNames(t *testing.T) {
	p, states := runStates(t, "run-1")
	final := states[len(states)-1]
	back := tekton.PipelineOf(final.PipelineRun)
	if back.Metadata.Name != "run" {
		t.Errorf("pipeline name %q", back.Metadata.Name)
	}
	var names []string
	for _, n := range back.Graph().All() {
		names = append(names, n.Name())
	}
	if diff := cmp.Diff([]string{"fetch", "fit", "check", "publish", "draw", "notify"}, names); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if got := back.Spec.Steps[0].Command; len(got) != 3 || got[0] != "sh" {
		t.Errorf("fetch's command from its spec: %q", got)
	}
	a, b := tekton.Summarize(p, final), tekton.Summarize(back, final)
	if diff := cmp.Diff(a.Steps, b.Steps); diff != "" {
		t.Errorf("summary by name (-from the file +from the run):\n%s", diff)
	}
}

// TestTrackerReferenced: a run of a Pipeline by reference (--emit
// pipeline, applied with kubectl) reads as the same run embedded: the
// spec from the PipelineRun's status, each Task's from its TaskRuns.
func TestTrackerReferenced(t *testing.T) {
	_, states := runStates(t, "run-1")
	embedded := states[len(states)-1]
	ref := &tekton.Run{PipelineRun: embedded.PipelineRun.DeepCopy(), TaskRuns: map[string]*v1.TaskRun{}}
	pr := ref.PipelineRun
	spec := pr.Spec.PipelineSpec
	pr.Spec.PipelineSpec, pr.Spec.PipelineRef = nil, &v1.PipelineRef{Name: "run"}
	pr.Status.PipelineSpec = spec
	taskSpecs := map[string]*v1.TaskSpec{}
	for _, list := range [][]v1.PipelineTask{spec.Tasks, spec.Finally} {
		for i := range list {
			taskSpecs[list[i].Name] = &list[i].TaskSpec.TaskSpec
			list[i].TaskRef, list[i].TaskSpec = &v1.TaskRef{Name: "run-" + list[i].Name}, nil
		}
	}
	for name, tr := range embedded.TaskRuns {
		tr = tr.DeepCopy()
		tr.Status.TaskSpec = taskSpecs[tr.Labels[pipeline.PipelineTaskLabelKey]]
		ref.TaskRuns[name] = tr
	}
	want := tekton.Summarize(tekton.PipelineOf(embedded.PipelineRun), embedded)
	got := tekton.Summarize(tekton.PipelineOf(pr), ref)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-embedded +by reference):\n%s", diff)
	}
}

// TestTrackerFailedCondition: a condition that fails fails its step;
// the condition task itself never shows.
func TestTrackerFailedCondition(t *testing.T) {
	p, states := runStates(t, "run-1")
	r := states[1]
	for _, x := range r.TaskRuns {
		if x.Labels[pipeline.PipelineTaskLabelKey] == "check-when" {
			x.Status.Conditions = succeededCond(corev1.ConditionFalse, "Failed", `"step-when" exited with code 64`)
			x.Status.Results = nil
		}
	}
	r.PipelineRun.Status.SkippedTasks = nil
	steps := tekton.Steps(p.Graph(), r)
	var check *tekton.StepRun
	for i := range steps {
		if strings.Contains(steps[i].Name, "when") {
			t.Errorf("a condition task shows as step %s", steps[i].Name)
		}
		if steps[i].Name == "check" {
			check = &steps[i]
		}
	}
	if check == nil || check.State != report.Failed || !strings.HasPrefix(check.Message, `when: "step-when" exited with code 64: the launcher was called wrongly`) {
		t.Errorf("check: %+v", check)
	}
}

// cluster is Tekton's fake clientset, with the API server's
// generateName, and client-go's for pods.
type cluster struct {
	tk   *tkfake.Clientset
	kube *kfake.Clientset
}

func newCluster() *cluster {
	c := &cluster{tk: tkfake.NewSimpleClientset(), kube: kfake.NewSimpleClientset()}
	kubetest.GenerateNames[*v1.PipelineRun](c.tk, "pipelineruns", "x7k2p", nil)
	return c
}

func (c *cluster) client() *tekton.Client {
	return &tekton.Client{Tekton: c.tk, Kube: c.kube, Namespace: "ml", Backoff: kubetest.Backoff}
}

// play is Tekton's controllers: each state of a run a little apart, its
// TaskRuns first, then the PipelineRun's status.
func (c *cluster) play(t *testing.T, states []*tekton.Run) {
	ctx := context.Background()
	trs, prs := c.tk.TektonV1().TaskRuns("ml"), c.tk.TektonV1().PipelineRuns("ml")
	for _, st := range states {
		time.Sleep(20 * time.Millisecond)
		for _, x := range st.TaskRuns {
			x = x.DeepCopy()
			_, err := trs.Create(ctx, x, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				_, err = trs.UpdateStatus(ctx, x, metav1.UpdateOptions{})
			}
			if err != nil {
				t.Errorf("controller: %v", err)
				return
			}
		}
		pr, err := prs.Get(ctx, st.PipelineRun.Name, metav1.GetOptions{})
		if err == nil {
			pr.Status = st.PipelineRun.Status
			_, err = prs.UpdateStatus(ctx, pr, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Errorf("controller: %v", err)
			return
		}
	}
}

// TestSubmitAndWatch: API faults on create (500, 429, a taken generated
// name) and on get are retried; watches of the PipelineRun and of its
// TaskRuns that drop are reopened; every step's events reach the
// observer and the final state is the run's.
func TestSubmitAndWatch(t *testing.T) {
	p, pr := compiled(t)
	c := newCluster()
	kubetest.Fail(c.tk, "create", "pipelineruns",
		apierrors.NewInternalError(errors.New("etcd leader changed")),
		apierrors.NewTooManyRequests("slow down", 0),
		apierrors.NewGenerateNameConflict(prGR, "run-x7k2p", 1))
	kubetest.Fail(c.tk, "get", "pipelineruns", apierrors.NewServiceUnavailable("apiserver restarting"))
	kubetest.Fail(c.tk, "list", "taskruns", apierrors.NewTimeoutError("slow etcd", 1))
	prWatches := kubetest.DropWatches(c.tk, "pipelineruns", 1, 10*time.Millisecond)
	trWatches := kubetest.DropWatches(c.tk, "taskruns", 1, 10*time.Millisecond)

	created, err := c.client().Submit(context.Background(), pr)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if created.Name != "run-x7k2p" || created.Namespace != "ml" {
		t.Fatalf("created %s/%s", created.Namespace, created.Name)
	}
	if n := kubetest.Count(c.tk, "create", "pipelineruns"); n != 4 {
		t.Errorf("%d creates, want 4 (three faults)", n)
	}
	_, states := runStates(t, created.Name)
	go c.play(t, states)
	col := report.NewCollector()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	final, err := tekton.Watch(ctx, c.client(), p, created.Name, col)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if !final.Done() || final.Succeeded() || final.Phase() != "Failed" {
		t.Errorf("final: done %v, succeeded %v, phase %s", final.Done(), final.Succeeded(), final.Phase())
	}
	if prWatches.Opened() < 2 || trWatches.Opened() < 2 {
		t.Errorf("watches opened: %d of the run, %d of its TaskRuns; want the dropped ones reopened", prWatches.Opened(), trWatches.Opened())
	}
	got := map[string]report.State{}
	for _, r := range col.Results() {
		got[r.Name] = r.State
	}
	want := map[string]report.State{
		"fetch": report.Cached, "fit[0]": report.Succeeded, "fit[1]": report.Failed,
		"check": report.Skipped, "publish": report.Skipped, "draw[0]": report.Succeeded, "draw[1]": report.Succeeded,
		"notify": report.Succeeded,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

// TestCancel: spec.status becomes Cancelled, through a conflict.
func TestCancel(t *testing.T) {
	c := newCluster()
	prs := c.tk.TektonV1().PipelineRuns("ml")
	if _, err := prs.Create(context.Background(), &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ml"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Fail(c.tk, "patch", "pipelineruns", apierrors.NewConflict(prGR, "r", errors.New("modified")))
	if err := c.client().Cancel(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	pr, _ := prs.Get(context.Background(), "r", metav1.GetOptions{})
	if pr.Spec.Status != v1.PipelineRunSpecStatusCancelled {
		t.Errorf("spec.status %q, want Cancelled", pr.Spec.Status)
	}
}

func TestLogs(t *testing.T) {
	p, states := runStates(t, "run-1")
	final := states[len(states)-1]
	c := newCluster().client()
	var buf bytes.Buffer
	if err := c.Logs(context.Background(), p, final, "fetch", false, &buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "fake logs" {
		t.Errorf("one step: %q", buf.String())
	}
	buf.Reset()
	if err := c.Logs(context.Background(), p, final, "fit[1]", false, &buf); err != nil {
		t.Fatal(err)
	}
	want := "==> fit[1] attempt 1 (Failed) <==\nfake logs==> fit[1] attempt 2 (Failed) <==\nfake logs"
	if buf.String() != want {
		t.Errorf("retried step:\n%s\nwant:\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := c.Logs(context.Background(), p, final, "", false, &buf); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.Contains(got, "==> fetch (Cached) <==\nfake logs") || strings.Contains(got, "when") || strings.Contains(got, "==> check") {
		t.Errorf("every step:\n%s", got)
	}
	if err := c.Logs(context.Background(), p, final, "nope", false, io.Discard); err == nil {
		t.Error("no error for an unknown step")
	}
	// The step's own container.
	var containers []string
	for _, a := range c.Kube.(*kfake.Clientset).Actions() {
		if a.GetSubresource() == "log" {
			containers = append(containers, a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions).Container)
		}
	}
	for _, name := range containers {
		if name != "step-run" {
			t.Errorf("log of container %s, want step-run", name)
		}
	}
}

// TestTrackerFiltered: the TaskRuns of a loop whose items a filter task
// chose show under the items' own indexes, which their items carry (also
// for a single TaskRun, which Tekton names without an index), and the
// items it left out as Skipped, as the local runner shows them; the
// index each writes is no output.
func TestTrackerFiltered(t *testing.T) {
	src := `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: filtered}
spec:
  defaults: {image: busybox}
  steps:
    - name: measure
      command: [sh, -c, 'echo 2 > ${{ outputs.params.min }}']
      outputs: {params: [{name: min, type: int}]}
    - name: pick
      forEach: {items: [1, 5, 10]}
      when: '${{ item }} > ${{ steps.measure.outputs.params.min }}'
      command: [echo, '${{ item }}']
`
	p, err := ir.Parse("filtered.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := tekton.Compile(p, nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	measure := tr{name: "measure", pt: "measure", status: corev1.ConditionTrue, reason: "Succeeded", start: 1, end: 2, results: []string{"min", "2"}}
	filter := func(runs string) tr {
		return tr{name: "pick-items", pt: "pick-items", status: corev1.ConditionTrue, reason: "Succeeded", start: 3, end: 4,
			results: []string{"sluice-when", "true", "sluice-runs", runs}}
	}
	for _, tc := range []struct {
		name string
		trs  []tr
		want map[string]report.State
	}{
		{"two kept", []tr{measure, filter("[false,true,true]"),
			// Each item carries its index in the loop (INDEX:BASE64).
			{name: "pick-0", pt: "pick", status: corev1.ConditionTrue, reason: "Succeeded", start: 5, end: 6, item: "1:NQ==",
				results: []string{"sluice-cached", "false", "sluice-index", "1"}},
			{name: "pick-1", pt: "pick", status: corev1.ConditionTrue, reason: "Succeeded", start: 5, end: 7, item: "2:MTA=",
				results: []string{"sluice-cached", "false", "sluice-index", "2"}},
		}, map[string]report.State{"measure": report.Succeeded, "pick[0]": report.Skipped, "pick[1]": report.Succeeded, "pick[2]": report.Succeeded}},
		{"one kept", []tr{measure, filter("[false,false,true]"),
			// Tekton names the only TaskRun of a matrix NAME, not NAME-0.
			{name: "pick", pt: "pick", status: corev1.ConditionTrue, reason: "Succeeded", start: 5, end: 6, item: "2:MTA="},
		}, map[string]report.State{"measure": report.Succeeded, "pick[0]": report.Skipped, "pick[1]": report.Skipped, "pick[2]": report.Succeeded}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &tekton.Run{PipelineRun: objs.PipelineRun.DeepCopy(), TaskRuns: map[string]*v1.TaskRun{}}
			r.PipelineRun.Name, r.PipelineRun.Namespace = "run", "ml"
			for _, x := range tc.trs {
				tr := x.build("run")
				r.TaskRuns[tr.Name] = tr
				r.PipelineRun.Status.ChildReferences = append(r.PipelineRun.Status.ChildReferences, v1.ChildStatusReference{
					TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: pipeline.TaskRunControllerName}, Name: tr.Name, PipelineTaskName: x.pt,
				})
			}
			got := map[string]report.State{}
			for _, s := range tekton.Steps(p.Graph(), r) {
				got[s.Name] = s.State
				if _, ok := s.Outputs["sluice-index"]; ok {
					t.Errorf("%s: the iteration's index shows as an output: %v", s.Name, s.Outputs)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}
