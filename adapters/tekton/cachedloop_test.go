package tekton_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
	"github.com/sluice-dev/sluice/plugins/probe"
	plugin "github.com/sluice-dev/sluice/plugins/tekton"
)

// loopFile has a loop over literal items, one at a time, and a loop over
// another step's output with a condition on each item.
const loopFile = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: loops}
spec:
  defaults: {image: busybox}
  steps:
    - name: words
      command: [sh, -c, 'printf "[\"x\",\"y\",\"z\"]" > ${{ outputs.params.w }}']
      outputs: {params: [{name: w, type: list}]}
    - name: sq
      forEach: {items: [1, 2, 3], parallelism: 1}
      command: [sh, -c, 'expr ${{ item }} \* ${{ item }} > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}]}
    - name: each
      forEach: {items: '${{ steps.words.outputs.params.w }}'}
      when: '"${{ item }}" != "y"'
      command: [echo, '${{ item }}']
`

// byItem is a Prober that hits for the items it has outputs for.
type byItem struct {
	mu   sync.Mutex
	hits map[string]map[string]string // item → outputs
}

func (b *byItem) Probe(_ context.Context, req *probe.Request) *probe.Result {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range req.Args {
		item, ok := strings.CutPrefix(a, "--in=item=")
		if v, isB64 := strings.CutPrefix(a, "--in-b64=item="); isB64 {
			raw, _ := base64.StdEncoding.DecodeString(v)
			item, ok = string(raw), true
		}
		if out, hit := b.hits[item]; ok && hit {
			return &probe.Result{Hit: true, Outputs: out, Run: "run-0"}
		}
	}
	return &probe.Result{Reason: "no cache entry 00"}
}

// loopCluster runs loopFile's loops with Sluice's controller on Tekton's
// fake clientset, as Tekton would have created their CustomRuns, and
// reads the run back as the tracker sees it.
type loopCluster struct {
	t   *testing.T
	p   *ir.Pipeline
	pr  *v1.PipelineRun
	cs  *fake.Clientset
	rec *plugin.Reconciler
	now time.Time
	// filter is the TaskRun of each-items, which Tekton runs.
	filter *v1.TaskRun
}

func newLoopCluster(t *testing.T, prober plugin.Prober) *loopCluster {
	p, params := plantest.ParsePipeline(t, "loops.yaml", []byte(loopFile), nil)
	opts := testOptions
	opts.CachePlugin = true
	objs, err := tekton.Compile(p, params, opts)
	if err != nil {
		t.Fatal(err)
	}
	pr := objs.PipelineRun
	pr.Name, pr.Namespace, pr.CreationTimestamp = "run-1", "ml", *at(0)
	pr.Status.StartTime = at(0)
	pr.Status.Conditions = succeededCond(corev1.ConditionUnknown, "Running", "")
	c := &loopCluster{t: t, p: p, pr: pr, cs: fake.NewSimpleClientset(), now: at(1).Time}
	c.rec = &plugin.Reconciler{Tekton: c.cs, Prober: prober, Now: func() time.Time { return c.now }}
	c.filter = tr{name: "each-items", pt: "each-items", status: corev1.ConditionTrue, reason: "Succeeded", start: 1, end: 1,
		results: []string{"sluice-when", "true", "sluice-runs", "[true,false,true]"}}.build("run-1")
	return c
}

// start creates the CustomRun of a loop's pipeline task, its parameters
// resolved as Tekton would: the filter's items for each.
func (c *loopCluster) start(task string) {
	c.t.Helper()
	var pt *v1.PipelineTask
	for i := range c.pr.Spec.PipelineSpec.Tasks {
		if c.pr.Spec.PipelineSpec.Tasks[i].Name == task {
			pt = &c.pr.Spec.PipelineSpec.Tasks[i]
		}
	}
	ctx := context.Background()
	cr := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{
		Name: "run-1-" + task, Namespace: "ml", CreationTimestamp: *at(1),
		Labels: map[string]string{pipeline.PipelineRunLabelKey: "run-1", pipeline.PipelineTaskLabelKey: task},
	}}
	b64 := base64.StdEncoding.EncodeToString
	for _, p := range pt.Params {
		var bp v1beta1.Param
		bp.ConvertFrom(ctx, p)
		switch p.Name {
		case "sluice_run":
			bp.Value.StringVal = "run-1"
		case "sluice_items":
			bp.Value.ArrayVal = []string{b64([]byte("x")), b64([]byte("z"))}
		case "sluice_runs":
			bp.Value.StringVal = "[true,false,true]"
		}
		cr.Spec.Params = append(cr.Spec.Params, bp)
	}
	cr.Spec.CustomSpec = &v1beta1.EmbeddedCustomRunSpec{
		TypeMeta: runtime.TypeMeta{APIVersion: pt.TaskSpec.APIVersion, Kind: pt.TaskSpec.Kind},
		Spec:     pt.TaskSpec.Spec,
	}
	if _, err := c.cs.TektonV1beta1().CustomRuns("ml").Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
	c.pr.Status.ChildReferences = append(c.pr.Status.ChildReferences, v1.ChildStatusReference{
		TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1beta1", Kind: pipeline.CustomRunControllerName}, Name: cr.Name, PipelineTaskName: task,
	})
}

func (c *loopCluster) reconcile(task string) {
	c.t.Helper()
	ctx := context.Background()
	cr, err := c.cs.TektonV1beta1().CustomRuns("ml").Get(ctx, "run-1-"+task, metav1.GetOptions{})
	if err == nil {
		_, err = c.rec.Reconcile(ctx, cr)
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

// finish ends a TaskRun the controller started, as Tekton would.
func (c *loopCluster) finish(name string, x tr) {
	c.t.Helper()
	ctx := context.Background()
	got, err := c.cs.TektonV1().TaskRuns("ml").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	x.name = strings.TrimPrefix(name, "run-1-")
	got.Status = x.build("run-1").Status
	if _, err := c.cs.TektonV1().TaskRuns("ml").UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// run is the run as the tracker reads it.
func (c *loopCluster) run() *tekton.Run {
	c.t.Helper()
	ctx := context.Background()
	r := &tekton.Run{PipelineRun: c.pr.DeepCopy(), TaskRuns: map[string]*v1.TaskRun{c.filter.Name: c.filter}, CustomRuns: map[string]*v1beta1.CustomRun{}}
	crs, err := c.cs.TektonV1beta1().CustomRuns("ml").List(ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	for i := range crs.Items {
		r.CustomRuns[crs.Items[i].Name] = &crs.Items[i]
	}
	trs, err := c.cs.TektonV1().TaskRuns("ml").List(ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	for i := range trs.Items {
		r.TaskRuns[trs.Items[i].Name] = &trs.Items[i]
	}
	return r
}

// steps are the tracker's steps: "NAME STATE attempt MESSAGE".
func (c *loopCluster) steps() map[string]tekton.StepRun {
	out := map[string]tekton.StepRun{}
	for _, s := range tekton.Steps(c.p.Graph(), c.run()) {
		out[s.Name] = s
	}
	return out
}

func brief(steps map[string]tekton.StepRun) map[string]string {
	out := map[string]string{}
	for n, s := range steps {
		out[n] = string(s.State)
		if s.Message != "" {
			out[n] += ": " + s.Message
		}
	}
	return out
}

// TestTrackerLoop: a loop CachedStep shows as its iterations, each under
// its item's index: Cached for a hit, else its TaskRun's state, attempts
// and pods; items its filter left out are Skipped; an iteration's
// outputs are its own, from its TaskRun or its lookup, also once the
// loop keeps them aggregated only.
func TestTrackerLoop(t *testing.T) {
	prober := &byItem{hits: map[string]map[string]string{
		"1": {"params.v": "1"}, "3": {"params.v": "9"}, "x": {}, "z": {},
	}}
	c := newLoopCluster(t, prober)
	c.start("sq")
	c.start("each")
	// A loop shows as its iterations, known once it starts: not as one
	// pending step.
	if got := tekton.Snapshot(c.p.Graph(), c.run()).Pending; !cmp.Equal(got, []string{"words"}) {
		t.Errorf("pending %v, want words only", got)
	}
	if got := c.steps(); len(got) != 1 || got["each[1]"].State != report.Skipped {
		t.Errorf("before a reconcile: %v, want only each[1] skipped by its filter", brief(got))
	}
	c.reconcile("sq")
	c.reconcile("each")
	c.reconcile("sq") // creates sq[1]'s TaskRun
	c.finish("run-1-sq-1-0", tr{pt: "sq", status: corev1.ConditionUnknown, reason: "Running", start: 2})
	want := map[string]string{
		"sq[0]":   "Cached",
		"sq[1]":   "Running",
		"sq[2]":   "Pending",
		"each[0]": "Cached",
		"each[1]": "Skipped: when is false",
		"each[2]": "Cached",
	}
	if diff := cmp.Diff(want, brief(c.steps())); diff != "" {
		t.Errorf("while sq[1] runs (-want +got):\n%s", diff)
	}
	c.finish("run-1-sq-1-0", tr{pt: "sq", status: corev1.ConditionTrue, reason: "Succeeded", start: 2, end: 3,
		results: []string{"sluice-cached", "false", "v", "4\n"}})
	c.reconcile("sq")
	final := c.steps()
	want["sq[1]"], want["sq[2]"] = "Succeeded", "Cached"
	if diff := cmp.Diff(want, brief(final)); diff != "" {
		t.Errorf("at the end (-want +got):\n%s", diff)
	}
	outs := map[string]map[string]string{}
	pods := map[string][]string{}
	for n, s := range final {
		outs[n] = s.Outputs
		if len(s.Pods) > 0 {
			pods[n] = s.Pods
		}
	}
	wantOuts := map[string]map[string]string{"sq[0]": {"v": "1"}, "sq[1]": {"v": "4\n"}, "sq[2]": {"v": "9"},
		"each[0]": nil, "each[1]": nil, "each[2]": nil}
	if diff := cmp.Diff(wantOuts, outs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"sq[1]": {"run-1-sq-1-0-pod"}}, pods); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	// The steps by name only.
	back := tekton.PipelineOf(c.pr)
	for _, s := range back.Spec.Steps {
		if loops := s.ForEach != nil; loops != (s.Name == "sq" || s.Name == "each") {
			t.Errorf("step %s read back with a loop: %v", s.Name, loops)
		}
	}
}

// TestTrackerLoopCancelled: the iterations of a loop that was cancelled
// before they started are Skipped; the one it cancelled is Failed.
func TestTrackerLoopCancelled(t *testing.T) {
	c := newLoopCluster(t, &byItem{})
	c.start("sq")
	c.reconcile("sq")
	c.reconcile("sq")
	ctx := context.Background()
	cr, err := c.cs.TektonV1beta1().CustomRuns("ml").Get(ctx, "run-1-sq", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cr.Spec.Status = v1beta1.CustomRunSpecStatusCancelled
	if _, err := c.cs.TektonV1beta1().CustomRuns("ml").Update(ctx, cr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.reconcile("sq")
	got := brief(c.steps())
	cancelled := `CustomRunCancelled: CustomRun "run-1-sq" was cancelled`
	want := map[string]string{
		"sq[0]":   "Failed: " + cancelled,
		"sq[1]":   "Skipped: not run: " + cancelled,
		"sq[2]":   "Skipped: not run: " + cancelled,
		"each[1]": "Skipped: when is false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
