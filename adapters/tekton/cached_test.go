package tekton_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/ir"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// checkPlugin: with the cache plugin, a pipeline compiles to the objects
// it compiles to without, except that the task of each cacheable command
// step (cache not disabled) runs a CachedStep, which carries exactly what
// its TaskRun would have had: the same Task (embedded, or the same
// reference), the pod template Tekton would have given the TaskRun
// (PipelineRun.GetTaskRunSpec: the run's template with the task's
// taskRunSpecs merged in) and the credentials Secret. The pipeline task's
// own fields (params, when, runAfter, retries, timeout) do not change, so
// its consumers read its results as before; but a loop over one step is
// no matrix: its CachedStep holds the matrix's combinations (a loop over
// literal items), or takes the filter task's items and verdicts as
// parameters, and its readers count its iterations from its result
// sluice-count rather than from Tekton's matrix.RESULT.length. Nor does a
// loop CachedStep carry the iterations' indexes a matrix does, for its
// readers to put Tekton's aggregate in item order (see unindexed): its
// controller aggregates in item order.
func checkPlugin(t *testing.T, without, with *tekton.Objects) {
	t.Helper()
	without = unindexed(t, without, with)
	if diff := cmp.Diff(without.Tasks, with.Tasks); diff != "" {
		t.Fatalf("the Tasks differ with the plugin (-without +with):\n%s", diff)
	}
	pipeline := func(o *tekton.Objects) *v1.PipelineSpec {
		if o.Pipeline != nil {
			return &o.Pipeline.Spec
		}
		return o.PipelineRun.Spec.PipelineSpec
	}
	tasks := func(o *tekton.Objects) []v1.PipelineTask {
		return append(append([]v1.PipelineTask(nil), pipeline(o).Tasks...), pipeline(o).Finally...)
	}
	wo, wi := tasks(without), tasks(with)
	if len(wo) != len(wi) {
		t.Fatalf("%d pipeline tasks with the plugin, %d without", len(wi), len(wo))
	}
	loops := map[string]bool{} // loop CachedSteps
	for _, pt := range wi {
		if cs, _ := cachedstep.OfPipelineTask(&pt); cs != nil && cs.Loop != nil {
			loops[pt.Name] = true
		}
	}
	cached := map[string]bool{}
	for i := range wo {
		before, after := *wo[i].DeepCopy(), *wi[i].DeepCopy()
		for j, p := range before.Params {
			ref, ok := strings.CutPrefix(p.Value.StringVal, "$(tasks.")
			task, _, _ := strings.Cut(ref, ".")
			if ok && loops[task] && strings.HasPrefix(ref, task+".matrix.") && strings.HasSuffix(ref, ".length)") {
				before.Params[j].Value.StringVal = "$(tasks." + task + ".results." + cachedstep.ResultCount + ")"
			}
		}
		cs, err := cachedstep.OfPipelineTask(&after)
		if err != nil {
			t.Fatalf("task %s: %v", after.Name, err)
		}
		if cs == nil {
			if cacheable(t, without, &before) {
				t.Errorf("task %s: a cacheable step without a CachedStep", before.Name)
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("task %s differs with the plugin (-without +with):\n%s", before.Name, diff)
			}
			continue
		}
		cached[after.Name] = true
		if !cacheable(t, without, &before) {
			t.Errorf("task %s: a CachedStep for a step that is not cacheable", before.Name)
		}
		if before.TaskRef != nil {
			if diff := cmp.Diff(before.TaskRef, cs.TaskRef); diff != "" {
				t.Errorf("task %s: the CachedStep's Task (-without +with):\n%s", before.Name, diff)
			}
		} else if diff := cmp.Diff(&before.TaskSpec.TaskSpec, cs.TaskSpec); diff != "" {
			t.Errorf("task %s: the CachedStep's Task (-without +with):\n%s", before.Name, diff)
		}
		want := without.PipelineRun.GetTaskRunSpec(before.Name).PodTemplate
		if diff := cmp.Diff(want, cs.PodTemplate, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("task %s: the CachedStep's pod template (-TaskRun's +CachedStep's):\n%s", before.Name, diff)
		}
		if cs.CacheSecret != testOptions.CacheSecret {
			t.Errorf("task %s: cacheSecret %q, want %q", before.Name, cs.CacheSecret, testOptions.CacheSecret)
		}
		if err := checkLoop(before.Matrix, cs.Loop, &after); err != nil {
			t.Errorf("task %s: %v", before.Name, err)
		}
		after.TaskSpec, after.TaskRef, after.Matrix = before.TaskSpec, before.TaskRef, before.Matrix
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("task %s: the pipeline task differs with the plugin (-without +with):\n%s", before.Name, diff)
		}
	}
	// The PipelineRun: its taskRunSpecs leave out the CachedSteps, which
	// carry their own placement.
	pr := without.PipelineRun.DeepCopy()
	var specs []v1.PipelineTaskRunSpec
	for _, s := range pr.Spec.TaskRunSpecs {
		if !cached[s.PipelineTaskName] {
			specs = append(specs, s)
		}
	}
	pr.Spec.TaskRunSpecs = specs
	pr.Spec.PipelineSpec = nil
	got := with.PipelineRun.DeepCopy()
	got.Spec.PipelineSpec = nil
	if diff := cmp.Diff(pr, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("the PipelineRun with the plugin (-want +got):\n%s", diff)
	}
}

// checkLoop checks that a loop CachedStep runs the iterations of the
// matrix it stands for: its combinations, each by its name (the item's
// index) and sluice_item; or the items of the matrix's parameter, which
// the CachedStep takes with the filter's verdicts as parameters of its
// own (removed from after's).
func checkLoop(m *v1.Matrix, l *cachedstep.Loop, after *v1.PipelineTask) error {
	switch {
	case m == nil && l == nil:
		return nil
	case m == nil || l == nil:
		return fmt.Errorf("matrix %v, loop %v", m, l)
	case l.Param != "sluice_item":
		return fmt.Errorf("the loop's item goes to %s, want sluice_item", l.Param)
	}
	var items []cachedstep.Item
	for _, inc := range m.Include {
		i, err := strconv.Atoi(inc.Name)
		if err != nil || len(inc.Params) != 1 || inc.Params[0].Name != "sluice_item" {
			return fmt.Errorf("matrix include %+v", inc)
		}
		items = append(items, cachedstep.Item{Index: i, Text: inc.Params[0].Value.StringVal})
	}
	if diff := cmp.Diff(items, l.Items, cmpopts.EquateEmpty()); diff != "" {
		return fmt.Errorf("the loop's items (-matrix +loop):\n%s", diff)
	}
	if len(m.Params) == 0 {
		return nil
	}
	n := len(after.Params)
	if len(m.Params) != 1 || n < 2 || l.ItemsParam != "sluice_items" || l.RunsParam != "sluice_runs" {
		return fmt.Errorf("matrix params %v, loop %+v, params %v", m.Params, l, after.Params)
	}
	items2, runs := after.Params[n-2], after.Params[n-1]
	filter := strings.TrimSuffix(strings.TrimPrefix(m.Params[0].Value.StringVal, "$(tasks."), ".results.sluice-items[*])")
	want := v1.Params{
		{Name: l.ItemsParam, Value: v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: []string{m.Params[0].Value.StringVal}}},
		{Name: l.RunsParam, Value: *v1.NewStructuredValues("$(tasks." + filter + ".results.sluice-runs)")},
	}
	if diff := cmp.Diff(want, v1.Params{items2, runs}); diff != "" {
		return fmt.Errorf("the loop's parameters (-want +got):\n%s", diff)
	}
	after.Params = after.Params[:n-2]
	return nil
}

// unindexed is the objects compiled without the plugin less what a matrix
// carries for its readers to put Tekton's aggregate of its results in
// item order, for each loop that is a CachedStep with the plugin: the
// index of each combination (sluice_index, --index) or the filter's
// items with their indexes (sluice-kept, --in-item), the index each
// TaskRun writes (sluice-index), and in its readers the indexes passed
// with each list (--in-list-index, and their array parameter).
func unindexed(t *testing.T, without, with *tekton.Objects) *tekton.Objects {
	t.Helper()
	o := &tekton.Objects{PipelineRun: without.PipelineRun.DeepCopy(), Pipeline: without.Pipeline.DeepCopy()}
	for _, task := range without.Tasks {
		o.Tasks = append(o.Tasks, task.DeepCopy())
	}
	loops := map[string]bool{}
	eachTask(with, func(pt *v1.PipelineTask) {
		if cs, _ := cachedstep.OfPipelineTask(pt); cs != nil && cs.Loop != nil {
			loops[pt.Name] = true
		}
	})
	dropped := map[string]bool{} // readers' parameters of indexes
	filters := map[string]bool{}
	eachTask(o, func(pt *v1.PipelineTask) {
		ts := taskSpecOf(t, o, pt)
		if loops[pt.Name] {
			for j := range pt.Matrix.Include {
				inc := &pt.Matrix.Include[j]
				inc.Params = slices.DeleteFunc(inc.Params, func(p v1.Param) bool { return p.Name == "sluice_index" })
			}
			for j := range pt.Matrix.Params {
				v := &pt.Matrix.Params[j].Value.StringVal
				if f, ok := strings.CutSuffix(strings.TrimPrefix(*v, "$(tasks."), ".results.sluice-kept[*])"); ok {
					*v, filters[f] = "$(tasks."+f+".results.sluice-items[*])", true
				}
			}
			unindexTask(t, ts)
		}
		for _, p := range pt.Params {
			if len(p.Value.ArrayVal) != 1 {
				continue
			}
			ref, ok := strings.CutSuffix(strings.TrimPrefix(p.Value.ArrayVal[0], "$(tasks."), ".results.sluice-index[*])")
			if task, _, _ := strings.Cut(ref, "."); ok && loops[task] {
				dropped[p.Name] = true
			}
		}
		pt.Params = slices.DeleteFunc(pt.Params, func(p v1.Param) bool { return dropped[p.Name] })
		ts.Params = slices.DeleteFunc(ts.Params, func(p v1.ParamSpec) bool { return dropped[p.Name] })
		for j := range ts.Steps {
			ts.Steps[j].Args = slices.DeleteFunc(ts.Steps[j].Args, func(a string) bool {
				key, ok := strings.CutPrefix(a, "--in-list-index=")
				p := strings.TrimSuffix(strings.TrimPrefix(a, "$(params."), "[*])")
				return ok && dropped[indexParam(key)] || dropped[p]
			})
		}
	})
	eachTask(o, func(pt *v1.PipelineTask) {
		if !filters[pt.Name] {
			return
		}
		ts := taskSpecOf(t, o, pt)
		for j := range ts.Results {
			if ts.Results[j].Name == "sluice-kept" {
				ts.Results[j].Name = "sluice-items"
			}
		}
		for _, st := range ts.Steps {
			for j, a := range st.Args {
				if a == "--out=kept=$(results.sluice-kept.path)" {
					st.Args[j] = "--out=items=$(results.sluice-items.path)"
				}
			}
		}
	})
	return o
}

// eachTask calls f with each pipeline task of o, finally tasks included.
func eachTask(o *tekton.Objects, f func(*v1.PipelineTask)) {
	spec := o.PipelineRun.Spec.PipelineSpec
	if o.Pipeline != nil {
		spec = &o.Pipeline.Spec
	}
	for _, tasks := range [][]v1.PipelineTask{spec.Tasks, spec.Finally} {
		for i := range tasks {
			f(&tasks[i])
		}
	}
}

// unindexTask takes out of a matrix's Task the index of its item: the
// parameter sluice_index, the result sluice-index, the launcher's --index
// and --out index; an item passed with its index (--in-item) is passed as
// without (--in-b64), if the step reads it at all.
func unindexTask(t *testing.T, ts *v1.TaskSpec) {
	t.Helper()
	ts.Params = slices.DeleteFunc(ts.Params, func(p v1.ParamSpec) bool { return p.Name == "sluice_index" })
	ts.Results = slices.DeleteFunc(ts.Results, func(r v1.TaskResult) bool { return r.Name == "sluice-index" })
	run := &ts.Steps[len(ts.Steps)-1]
	readsItem := false
	for _, a := range run.Args {
		if b64, ok := strings.CutPrefix(a, "--spec-b64="); ok {
			spec, err := launch.Decode(b64)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range plan.Needs(&spec.Step) {
				readsItem = readsItem || r.Kind == ir.RefItem
			}
		}
	}
	if !readsItem {
		ts.Params = slices.DeleteFunc(ts.Params, func(p v1.ParamSpec) bool { return p.Name == "sluice_item" })
	}
	var args []string
	for _, a := range run.Args {
		switch {
		case strings.HasPrefix(a, "--index="), strings.HasPrefix(a, "--out=index="):
		case strings.HasPrefix(a, "--in-item="):
			if readsItem {
				args = append(args, "--in-b64=item="+strings.TrimPrefix(a, "--in-item="))
			}
		default:
			args = append(args, a)
		}
	}
	run.Args = args
}

// indexParam is the parameter that passes the indexes of the list
// steps.S.outputs.params.N from a matrix: S_sluice_index.
func indexParam(key string) string {
	step, _, _ := strings.Cut(strings.TrimPrefix(key, "steps."), ".")
	p := step + "_sluice_index"
	if p[0] >= '0' && p[0] <= '9' {
		p = "_" + p
	}
	return p
}

// cacheable reports whether a pipeline task compiled without the plugin
// runs a command step whose cache is on.
func cacheable(t *testing.T, o *tekton.Objects, pt *v1.PipelineTask) bool {
	t.Helper()
	ts := taskSpecOf(t, o, pt)
	for _, s := range ts.Steps {
		if len(s.Command) == 1 && s.Command[0] == plan.Launcher && len(s.Args) > 0 && s.Args[0] == "run" {
			for _, a := range s.Args {
				if b64, ok := strings.CutPrefix(a, "--spec-b64="); ok {
					spec, err := launch.Decode(b64)
					if err != nil {
						t.Fatal(err)
					}
					return spec.Step.Cache.IsEnabled()
				}
			}
		}
	}
	return false
}

func taskSpecOf(t *testing.T, o *tekton.Objects, pt *v1.PipelineTask) *v1.TaskSpec {
	t.Helper()
	if pt.TaskSpec != nil {
		return &pt.TaskSpec.TaskSpec
	}
	for _, task := range o.Tasks {
		if task.Name == pt.TaskRef.Name {
			return &task.Spec
		}
	}
	t.Fatalf("task %s: no Task %s", pt.Name, pt.TaskRef.Name)
	return nil
}

// TestPluginOptions: the cache plugin needs the store's URL, which a
// CachedStep carries to the controller and to its pod.
func TestPluginOptions(t *testing.T) {
	p, params := compileInput(t)
	for _, tc := range []struct {
		name  string
		cache string
		err   error
	}{
		{"with a store", testOptions.Cache, nil},
		{"without", "", tekton.ErrOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions
			opts.CachePlugin, opts.Cache = true, tc.cache
			_, err := tekton.Compile(p, params, opts)
			if !errors.Is(err, tc.err) {
				t.Errorf("Compile: %v, want %v", err, tc.err)
			}
		})
	}
}

func compileInput(t *testing.T) (*ir.Pipeline, map[string]ir.Value) {
	t.Helper()
	src := `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: one}
spec:
  steps:
    - {name: s, image: busybox, command: [echo]}
`
	p, err := ir.Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	params, err := p.ResolveParams(nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, params
}

// TestPluginFeatureFlags: CachedSteps need no feature flag: a pipeline
// validates with enable-api-fields: stable, loops over one step and
// their readers included (a loop CachedStep is no matrix); like every
// embedded Task, they are refused when disable-inline-spec names
// pipeline.
func TestPluginFeatureFlags(t *testing.T) {
	src := `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: flags}
spec:
  defaults: {image: busybox}
  steps:
    - {name: s, command: [sh, -c, 'echo [1] > ${{ outputs.params.l }}'], outputs: {params: [{name: l, type: list}]}}
    - name: literal
      forEach: {items: [1, 2], parallelism: 1}
      command: [sh, -c, 'echo ${{ item }} > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}]}
    - name: dynamic
      forEach: {items: '${{ steps.s.outputs.params.l }}'}
      command: [sh, -c, 'echo ${{ item }} > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}]}
    - {name: read, command: [echo, '${{ steps.literal.outputs.params.v }}', '${{ steps.dynamic.outputs.params.v }}']}
`
	opts := testOptions
	opts.CachePlugin = true
	objs, err := compileYAML(t, "flags.yaml", []byte(src), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags map[string]string
		ok    bool
	}{
		{map[string]string{"enable-api-fields": "stable"}, true},
		{map[string]string{"enable-api-fields": "alpha"}, true},
		{map[string]string{"disable-inline-spec": "pipeline"}, false},
	} {
		ctx, err := tekton.Context(context.Background(), tc.flags, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tekton.Validate(ctx, objs); (err == nil) != tc.ok {
			t.Errorf("feature flags %v: %v, want valid %v", tc.flags, err, tc.ok)
		}
	}
	// Without the plugin, the loops are matrices: beta.
	opts.CachePlugin = false
	without, err := compileYAML(t, "flags.yaml", []byte(src), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := tekton.Context(context.Background(), map[string]string{"enable-api-fields": "stable"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tekton.Validate(ctx, without); err == nil {
		t.Error("without the plugin, matrices validate with enable-api-fields: stable")
	}
}

// TestNoDefaultTimeout: a step without a timeout has none on Tekton
// either. Tekton gives a task the cluster's default timeout (60 min)
// unless the PipelineRun says its tasks have none (TasksTimeout).
func TestNoDefaultTimeout(t *testing.T) {
	objs, err := compileYAML(t, "pipeline.yaml", []byte(`
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: long}
spec:
  defaults: {image: busybox:1.36}
  steps:
    - {name: train, command: [sleep, "7200"]}
  onExit:
    - {name: report, command: ["true"]}
`), nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	pr := objs.PipelineRun
	for name, d := range map[string]*metav1.Duration{"tasks": pr.TasksTimeout(), "finally": pr.FinallyTimeout()} {
		if d == nil || d.Duration != 0 {
			t.Errorf("%s timeout %v, want 0 (none)", name, d)
		}
	}
	if d := pr.PipelineTimeout(context.Background()); d != 0 {
		t.Errorf("pipeline timeout %v, want 0 (none)", d)
	}
}
