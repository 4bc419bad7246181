package argo_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/expr/argoexpr"
	"github.com/argoproj/argo-workflows/v3/util/expr/env"
	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	"github.com/expr-lang/expr"
	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/plugins/argo/check"
)

const wrapPipeline = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: wrap}
spec:
  steps:
    - name: stats
      image: busybox
      command: [sh, -c, 'echo 7 > ${{ outputs.params.count }}']
      outputs: {params: [{name: count, type: int}], artifacts: [{name: plot}]}
      retry: {limit: 1}
    - name: fresh
      image: busybox
      cache: {enabled: false}
      command: [date]
`

// taskResults are the fields a depends expression reads of each task
// (workflow/controller/dag.go TaskResults).
type taskResults struct {
	Succeeded, Failed, Errored, Skipped, Omitted, Daemoned, AnySucceeded, AllFailed bool
}

// node is a finished task of a wrapper, as the controller's scope holds
// it (buildLocalScope): its id, status and output parameters.
type node struct {
	phase   wfv1.NodePhase
	outputs map[string]string // nil: the node has no outputs at all
}

// addTo adds the node under tasks.NAME to scope. A skipped node has no
// outputs; the controller adds those its template declares instead
// (addSkippedNodeOutputsToScope): the default, or nil, an absent
// optional.
func (n node) addTo(scope map[string]any, name string, declared []wfv1.Parameter) {
	prefix := "tasks." + name
	scope[prefix+".id"] = name + "-id"
	scope[prefix+".startedAt"] = "2026-01-02T03:04:05Z"
	scope[prefix+".finishedAt"] = "2026-01-02T03:04:06Z"
	scope[prefix+".status"] = string(n.phase)
	for k, v := range n.outputs {
		scope[prefix+".outputs.parameters."+k] = v
	}
	if n.outputs == nil && (n.phase == wfv1.NodeSkipped || n.phase == wfv1.NodeOmitted) {
		for _, p := range declared {
			if p.ValueFrom != nil && p.ValueFrom.Default != nil {
				scope[prefix+".outputs.parameters."+p.Name] = p.ValueFrom.Default.String()
			} else {
				scope[prefix+".outputs.parameters."+p.Name] = nil
			}
		}
	}
}

// TestWrapperDecides plays the decisions of a wrapper (the DAG that runs
// a step after the plugin's check) with Argo's own code, for every way
// the check can end: the run task's depends (argoexpr.EvalBool, as
// evaluateDependsLogic), its when (util/template.ReplaceStrictAny over
// the task's scope, then govaluate, as resolveDependencyReferences and
// shouldExecute), and the wrapper's outputs (expr-lang over
// util/expr/env.GetFuncMap of the DAG's scope, as resolveParameter).
// On a hit the step's outputs are the check's and its container does not
// run; otherwise the container runs and the outputs are its own.
func TestWrapperDecides(t *testing.T) {
	plugin := testOptions
	plugin.CachePlugin = true
	wf, err := compileYAML(t, "wrap.yaml", []byte(wrapPipeline), nil, plugin)
	if err != nil {
		t.Fatal(err)
	}
	argoValidate(t, wf)
	tmpls := map[string]wfv1.Template{}
	for _, tm := range wf.Spec.Templates {
		tmpls[tm.Name] = tm
	}
	w, ok := tmpls["sluice-cache-stats"]
	if !ok || w.DAG == nil || len(w.DAG.Tasks) != 2 {
		t.Fatalf("no wrapper DAG sluice-cache-stats with two tasks: %+v", w)
	}
	if _, ok := tmpls["sluice-cache-fresh"]; ok {
		t.Error("a step with cache disabled is wrapped")
	}
	run := w.DAG.Tasks[1]
	declared := tmpls[run.Template].Outputs.Parameters

	// When the wrapper starts, Argo binds its inputs across its whole
	// template (ProcessArgs), with the invoking task's name in scope as
	// tasks.name: the run task's when must not be decided there, before
	// the check has run.
	var args wfv1.Arguments
	for _, p := range w.Inputs.Parameters {
		args.Parameters = append(args.Parameters, wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr("x")})
	}
	started, err := common.ProcessArgs(&w, &args, common.Parameters{"workflow.name": "wrap-x7k2p"},
		common.Parameters{"tasks.name": "stats", "node.name": "wrap-x7k2p.stats"}, false, "ml", nil)
	if err != nil {
		t.Fatalf("ProcessArgs(%s): %v", w.Name, err)
	}
	if got := started.DAG.Tasks[1].When; got != run.When {
		t.Fatalf("the run task's when was decided when the wrapper started: %q, want it left as %q", got, run.When)
	}

	globals := map[string]any{"workflow.name": "wrap-x7k2p", "workflow.namespace": "ml"}
	ran := node{wfv1.NodeSucceeded, map[string]string{"count": "7", "plot": "cas://sha256/ab?kind=file&size=2", "sluice-cached": "false"}}
	tests := []struct {
		name     string
		check    node
		run      node // what the controller then made of the run task
		wantRun  bool
		wantOuts map[string]string
	}{
		{
			name:     "hit",
			check:    node{wfv1.NodeSucceeded, map[string]string{"count": "42", "plot": "cas://sha256/cd?kind=file&size=9", "sluice-cached": "true"}},
			run:      node{phase: wfv1.NodeSkipped},
			wantOuts: map[string]string{"count": "42", "plot": "cas://sha256/cd?kind=file&size=9", "sluice-cached": "true"},
		},
		{
			name:     "miss",
			check:    node{wfv1.NodeSucceeded, nil},
			run:      ran,
			wantRun:  true,
			wantOuts: ran.outputs,
		},
		{
			name:     "miss by a fault",
			check:    node{wfv1.NodeSucceeded, map[string]string{check.OutputFault: "open cache: connection refused"}},
			run:      ran,
			wantRun:  true,
			wantOuts: ran.outputs,
		},
		{
			name:     "failed check", // a fatal reply: the plugin is missing, the token refused
			check:    node{wfv1.NodeFailed, nil},
			run:      ran,
			wantRun:  true,
			wantOuts: ran.outputs,
		},
		{
			name:     "errored check", // the agent pod failed
			check:    node{wfv1.NodeError, nil},
			run:      ran,
			wantRun:  true,
			wantOuts: ran.outputs,
		},
		{
			name:     "miss, then the launcher hits",
			check:    node{wfv1.NodeSucceeded, nil},
			run:      node{wfv1.NodeSucceeded, map[string]string{"count": "7", "plot": "cas://sha256/ab?kind=file&size=2", "sluice-cached": "true"}},
			wantRun:  true,
			wantOuts: map[string]string{"count": "7", "plot": "cas://sha256/ab?kind=file&size=2", "sluice-cached": "true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The run task, once the check is done.
			results := map[string]taskResults{"sluice_check": {
				Succeeded: tt.check.phase == wfv1.NodeSucceeded,
				Failed:    tt.check.phase == wfv1.NodeFailed,
				Errored:   tt.check.phase == wfv1.NodeError,
			}}
			proceed, err := argoexpr.EvalBool(strings.ReplaceAll(run.Depends, "-", "_"), results)
			if err != nil || !proceed {
				t.Fatalf("depends %q: %v, %v; want the run task considered whatever the check did", run.Depends, proceed, err)
			}
			scope := map[string]any{}
			for k, v := range globals {
				scope[k] = v
			}
			tt.check.addTo(scope, "sluice-check", nil)
			b, _ := json.Marshal(run.When)
			s, err := template.ReplaceStrictAny(string(b), scope, []string{"tasks", "steps"})
			if err != nil {
				t.Fatalf("when %s: %v", run.When, err)
			}
			var when string
			_ = json.Unmarshal([]byte(s), &when)
			if when != "true" && when != "false" {
				t.Errorf("when is %q: Argo would parse more than true or false", when)
			}
			gotRun, err := shouldExecute(when)
			if err != nil {
				t.Fatal(err)
			}
			if gotRun != tt.wantRun {
				t.Errorf("the container runs: %v, want %v (when %q)", gotRun, tt.wantRun, when)
			}

			// The wrapper's outputs, once both are done.
			tt.run.addTo(scope, "sluice-run", declared)
			e := env.GetFuncMap(scope)
			got := map[string]string{}
			for _, p := range w.Outputs.Parameters {
				program, err := expr.Compile(p.ValueFrom.Expression, expr.Env(e))
				if err != nil {
					t.Fatalf("output %s: %v", p.Name, err)
				}
				v, err := expr.Run(program, e)
				if err != nil || v == nil {
					t.Errorf("output %s: %v, %v: the wrapper would fail", p.Name, v, err)
					continue
				}
				got[p.Name] = fmt.Sprint(v)
			}
			if diff := cmp.Diff(tt.wantOuts, got); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPluginOff: without CachePlugin the Workflow has no wrapper, no
// plugin template, and is byte for byte what it was.
func TestPluginOff(t *testing.T) {
	wf, err := compileYAML(t, "wrap.yaml", []byte(wrapPipeline), nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range wf.Spec.Templates {
		if tm.Plugin != nil || strings.HasPrefix(tm.Name, "sluice-cache-") || strings.HasPrefix(tm.Name, "sluice-check-") {
			t.Errorf("template %s is the cache plugin's", tm.Name)
		}
	}
}
