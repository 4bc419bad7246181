package tekton_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// cachedFile is a pipeline whose steps meet each fate a CachedStep can
// have: a hit, a miss that runs, a lookup that faults, an attempt that
// fails and is retried, a timeout.
const cachedFile = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: cached}
spec:
  defaults: {image: busybox}
  steps:
    - {name: hit, command: [sh, -c, 'echo 1 > ${{ outputs.params.v }}'], outputs: {params: [{name: v}]}}
    - {name: miss, command: [sh, -c, 'echo 2 > ${{ outputs.params.v }}'], outputs: {params: [{name: v}]}}
    - {name: fault, command: [echo, f]}
    - {name: retried, command: [echo, r], retry: {limit: 1}}
    - {name: slow, command: [sleep, "99"], timeout: 1m}
`

// cr is a CachedStep CustomRun as the controller writes it.
type cr struct {
	pt       string
	status   corev1.ConditionStatus
	reason   string
	msg      string
	start    int
	end      int
	lookup   cachedstep.Lookup
	why      string // the lookup's message
	results  []string
	retries  []string // the messages of failed attempts
	taskRuns []string // of each attempt
}

func (x cr) build(t *testing.T, run string) *v1beta1.CustomRun {
	c := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{
		Name: run + "-" + x.pt, Namespace: "ml", CreationTimestamp: *at(x.start),
		Labels: map[string]string{pipeline.PipelineRunLabelKey: run, pipeline.PipelineTaskLabelKey: x.pt},
	}}
	attempt := func(i int, st *v1beta1.CustomRunStatus) {
		rec := cachedstep.Status{Lookup: x.lookup, Message: x.why}
		if i < len(x.taskRuns) {
			rec.TaskRun = run + "-" + x.taskRuns[i]
		}
		if err := st.EncodeExtraFields(rec); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range x.retries {
		var prev v1beta1.CustomRunStatus
		prev.Conditions = succeededCond(corev1.ConditionFalse, "Failed", m)
		prev.StartTime, prev.CompletionTime = at(x.start+i), at(x.start+i)
		attempt(i, &prev)
		c.Status.RetriesStatus = append(c.Status.RetriesStatus, prev)
	}
	st := &c.Status
	st.Conditions = succeededCond(x.status, x.reason, x.msg)
	st.StartTime = at(x.start + len(x.retries))
	if x.end > 0 {
		st.CompletionTime = at(x.end)
	}
	attempt(len(x.retries), st)
	for i := 0; i+1 < len(x.results); i += 2 {
		st.Results = append(st.Results, v1beta1.CustomRunResult{Name: x.results[i], Value: x.results[i+1]})
	}
	return c
}

// child is a TaskRun that a CachedStep's CustomRun owns.
func child(run, owner string, x tr) *v1.TaskRun {
	t := x.build(run)
	t.OwnerReferences = []metav1.OwnerReference{{APIVersion: "tekton.dev/v1beta1", Kind: "CustomRun", Name: run + "-" + owner, Controller: ptr(true)}}
	return t
}

// cachedStates are cachedFile's run, with the cache plugin, as Tekton's
// and Sluice's controllers move it along.
func cachedStates(t *testing.T, run string) (*ir.Pipeline, *v1.PipelineRun, []*tekton.Run) {
	p, params := plantest.ParsePipeline(t, "cached.yaml", []byte(cachedFile), nil)
	opts := testOptions
	opts.CachePlugin = true
	objs, err := tekton.Compile(p, params, opts)
	if err != nil {
		t.Fatal(err)
	}
	pr := objs.PipelineRun
	pr.Name, pr.Namespace, pr.CreationTimestamp = run, "ml", *at(0)
	state := func(cond duckv1.Conditions, end int, crs []cr, trs map[string]tr) *tekton.Run {
		r := &tekton.Run{PipelineRun: pr.DeepCopy(), TaskRuns: map[string]*v1.TaskRun{}, CustomRuns: map[string]*v1beta1.CustomRun{}}
		r.PipelineRun.Status.Conditions = cond
		r.PipelineRun.Status.StartTime = at(0)
		if end > 0 {
			r.PipelineRun.Status.CompletionTime = at(end)
		}
		for _, x := range crs {
			c := x.build(t, run)
			r.CustomRuns[c.Name] = c
			r.PipelineRun.Status.ChildReferences = append(r.PipelineRun.Status.ChildReferences, v1.ChildStatusReference{
				TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1beta1", Kind: pipeline.CustomRunControllerName}, Name: c.Name, PipelineTaskName: x.pt,
			})
		}
		for owner, x := range trs {
			c := child(run, owner[:len(owner)-2], x)
			r.TaskRuns[c.Name] = c
		}
		return r
	}
	running := succeededCond(corev1.ConditionUnknown, "Running", "")
	const fault = "sluice: cache miss: open cache: endpoint unreachable"
	first := []cr{
		{pt: "hit", status: corev1.ConditionUnknown, reason: cachedstep.ReasonLookingUp, start: 1},
		{pt: "miss", status: corev1.ConditionUnknown, reason: "Running", start: 1, lookup: cachedstep.Miss, why: "sluice: cache miss: no cache entry 12ab", taskRuns: []string{"miss-0"}},
		{pt: "fault", status: corev1.ConditionUnknown, reason: "Pending", start: 1, lookup: cachedstep.Fault, why: fault, taskRuns: []string{"fault-0"}},
		{pt: "retried", status: corev1.ConditionUnknown, reason: "Running", start: 1, lookup: cachedstep.Miss, taskRuns: []string{"retried-0"}},
		{pt: "slow", status: corev1.ConditionUnknown, reason: "Running", start: 1, lookup: cachedstep.Miss, taskRuns: []string{"slow-0"}},
	}
	firstTRs := map[string]tr{
		"miss-0":    {name: "miss-0", pt: "miss", status: corev1.ConditionUnknown, reason: "Running", start: 2},
		"fault-0":   {name: "fault-0", pt: "fault", status: corev1.ConditionUnknown, reason: "Pending", start: 2},
		"retried-0": {name: "retried-0", pt: "retried", status: corev1.ConditionUnknown, reason: "Running", start: 2},
		"slow-0":    {name: "slow-0", pt: "slow", status: corev1.ConditionUnknown, reason: "Running", start: 2},
	}
	second := []cr{
		{pt: "hit", status: corev1.ConditionTrue, reason: cachedstep.ReasonCached, msg: "sluice: cache hit 34cd (run r0)", start: 1, end: 2,
			lookup: cachedstep.Hit, results: []string{"sluice-cached", "true", "v", "1"}},
		{pt: "miss", status: corev1.ConditionTrue, reason: "Succeeded", start: 1, end: 4, lookup: cachedstep.Miss, taskRuns: []string{"miss-0"},
			results: []string{"sluice-cached", "false", "v", "cas://sha256/" + sha + "?kind=value&size=2"}},
		{pt: "fault", status: corev1.ConditionUnknown, reason: "Running", start: 1, lookup: cachedstep.Fault, why: fault, taskRuns: []string{"fault-0"}},
		{pt: "retried", status: corev1.ConditionUnknown, reason: cachedstep.ReasonToBeRetried, msg: "exit 1", start: 1, lookup: cachedstep.Miss,
			retries: []string{`"step-run" exited with code 1`}, taskRuns: []string{"retried-0"}},
		{pt: "slow", status: corev1.ConditionFalse, reason: v1beta1.CustomRunReasonTimedOut.String(), msg: `CustomRun "run-1-slow" failed to finish within "6m0s"`,
			start: 1, end: 5, lookup: cachedstep.Miss, taskRuns: []string{"slow-0"}},
	}
	secondTRs := map[string]tr{
		"miss-0":    {name: "miss-0", pt: "miss", status: corev1.ConditionTrue, reason: "Succeeded", start: 2, end: 3, results: []string{"sluice-cached", "false", "v", "2\n"}},
		"fault-0":   {name: "fault-0", pt: "fault", status: corev1.ConditionUnknown, reason: "Running", start: 3},
		"retried-0": {name: "retried-0", pt: "retried", status: corev1.ConditionFalse, reason: "Failed", msg: `"step-run" exited with code 1`, start: 2, end: 4},
		"slow-0":    {name: "slow-0", pt: "slow", status: corev1.ConditionFalse, reason: "TaskRunCancelled", start: 2, end: 5},
	}
	third := append([]cr(nil), second...)
	third[2] = cr{pt: "fault", status: corev1.ConditionTrue, reason: "Succeeded", start: 1, end: 6, lookup: cachedstep.Fault, why: fault, taskRuns: []string{"fault-0"},
		results: []string{"sluice-cached", "false"}}
	third[3] = cr{pt: "retried", status: corev1.ConditionTrue, reason: "Succeeded", start: 4, end: 7, lookup: cachedstep.Miss,
		retries: []string{`"step-run" exited with code 1`}, taskRuns: []string{"retried-0", "retried-1"}, results: []string{"sluice-cached", "false"}}
	thirdTRs := map[string]tr{
		"miss-0":    secondTRs["miss-0"],
		"fault-0":   {name: "fault-0", pt: "fault", status: corev1.ConditionTrue, reason: "Succeeded", start: 3, end: 6, results: []string{"sluice-cached", "false"}},
		"retried-0": secondTRs["retried-0"],
		"retried-1": {name: "retried-1", pt: "retried", status: corev1.ConditionTrue, reason: "Succeeded", start: 5, end: 7, results: []string{"sluice-cached", "false"}},
		"slow-0":    secondTRs["slow-0"],
	}
	return p, pr, []*tekton.Run{
		state(running, 0, first, firstTRs),
		state(running, 0, second, secondTRs),
		state(succeededCond(corev1.ConditionFalse, "Failed", "Tasks Completed: 5 (Failed: 1, Cancelled 0), Skipped: 0"), 8, third, thirdTRs),
	}
}

var sha = "ab" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"

// TestTrackerCached: a CachedStep CustomRun is its step: Cached on a hit,
// else the state of the TaskRun it runs (its attempts, its retries, its
// pods for the logs); a lookup's fault shows in the step's message.
func TestTrackerCached(t *testing.T) {
	p, _, states := cachedStates(t, "run-1")
	tr := tekton.NewTracker(p)
	var got []report.Event
	for _, r := range states {
		got = append(got, tr.Update(r)...)
	}
	const fault = "sluice: cache miss: open cache: endpoint unreachable"
	want := []report.Event{
		{Step: "hit", State: report.Pending}, {Step: "miss", State: report.Pending}, {Step: "fault", State: report.Pending},
		{Step: "retried", State: report.Pending}, {Step: "slow", State: report.Pending},
		{Step: "miss", State: report.Running, Attempt: 1},
		{Step: "retried", State: report.Running, Attempt: 1},
		{Step: "slow", State: report.Running, Attempt: 1},
		{Step: "retried", State: report.Retrying, Attempt: 1, Message: `"step-run" exited with code 1`},
		{Step: "hit", State: report.Cached, Attempt: 1, Message: ""},
		{Step: "fault", State: report.Running, Attempt: 1, Message: fault},
		{Step: "miss", State: report.Succeeded, Attempt: 1},
		{Step: "slow", State: report.Failed, Attempt: 1, Message: `CustomRunTimedOut: CustomRun "run-1-slow" failed to finish within "6m0s"`},
		{Step: "fault", State: report.Succeeded, Attempt: 1, Message: fault},
		{Step: "retried", State: report.Succeeded, Attempt: 2},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(report.Event{}, "Time")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	final := states[len(states)-1]
	sum := tekton.Summarize(p, final)
	if r := sum.Step("hit"); r == nil || !r.Cached || r.Outputs["v"] != "1" || r.Outputs["sluice-cached"] != "" {
		t.Errorf("hit: %+v", r)
	}
	if r := sum.Step("miss"); r == nil || r.Cached || r.Outputs["v"] != "2\n" {
		t.Errorf("miss: %+v; want the value its TaskRun wrote", r)
	}
	pods := map[string][]string{}
	for _, s := range tekton.Steps(p.Graph(), final) {
		pods[s.Name] = s.Pods
	}
	wantPods := map[string][]string{
		"hit": nil, "miss": {"run-1-miss-0-pod"}, "fault": {"run-1-fault-0-pod"},
		"retried": {"run-1-retried-0-pod", "run-1-retried-1-pod"}, "slow": {"run-1-slow-0-pod"},
	}
	if diff := cmp.Diff(wantPods, pods); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
}

// TestTrackerCachedByName: run by its name only, a run with CachedSteps
// reads back the same steps from their CachedSteps' Tasks.
func TestTrackerCachedByName(t *testing.T) {
	p, pr, states := cachedStates(t, "run-1")
	back := tekton.PipelineOf(pr)
	var names []string
	for _, n := range back.Graph().All() {
		names = append(names, n.Name())
	}
	if diff := cmp.Diff([]string{"hit", "miss", "fault", "retried", "slow"}, names); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if got := back.Spec.Steps[0].Command; len(got) != 3 || got[0] != "sh" {
		t.Errorf("hit's command from its CachedStep: %q", got)
	}
	final := states[len(states)-1]
	if diff := cmp.Diff(tekton.Summarize(p, final).Steps, tekton.Summarize(back, final).Steps); diff != "" {
		t.Errorf("summary by name (-from the file +from the run):\n%s", diff)
	}
}

// TestGetCustomRuns: Get and Follow read a run's CustomRuns with its
// TaskRuns.
func TestGetCustomRuns(t *testing.T) {
	_, _, states := cachedStates(t, "run-1")
	final := states[len(states)-1]
	c := newCluster()
	ctx := context.Background()
	if _, err := c.tk.TektonV1().PipelineRuns("ml").Create(ctx, final.PipelineRun, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, x := range final.CustomRuns {
		if _, err := c.tk.TektonV1beta1().CustomRuns("ml").Create(ctx, x, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range final.TaskRuns {
		if _, err := c.tk.TektonV1().TaskRuns("ml").Create(ctx, x, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.client().Get(ctx, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CustomRuns) != 5 || len(got.TaskRuns) != 5 {
		t.Errorf("Get: %d CustomRuns, %d TaskRuns; want 5 and 5", len(got.CustomRuns), len(got.TaskRuns))
	}
	followed, err := c.client().Follow(ctx, "run-1", func(r *tekton.Run) bool { return r.Done() })
	if err != nil {
		t.Fatal(err)
	}
	if len(followed.CustomRuns) != 5 {
		t.Errorf("Follow: %d CustomRuns, want 5", len(followed.CustomRuns))
	}
	// The logs of a retried step: its TaskRuns' pods, one per attempt.
	var buf bytes.Buffer
	p := tekton.PipelineOf(got.PipelineRun)
	if err := c.client().Logs(ctx, p, got, "retried", false, &buf); err != nil {
		t.Fatal(err)
	}
	if want := "==> retried attempt 1 (Succeeded) <==\nfake logs==> retried attempt 2 (Succeeded) <==\nfake logs"; buf.String() != want {
		t.Errorf("logs:\n%s\nwant:\n%s", buf.String(), want)
	}
}
