package tekton_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
	"github.com/sluice-dev/sluice/plugins/probe"
	plugin "github.com/sluice-dev/sluice/plugins/tekton"
)

// The tests in this file play a pipeline compiled with the cache plugin:
// Tekton's PipelineRun reconciler as in literal_test.go up to the
// CustomRun it creates for a CachedStep (createCustomRun: the matrix
// combination's and the pipeline task's parameters, the embedded spec),
// then Sluice's controller itself (plugins/tekton.Reconciler, on Tekton's
// fake clientset), whose lookup request is the command line checked here,
// and the TaskRun it starts on a miss, played through Tekton's TaskRun
// reconciler. A CachedStep's results reach its readers through its
// CustomRun, which Tekton reads its own way (ResolveResultRefs).

// arrayLike are texts that Tekton reads as an array when a custom task
// returns them (pipelinerun/resources.paramValueFromCustomRunResult).
var arrayLike = []string{`["a","b"]`, ` ["$(params.x)"]`, `[""]`, `[null]`}

// pluginController plays a pipeline compiled with the cache plugin.
func pluginController(t testing.TB, objs *tekton.Objects, store cache.Store) *pluginPlay {
	c := newController(t, objs)
	c.crs = map[string]*v1beta1.CustomRun{}
	return &pluginPlay{controller: c, store: store}
}

type pluginPlay struct {
	*controller
	store cache.Store
}

// scripted is a Prober that answers a hit with outputs, or a miss; or,
// for a loop, with byItem's outputs for the lookup's item. It keeps the
// requests. The controller looks a loop's iterations up concurrently.
type scripted struct {
	outputs map[string]string
	byItem  func(item string) map[string]string
	mu      sync.Mutex
	reqs    []*probe.Request
}

func (s *scripted) Probe(_ context.Context, req *probe.Request) *probe.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
	out := s.outputs
	if s.byItem != nil {
		out = s.byItem(rawItem(req.Args))
	}
	if out == nil {
		return &probe.Result{Reason: "no cache entry 00"}
	}
	return &probe.Result{Hit: true, Outputs: out, Run: "run-0"}
}

// rawItem is the item on a launcher's command line, decoded from
// --in-b64; "" when there is none. (The tests check the item with the
// launcher's own parsers: this only picks an answer.)
func rawItem(args []string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--in=item="); ok {
			return v
		}
		if v, ok := strings.CutPrefix(a, "--in-b64=item="); ok {
			b, _ := base64.StdEncoding.DecodeString(v)
			return string(b)
		}
	}
	return ""
}

// customRun is the CustomRun Tekton creates for a CachedStep pipeline
// task, once its parameters are resolved (a loop over one step is one
// CachedStep: no matrix).
func (c *pluginPlay) customRun(t testing.TB, pt v1.PipelineTask) *v1beta1.CustomRun {
	t.Helper()
	ctx := context.Background()
	cr := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Name: c.pr.Name + "-" + pt.Name, Namespace: c.pr.Namespace, UID: "cr-uid"}}
	for _, p := range pt.Params {
		var bp v1beta1.Param
		bp.ConvertFrom(ctx, p)
		cr.Spec.Params = append(cr.Spec.Params, bp)
	}
	// createCustomRun marshals the embedded spec as it is.
	raw, err := json.Marshal(pt.TaskSpec.Spec)
	if err != nil {
		t.Fatal(err)
	}
	cr.Spec.CustomSpec = &v1beta1.EmbeddedCustomRunSpec{
		TypeMeta: runtime.TypeMeta{APIVersion: pt.TaskSpec.APIVersion, Kind: pt.TaskSpec.Kind},
		Spec:     runtime.RawExtension{Raw: raw},
	}
	cr.Spec.Retries, cr.Spec.Timeout = pt.Retries, pt.Timeout
	if fe := cr.Validate(apis.WithinCreate(ctx)); fe != nil {
		t.Fatalf("CustomRun %s: %v", cr.Name, fe)
	}
	return cr
}

// runCached plays a CachedStep: its CustomRun through Sluice's controller
// with prober's answer. It returns the command line of the lookup and,
// on a miss, that of the TaskRun the controller starts, as Tekton's
// TaskRun reconciler substitutes it; ran is false when its `when` skips
// it. A hit's CustomRun holds the step's results for its readers.
func (c *pluginPlay) runCached(t testing.TB, name string, answer *scripted) (lookup, taskRun []string, ran bool) {
	t.Helper()
	pt, ok := c.prepare(t, name)
	if !ok {
		return nil, nil, false
	}
	cr := c.customRun(t, pt)
	cs := fake.NewSimpleClientset(cr)
	rec := &plugin.Reconciler{Tekton: cs, Prober: answer}
	ctx := context.Background()
	reconcile := func() *v1beta1.CustomRun {
		got, err := cs.TektonV1beta1().CustomRuns(cr.Namespace).Get(ctx, cr.Name, metav1.GetOptions{})
		if err == nil {
			_, err = rec.Reconcile(ctx, got)
		}
		if err == nil {
			got, err = cs.TektonV1beta1().CustomRuns(cr.Namespace).Get(ctx, cr.Name, metav1.GetOptions{})
		}
		if err != nil {
			t.Fatalf("CustomRun %s: %v", cr.Name, err)
		}
		return got
	}
	got := reconcile()
	if len(answer.reqs) != 1 {
		t.Fatalf("task %s: %d lookups, want 1", name, len(answer.reqs))
	}
	lookup = append([]string{"run"}, answer.reqs[0].Args...)
	if got.IsSuccessful() {
		c.crs[name] = got
		return lookup, nil, true
	}
	reconcile()
	trs, err := cs.TektonV1().TaskRuns(cr.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(trs.Items) != 1 {
		t.Fatalf("task %s: TaskRuns %v, %v; want the one of the miss", name, trs, err)
	}
	tr := &trs.Items[0]
	return lookup, taskRunArgs(t, name, tr.Spec.TaskSpec.DeepCopy(), tr)[1:], true
}

// runLoop plays a loop CachedStep: its CustomRun through Sluice's
// controller, each iteration's lookup answered by hit (the outputs of a
// hit; nil for a miss), the TaskRun of each miss played through Tekton's
// TaskRun reconciler and ended with ran's results for the iteration's
// index, until the loop succeeds: its CustomRun then holds the loop's
// results for its readers. It returns the command line of each lookup, in
// no order (the controller looks several up at once), and of each TaskRun
// by its iteration's index.
func (c *pluginPlay) runLoop(t testing.TB, name string, hit func(item string) map[string]string, ran func(index int) map[string]string) (lookups [][]string, taskRuns map[int][]string) {
	t.Helper()
	pt, ok := c.prepare(t, name)
	if !ok {
		t.Fatalf("%s did not run", name)
	}
	cr := c.customRun(t, pt)
	cs := fake.NewSimpleClientset(cr)
	answer := &scripted{byItem: func(item string) map[string]string { return hit(item) }}
	rec := &plugin.Reconciler{Tekton: cs, Prober: answer}
	ctx := context.Background()
	taskRuns = map[int][]string{}
	for range 100 {
		got, err := cs.TektonV1beta1().CustomRuns(cr.Namespace).Get(ctx, cr.Name, metav1.GetOptions{})
		if err == nil {
			_, err = rec.Reconcile(ctx, got)
		}
		if err == nil {
			got, err = cs.TektonV1beta1().CustomRuns(cr.Namespace).Get(ctx, cr.Name, metav1.GetOptions{})
		}
		if err != nil {
			t.Fatalf("CustomRun %s: %v", cr.Name, err)
		}
		if got.IsDone() {
			if !got.IsSuccessful() {
				t.Fatalf("loop %s: %+v", name, got.Status.Conditions)
			}
			c.crs[name] = got
			for _, r := range answer.reqs {
				lookups = append(lookups, append([]string{"run"}, r.Args...))
			}
			return lookups, taskRuns
		}
		trs, err := cs.TektonV1().TaskRuns(cr.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range trs.Items {
			tr := &trs.Items[i]
			if tr.Status.GetCondition(apis.ConditionSucceeded) != nil {
				continue
			}
			idx, _, _ := strings.Cut(strings.TrimPrefix(tr.Name, cr.Name+"-"), "-")
			index, err := strconv.Atoi(idx)
			if err != nil {
				t.Fatalf("TaskRun %s: not an iteration's", tr.Name)
			}
			taskRuns[index] = taskRunArgs(t, name, tr.Spec.TaskSpec.DeepCopy(), tr)[1:]
			tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"})
			for k, v := range ran(index) {
				tr.Status.Results = append(tr.Status.Results, v1.TaskRunResult{Name: k, Type: v1.ResultsTypeString, Value: *v1.NewStructuredValues(v)})
			}
			if _, err := cs.TektonV1().TaskRuns(cr.Namespace).UpdateStatus(ctx, tr, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Fatalf("loop %s did not end", name)
	return nil, nil
}

// hit plays a CachedStep whose outputs (name → text, as its launcher
// wrote them) are in the cache, for its readers.
func (c *pluginPlay) hit(t testing.TB, name string, outputs map[string]string) {
	t.Helper()
	if _, _, ran := c.runCached(t, name, &scripted{outputs: outputs}); !ran {
		t.Fatalf("%s did not run", name)
	}
}

// launched parses a lookup's or a TaskRun's command line with the
// launcher's own parsers, and checks that no argument holds $(.
func (c *pluginPlay) launched(t testing.TB, what string, args []string) plantest.Launched {
	t.Helper()
	var clean []string
	for _, a := range args {
		if strings.HasPrefix(a, "--out=") || strings.HasPrefix(a, "--cache=") {
			continue // the results' paths, the store: not values
		}
		if strings.Contains(a, "$(") {
			t.Fatalf("%s: argument %q still holds $(", what, a)
		}
		clean = append(clean, a)
	}
	return plantest.Parse(t, c.store, clean)
}

func pluginObjects(t testing.TB, src string, overrides ...string) *tekton.Objects {
	t.Helper()
	opts := testOptions
	opts.CachePlugin = true
	objs, err := compileYAML(t, "pipeline.yaml", []byte(src), overrides, opts)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	mustValidate(t, objs)
	return objs
}

// TestLiteralParamsPlugin: with the cache plugin, every hostile text,
// given as a parameter, reaches the lookup of each CachedStep that reads
// it byte for byte (through the CustomRun's parameters and the
// controller's substitution), and so does the TaskRun it starts on a
// miss; so does an output value of a CachedStep that hit, through its
// CustomRun's result, also when Tekton would read that result as an
// array.
func TestLiteralParamsPlugin(t *testing.T) {
	for _, h := range append(append([]string(nil), plantest.Hostile...), arrayLike...) {
		t.Run(fmt.Sprintf("%q", h), func(t *testing.T) {
			c := pluginController(t, pluginObjects(t, literalPipeline, "p="+h), plantest.NewStore(t))
			c.hit(t, "produce", map[string]string{"params.v": plantest.Written(t, c.store, h)})
			runs, ran := c.controller.run(t, "consume-when")
			if !ran {
				t.Fatal("consume-when did not run")
			}
			if got := plantest.Parse(t, c.store, runs[0][1:]).Value(t, "steps.produce.outputs.params.v"); got != h {
				t.Errorf("consume-when: the output = %q, want %q", got, h)
			}
			c.setResult("consume-when", "sluice-when", *v1.NewStructuredValues("true"))
			for _, task := range []string{"consume", "bye"} {
				lookup, run, ran := c.runCached(t, task, &scripted{})
				if !ran {
					t.Fatalf("%s did not run", task)
				}
				for what, args := range map[string][]string{"lookup": lookup, "TaskRun": run} {
					l := c.launched(t, task+"'s "+what, args)
					if got := l.Value(t, "params.p"); got != h {
						t.Errorf("%s's %s: params.p = %q, want %q", task, what, got, h)
					}
					if got := l.Value(t, "pipeline.runId"); got != "run-x7k2p" {
						t.Errorf("%s's %s: pipeline.runId = %q, want the PipelineRun's name", task, what, got)
					}
					if task == "consume" {
						if got := l.Value(t, "steps.produce.outputs.params.v"); got != h {
							t.Errorf("%s's %s: the output = %q, want %q", task, what, got, h)
						}
					}
				}
			}
		})
	}
}

// TestLiteralItemsPlugin: the hostile items of a loop over a group reach
// each iteration's CachedStep lookup, one each.
func TestLiteralItemsPlugin(t *testing.T) {
	items := ir.NewValue(toAny(append(append([]string(nil), plantest.Hostile...), arrayLike...)))
	p := &ir.Pipeline{
		APIVersion: ir.APIVersion, Kind: ir.Kind,
		Metadata: ir.Metadata{Name: "items"},
		Spec: ir.Spec{Steps: []ir.Step{{Name: "each", ForEach: &ir.ForEach{Items: &items}, Group: &ir.Group{Steps: []ir.Step{
			{Name: "work", Image: "busybox", Command: []string{"echo", "${{ item }}"}},
		}}}}},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	opts := testOptions
	opts.CachePlugin = true
	objs, err := tekton.Compile(p, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, objs)
	c := pluginController(t, objs, plantest.NewStore(t))
	for i, want := range items.Interface().([]any) {
		lookup, _, _ := c.runCached(t, fmt.Sprintf("work-%d", i), &scripted{})
		if got := c.launched(t, "lookup", lookup).Value(t, "item"); got != want {
			t.Errorf("iteration %d: item = %q, want %q", i, got, want)
		}
	}
}

// TestLiteralLoopPlugin: the hostile items of a loop over one step (one
// CachedStep that runs every iteration) reach each iteration's lookup
// and the TaskRun of each miss byte for byte, the TaskRun of the item
// its index names.
func TestLiteralLoopPlugin(t *testing.T) {
	texts := append(append([]string(nil), plantest.Hostile...), arrayLike...)
	items := ir.NewValue(toAny(texts))
	p := &ir.Pipeline{
		APIVersion: ir.APIVersion, Kind: ir.Kind,
		Metadata: ir.Metadata{Name: "items"},
		Spec: ir.Spec{Steps: []ir.Step{
			{Name: "loop", Image: "busybox", ForEach: &ir.ForEach{Items: &items, Parallelism: 3}, Command: []string{"echo", "${{ item }}"}},
		}},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	opts := testOptions
	opts.CachePlugin = true
	objs, err := tekton.Compile(p, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, objs)
	c := pluginController(t, objs, plantest.NewStore(t))
	// Every other item is in the cache.
	hit := func(item string) map[string]string {
		if i := slices.Index(texts, item); i%2 == 0 {
			return map[string]string{}
		}
		return nil
	}
	lookups, taskRuns := c.runLoop(t, "loop", hit, func(int) map[string]string { return map[string]string{"sluice-cached": "false"} })
	var looked []string
	for _, l := range lookups {
		looked = append(looked, c.launched(t, "lookup", l).Value(t, "item"))
	}
	if diff := cmp.Diff(sorted(texts), sorted(looked)); diff != "" {
		t.Errorf("the items looked up (-want +got):\n%s", diff)
	}
	for i, want := range texts {
		args, ok := taskRuns[i]
		if ok != (i%2 == 1) {
			t.Errorf("iteration %d: a TaskRun %v, want one for a miss only", i, ok)
			continue
		}
		if ok {
			if got := c.launched(t, "TaskRun", args).Value(t, "item"); got != want {
				t.Errorf("iteration %d's TaskRun: item = %q, want %q", i, got, want)
			}
		}
	}
}

// TestFilteredLoopPlugin: a loop over another step's output with a
// condition on each item: the filter task's launcher keeps the items,
// Tekton resolves its array result into the loop CachedStep's parameter,
// and each iteration's lookup and TaskRun get their item back byte for
// byte, under the item's index in the whole list.
func TestFilteredLoopPlugin(t *testing.T) {
	objs := pluginObjects(t, plantest.FilterPipeline)
	list, want := plantest.FilterItems()
	store := plantest.NewStore(t)
	c := pluginController(t, objs, store)
	c.hit(t, "produce", map[string]string{"params.l": plantest.Written(t, store, list)})
	args, ran := c.controller.run(t, "each-items")
	if !ran {
		t.Fatal("the filter task did not run")
	}
	l := plantest.Parse(t, store, args[0][1:])
	res, err := launch.When(context.Background(), &launch.WhenRequest{Spec: l.Spec, In: l.In})
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	if err := json.Unmarshal([]byte(launch.EncodeItems(res.Items)), &items); err != nil {
		t.Fatal(err)
	}
	c.setResult("each-items", "sluice-items", *v1.NewStructuredValues(items[0], items[1:]...))
	c.setResult("each-items", "sluice-when", *v1.NewStructuredValues(strconv.FormatBool(res.Run)))
	c.setResult("each-items", "sluice-runs", *v1.NewStructuredValues(launch.EncodeRuns(res.Iterations)))
	lookups, taskRuns := c.runLoop(t, "each", func(string) map[string]string { return nil },
		func(int) map[string]string { return map[string]string{"sluice-cached": "false"} })
	var looked []string
	for _, l := range lookups {
		looked = append(looked, c.launched(t, "lookup", l).Value(t, "item"))
	}
	if diff := cmp.Diff(sorted(want), sorted(looked)); diff != "" {
		t.Errorf("the items looked up (-want +got):\n%s", diff)
	}
	got := map[int]string{}
	for i, args := range taskRuns {
		got[i] = c.launched(t, "TaskRun", args).Value(t, "item")
	}
	wantByIndex := map[int]string{}
	for i, item := range want {
		wantByIndex[2*i] = item // FilterItems keeps every other item
	}
	if diff := cmp.Diff(wantByIndex, got); diff != "" {
		t.Errorf("each TaskRun's item, by index (-want +got):\n%s", diff)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestLiteralResultsPlugin: the output values of CachedSteps that hit,
// reach a CachedStep that reads them, the lists of a loop over one step
// (one CachedStep whose iterations hit or run TaskRuns, over literal
// items or over another step's output) and of an unrolled loop among
// them: Tekton reads the loop's aggregated results from its CustomRun
// (ResolveResultRefs), and the readers count a run-time loop from its
// result sluice-count.
func TestLiteralResultsPlugin(t *testing.T) {
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
      command: [sh, -c, 'cat v${{ item }} > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}]}
    - name: each
      forEach: {items: [1, 2]}
      group:
        steps:
          - name: inner
            command: [sh, -c, 'cat v > ${{ outputs.params.v }}']
            outputs: {params: [{name: v}]}
    - name: list
      command: [sh, -c, 'cat l > ${{ outputs.params.l }}']
      outputs: {params: [{name: l, type: list}]}
    - name: dyn
      forEach: {items: '${{ steps.list.outputs.params.l }}'}
      command: [sh, -c, 'cat v${{ item }} > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}]}
    - name: read
      command: [echo, '${{ steps.one.outputs.params.v }}', '${{ steps.one.outputs.artifacts.a }}',
        '${{ steps.many.outputs.params.v }}', '${{ steps.inner.outputs.params.v }}', '${{ steps.dyn.outputs.params.v }}']
`
	for _, h := range append(append([]string(nil), plantest.Hostile...), arrayLike...) {
		t.Run(fmt.Sprintf("%q", h), func(t *testing.T) {
			c := pluginController(t, pluginObjects(t, src), plantest.NewStore(t))
			w := plantest.Written(t, c.store, h)
			uri := "cas://sha256/" + strings.Repeat("ab", 32) + "?kind=file&size=3"
			c.hit(t, "one", map[string]string{"params.v": w, "artifacts.a": uri})
			// The first iteration hits, the second runs a TaskRun.
			hitFirst := func(item string) map[string]string {
				if item == "1" || item == "p" {
					return map[string]string{"params.v": w}
				}
				return nil
			}
			ranSecond := func(int) map[string]string { return map[string]string{"sluice-cached": "false", "v": "second"} }
			c.runLoop(t, "many", hitFirst, ranSecond)
			c.hit(t, "list", map[string]string{"params.l": plantest.Written(t, c.store, `["p","q"]`)})
			args, ran := c.controller.run(t, "dyn-items")
			if !ran {
				t.Fatal("dyn-items did not run")
			}
			filter := plantest.Parse(t, c.store, args[0][1:])
			res, err := launch.When(context.Background(), &launch.WhenRequest{Spec: filter.Spec, In: filter.In})
			if err != nil {
				t.Fatal(err)
			}
			var items []string
			if err := json.Unmarshal([]byte(launch.EncodeItems(res.Items)), &items); err != nil {
				t.Fatal(err)
			}
			c.setResult("dyn-items", "sluice-items", *v1.NewStructuredValues(items[0], items[1:]...))
			c.setResult("dyn-items", "sluice-when", *v1.NewStructuredValues("true"))
			c.setResult("dyn-items", "sluice-runs", *v1.NewStructuredValues(launch.EncodeRuns(res.Iterations)))
			c.runLoop(t, "dyn", hitFirst, ranSecond)
			c.hit(t, "inner-0", map[string]string{"params.v": w})
			c.hit(t, "inner-1", map[string]string{"params.v": "second"})
			lookup, _, _ := c.runCached(t, "read", &scripted{})
			l := c.launched(t, "lookup", lookup)
			if got := l.Value(t, "steps.one.outputs.params.v"); got != h {
				t.Errorf("value = %q, want %q", got, h)
			}
			if got := l.Value(t, "steps.one.outputs.artifacts.a"); got != uri {
				t.Errorf("artifact = %q, want %q", got, uri)
			}
			want := listOf(h, "second")
			for _, k := range []string{"steps.many.outputs.params.v", "steps.inner.outputs.params.v", "steps.dyn.outputs.params.v"} {
				if got := l.Value(t, k); got != want {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
		})
	}
}

// listOf is the list every backend makes of a loop's string outputs
// (step.JSONList, as the local runner's aggregate).
func listOf(elems ...string) string {
	var l []any
	for _, e := range elems {
		l = append(l, step.ListElem(e, ir.TypeString, false))
	}
	return step.JSONList(l)
}
