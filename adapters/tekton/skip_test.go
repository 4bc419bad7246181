package tekton_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipeline/dag"
	prres "github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/apis"

	"github.com/sluice-dev/sluice/adapters/tekton"
)

// playDAG runs a PipelineRun's DAG with Tekton's own scheduling
// decisions: each reconcile resolves result references from the tasks
// before in the list (ResolveResultRefs, ApplyTaskResults), and a task
// whose parents are done is skipped or run as ResolvedPipelineTask.Skip
// decides. A task that runs succeeds with the results results gives it.
// It returns each task's fate: "ran" or the skipping reason.
func playDAG(t testing.TB, spec *v1.PipelineSpec, results map[string]map[string]string) map[string]string {
	t.Helper()
	tasks := v1.PipelineTaskList(spec.Tasks)
	graph, err := dag.Build(tasks, tasks.Deps())
	if err != nil {
		t.Fatal(err)
	}
	finals, err := dag.Build(v1.PipelineTaskList(spec.Finally), map[string][]string{})
	if err != nil {
		t.Fatal(err)
	}
	var state prres.PipelineRunState
	for i := range spec.Tasks {
		// ResolvePipelineTask: a CachedStep is a custom task.
		custom := spec.Tasks[i].TaskSpec.IsCustomTask()
		state = append(state, &prres.ResolvedPipelineTask{PipelineTask: spec.Tasks[i].DeepCopy(), CustomTask: custom})
	}
	facts := &prres.PipelineRunFacts{State: state, TasksGraph: graph, FinalTasksGraph: finals}
	fate := map[string]string{}
	for progress := true; progress; {
		progress = false
		for i, rpt := range state {
			name := rpt.PipelineTask.Name
			if fate[name] != "" {
				continue
			}
			// ResolvePipelineTask: references to tasks before this one
			// in the list, all or none.
			rpt.PipelineTask = spec.Tasks[i].DeepCopy()
			if refs, _, err := prres.ResolveResultRefs(state[:i], prres.PipelineRunState{rpt}); err == nil {
				prres.ApplyTaskResults(prres.PipelineRunState{rpt}, refs)
			}
			facts.ResetSkippedCache()
			parentsDone := true
			for _, p := range graph.Nodes[name].Prev {
				if fate[p.Key] == "" {
					parentsDone = false
				}
			}
			if !parentsDone {
				continue
			}
			progress = true
			if s := rpt.Skip(facts); s.IsSkipped {
				fate[name] = string(s.SkippingReason)
				continue
			}
			fate[name] = "ran"
			if rpt.CustomTask {
				cr := &v1beta1.CustomRun{}
				cr.Name = name
				cr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue})
				for _, k := range slices.Sorted(maps.Keys(results[name])) {
					cr.Status.Results = append(cr.Status.Results, v1beta1.CustomRunResult{Name: k, Value: results[name][k]})
				}
				rpt.CustomRunNames, rpt.CustomRuns = []string{name}, []*v1beta1.CustomRun{cr}
				continue
			}
			tr := &v1.TaskRun{}
			tr.Name = name
			tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue})
			for _, k := range slices.Sorted(maps.Keys(results[name])) {
				tr.Status.Results = append(tr.Status.Results, v1.TaskRunResult{Name: k, Type: v1.ResultsTypeString, Value: *v1.NewStructuredValues(results[name][k])})
			}
			rpt.TaskRunNames, rpt.TaskRuns = []string{name}, []*v1.TaskRun{tr}
		}
	}
	return fate
}

const skipPipeline = `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: skip}
spec:
  defaults: {image: busybox}
  steps:
    - name: a
      command: [sh, -c, 'echo 1 > ${{ outputs.params.n }}']
      outputs: {params: [{name: n, type: int}]}
    - name: b
      when: '${{ steps.a.outputs.params.n }} > 1'
      command: [sh, -c, 'echo v > ${{ outputs.params.v }}']
      outputs: {params: [{name: v}]}
    - name: c
      command: [sh, -c, 'echo ${{ steps.b.outputs.params.v }} > ${{ outputs.params.w }}']
      outputs: {params: [{name: w}]}
    - name: d
      after: [c]
      command: [echo, after c]
    - name: e
      command: [echo, '${{ steps.c.outputs.params.w }}']
    - name: f
      after: [e]
      when: '${{ steps.a.outputs.params.n }} > 0'
      command: [echo, after e]
    - name: g
      when: '${{ steps.a.outputs.params.n }} == 5'
      group:
        steps:
          - name: g1
            command: [sh, -c, 'echo x > ${{ outputs.params.x }}']
            outputs: {params: [{name: x}]}
          - name: g2
            command: [echo, '${{ steps.g1.outputs.params.x }}']
    - name: h
      after: [g]
      command: [echo, after g]
`

// TestSkipSemantics plays the compiled DAG with Tekton's own skipping
// logic: a step whose condition is false is skipped, and so are the steps
// that need its outputs, transitively (c, e); the steps that only come
// after a skipped one run (d, f, h), as the pipeline's semantics say,
// although Tekton on its own skips the dependents of a task that missed a
// result. With the cache plugin, where the steps are CachedSteps (custom
// tasks, whose results come from CustomRuns), the fates are the same.
func TestSkipSemantics(t *testing.T) {
	t.Run("TaskRuns", func(t *testing.T) { testSkipSemantics(t, compileText(t, skipPipeline)) })
	t.Run("CachedSteps", func(t *testing.T) { testSkipSemantics(t, pluginObjects(t, skipPipeline)) })
}

func testSkipSemantics(t *testing.T, objs *tekton.Objects) {
	spec := objs.PipelineRun.Spec.PipelineSpec
	results := map[string]map[string]string{
		"a": {"n": "1"}, "b": {"v": "v"}, "c": {"w": "w"}, "g1": {"x": "x"},
		"b-when": {"sluice-when": "false"}, "f-when": {"sluice-when": "true"}, "g-when": {"sluice-when": "false"},
	}
	when := string(v1.WhenExpressionsSkip)
	want := map[string]string{
		"a": "ran", "b-when": "ran", "b": when, "c": when, "d": "ran", "e": when,
		"f-when": "ran", "f": "ran", "g-when": "ran", "g1": when, "g2": when, "h": "ran",
	}
	if diff := cmp.Diff(want, playDAG(t, spec, results)); diff != "" {
		t.Errorf("fates (-want +got):\n%s", diff)
	}

	// The condition true: everything runs.
	results["b-when"]["sluice-when"] = "true"
	results["g-when"]["sluice-when"] = "true"
	for k := range want {
		want[k] = "ran"
	}
	if diff := cmp.Diff(want, playDAG(t, spec, results)); diff != "" {
		t.Errorf("fates with the conditions true (-want +got):\n%s", diff)
	}

	// Without the guards that the compiler adds, Tekton itself skips c
	// for its missing result, and d, which only comes after c, with it.
	results["b-when"]["sluice-when"] = "false"
	bare := spec.DeepCopy()
	for i := range bare.Tasks {
		if bare.Tasks[i].Name == "c" || bare.Tasks[i].Name == "e" {
			bare.Tasks[i].When = nil
		}
	}
	fate := playDAG(t, bare, results)
	if fate["c"] != string(v1.MissingResultsSkip) || fate["d"] != string(v1.ParentTasksSkip) {
		t.Errorf("unguarded: c %s, d %s; want Tekton's own %s and %s", fate["c"], fate["d"], v1.MissingResultsSkip, v1.ParentTasksSkip)
	}
}
