package argo_test

import (
	"fmt"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/plugins/argo/check"
)

const pluginRunPipeline = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: run}
spec:
  defaults: {image: busybox}
  steps:
    - name: prep
      command: [sh, -c, 'echo 3 > ${{ outputs.params.n }}']
      outputs: {params: [{name: n, type: int}]}
    - name: train
      forEach: {items: [a, b]}
      command: [echo, '${{ item }}', '${{ steps.prep.outputs.params.n }}']
      retry: {limit: 2}
    - name: report
      group:
        steps:
          - {name: plot, command: [echo, plot]}
    - name: bad
      command: [echo, bad]
      outputs: {params: [{name: x}]}
`

// pluginStates are a run of pluginRunPipeline compiled with the cache
// plugin, as a controller moves it along: each checked step is a DAG
// node holding its check (a Plugin node) and its run. prep hits (its run
// is Skipped by its when); train[0] misses, fails once and succeeds;
// train[1]'s check is refused (a fatal reply) and its pod runs; plot's
// check misses by a fault and its pod fails; bad's pod succeeds but its
// DAG fails resolving its outputs.
func pluginStates(name string) []wfv1.WorkflowStatus {
	t0 := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	at := func(s int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(s) * time.Second)) }
	out := func(kv ...string) *wfv1.Outputs {
		o := &wfv1.Outputs{}
		for i := 0; i < len(kv); i += 2 {
			o.Parameters = append(o.Parameters, wfv1.Parameter{Name: kv[i], Value: wfv1.AnyStringPtr(kv[i+1])})
		}
		return o
	}
	type n = wfv1.NodeStatus
	mk := func(id, boundary, fullName, display string, typ wfv1.NodeType, phase wfv1.NodePhase, start, end int, o *wfv1.Outputs, msg string, children ...string) n {
		s := n{ID: id, BoundaryID: boundary, Name: name + fullName, DisplayName: display, Type: typ, Phase: phase,
			StartedAt: at(start), Outputs: o, Message: msg, Children: children}
		if end > 0 {
			s.FinishedAt = at(end)
		}
		return s
	}
	checking := wfv1.Nodes{
		"prep":   mk("prep", "main", ".prep", "prep", wfv1.NodeTypeDAG, wfv1.NodeRunning, 1, 0, nil, "", "prep-c"),
		"prep-c": mk("prep-c", "prep", ".prep.sluice-check", "sluice-check", wfv1.NodeTypePlugin, wfv1.NodePending, 1, 0, nil, ""),
	}
	mid := wfv1.Nodes{
		"prep":   mk("prep", "main", ".prep", "prep", wfv1.NodeTypeDAG, wfv1.NodeSucceeded, 1, 3, out("n", "3", "sluice-cached", "true"), "", "prep-c"),
		"prep-c": mk("prep-c", "prep", ".prep.sluice-check", "sluice-check", wfv1.NodeTypePlugin, wfv1.NodeSucceeded, 1, 2, out("n", "3", "sluice-cached", "true"), "sluice: cache hit sha256:ab (run run-0)", "prep-r"),
		"prep-r": mk("prep-r", "prep", ".prep.sluice-run", "sluice-run", wfv1.NodeTypeSkipped, wfv1.NodeSkipped, 3, 3, nil, "when 'false' evaluated false"),

		"t0":     mk("t0", "main", ".train(0:a)", "train(0:a)", wfv1.NodeTypeDAG, wfv1.NodeRunning, 4, 0, nil, "", "t0-c"),
		"t0-c":   mk("t0-c", "t0", ".train(0:a).sluice-check", "sluice-check", wfv1.NodeTypePlugin, wfv1.NodeSucceeded, 4, 5, nil, "sluice: cache miss: no cache entry sha256:cd", "t0-r"),
		"t0-r":   mk("t0-r", "t0", ".train(0:a).sluice-run", "sluice-run", wfv1.NodeTypeRetry, wfv1.NodeRunning, 5, 0, nil, "", "t0-r0", "t0-r1"),
		"t0-r0":  mk("t0-r0", "t0", ".train(0:a).sluice-run(0)", "sluice-run(0)", wfv1.NodeTypePod, wfv1.NodeFailed, 5, 6, nil, "Error (exit code 1)"),
		"t0-r1":  mk("t0-r1", "t0", ".train(0:a).sluice-run(1)", "sluice-run(1)", wfv1.NodeTypePod, wfv1.NodeRunning, 7, 0, nil, ""),
		"t1":     mk("t1", "main", ".train(1:b)", "train(1:b)", wfv1.NodeTypeDAG, wfv1.NodeRunning, 4, 0, nil, "", "t1-c"),
		"t1-c":   mk("t1-c", "t1", ".train(1:b).sluice-check", "sluice-check", wfv1.NodeTypePlugin, wfv1.NodeFailed, 4, 5, nil, "403 Forbidden: wrong token", "t1-r"),
		"t1-r":   mk("t1-r", "t1", ".train(1:b).sluice-run", "sluice-run", wfv1.NodeTypeRetry, wfv1.NodeRunning, 5, 0, nil, "", "t1-r0"),
		"t1-r0":  mk("t1-r0", "t1", ".train(1:b).sluice-run(0)", "sluice-run(0)", wfv1.NodeTypePod, wfv1.NodeRunning, 5, 0, nil, ""),
		"report": mk("report", "main", ".report", "report", wfv1.NodeTypeDAG, wfv1.NodeRunning, 4, 0, nil, "", "plot"),
		"plot":   mk("plot", "report", ".report.plot", "plot", wfv1.NodeTypeDAG, wfv1.NodeRunning, 4, 0, nil, "", "plot-c"),
		"plot-c": mk("plot-c", "plot", ".report.plot.sluice-check", "sluice-check", wfv1.NodeTypePlugin, wfv1.NodeSucceeded, 4, 5, out(check.OutputFault, "open cache: connection refused"), "sluice: cache miss: open cache: connection refused", "plot-r"),
		"plot-r": mk("plot-r", "plot", ".report.plot.sluice-run", "sluice-run", wfv1.NodeTypePod, wfv1.NodeRunning, 5, 0, nil, ""),
	}
	done := wfv1.Nodes{}
	for k, v := range mid {
		done[k] = v
	}
	done["t0-r1"] = mk("t0-r1", "t0", ".train(0:a).sluice-run(1)", "sluice-run(1)", wfv1.NodeTypePod, wfv1.NodeSucceeded, 7, 9, out("sluice-cached", "false"), "")
	done["t0-r"] = mk("t0-r", "t0", ".train(0:a).sluice-run", "sluice-run", wfv1.NodeTypeRetry, wfv1.NodeSucceeded, 5, 9, out("sluice-cached", "false"), "", "t0-r0", "t0-r1")
	done["t1-r0"] = mk("t1-r0", "t1", ".train(1:b).sluice-run(0)", "sluice-run(0)", wfv1.NodeTypePod, wfv1.NodeSucceeded, 5, 8, out("sluice-cached", "true"), "")
	done["t1-r"] = mk("t1-r", "t1", ".train(1:b).sluice-run", "sluice-run", wfv1.NodeTypeRetry, wfv1.NodeSucceeded, 5, 8, out("sluice-cached", "true"), "", "t1-r0")
	done["plot-r"] = mk("plot-r", "plot", ".report.plot.sluice-run", "sluice-run", wfv1.NodeTypePod, wfv1.NodeFailed, 5, 7, nil, "Error (exit code 2)")
	done["plot"] = mk("plot", "report", ".report.plot", "plot", wfv1.NodeTypeDAG, wfv1.NodeFailed, 4, 7, nil, "child 'plot-r' failed", "plot-c")
	done["bad"] = mk("bad", "main", ".bad", "bad", wfv1.NodeTypeDAG, wfv1.NodeError, 4, 9, nil, `output parameter "x": "" is an absent optional`, "bad-c")
	done["bad-c"] = mk("bad-c", "bad", ".bad.sluice-check", "sluice-check", wfv1.NodeTypePlugin, wfv1.NodeSucceeded, 4, 5, nil, "sluice: cache miss: no cache entry sha256:ef", "bad-r")
	done["bad-r"] = mk("bad-r", "bad", ".bad.sluice-run", "sluice-run", wfv1.NodeTypePod, wfv1.NodeSucceeded, 5, 8, out("sluice-cached", "false"), "")
	return []wfv1.WorkflowStatus{
		{Phase: wfv1.WorkflowRunning, StartedAt: t0, Nodes: checking},
		{Phase: wfv1.WorkflowRunning, StartedAt: t0, Nodes: mid},
		{Phase: wfv1.WorkflowFailed, StartedAt: t0, FinishedAt: at(10), Nodes: done, Message: "child failed"},
	}
}

// TestTrackerPlugin: a checked step is one step, whatever nodes Argo
// shows for it: Pending while its check runs, Cached with the check's
// outputs on a hit (no pod), else its run's state (attempts, failures),
// with the reason of a check that missed by a fault.
func TestTrackerPlugin(t *testing.T) {
	p := mustPipeline(t, pluginRunPipeline)
	tr := argo.NewTracker(p)
	var got []string
	for _, st := range pluginStates("run-1") {
		wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "run-1"}, Status: st}
		for _, e := range tr.Update(wf) {
			s := fmt.Sprintf("%s %s #%d", e.Step, e.State, e.Attempt)
			if e.Message != "" {
				s += ": " + e.Message
			}
			got = append(got, s)
		}
	}
	want := []string{
		"prep Pending #0", "plot Pending #0", "bad Pending #0",
		"prep Cached #1",
		"plot Running #1: cache check: open cache: connection refused",
		"train[0] Running #2",
		"train[1] Running #1: cache check: 403 Forbidden: wrong token",
		"plot Failed #1: Error (exit code 2); cache check: open cache: connection refused",
		"train[1] Cached #1: cache check: 403 Forbidden: wrong token",
		"bad Failed #1: output parameter \"x\": \"\" is an absent optional",
		"train[0] Succeeded #2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "run-1"}, Status: pluginStates("run-1")[2]}
	sum := argo.Summarize(p, wf)
	if r := sum.Step("prep"); r == nil || !r.Cached || r.Outputs["n"] != "3" || r.Attempts != 1 {
		t.Errorf("prep: %+v, want Cached with n=3", r)
	}
	runs := map[string]argo.StepRun{}
	for _, r := range argo.Steps(p.Graph(), wf) {
		runs[r.Name] = r
	}
	for name, pods := range map[string][]string{"prep": nil, "train[0]": {"t0-r0", "t0-r1"}, "train[1]": {"t1-r0"}, "plot": {"plot-r"}} {
		if diff := cmp.Diff(pods, runs[name].Pods); diff != "" {
			t.Errorf("%s: pods (-want +got):\n%s", name, diff)
		}
	}
	if s := runs["prep"].State; s != report.Cached {
		t.Errorf("prep: %s, want Cached", s)
	}
}

// TestPipelineOfPlugin: a checked step's wrapper DAG is read back as the
// command step it runs, not as a group.
func TestPipelineOfPlugin(t *testing.T) {
	p := mustPipeline(t, pluginRunPipeline)
	opts := testOptions
	opts.CachePlugin = true
	wf, err := argo.Compile(p, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	back := argo.PipelineOf(wf)
	var got []string
	for _, n := range back.Graph().All() {
		s := n.Name()
		if n.Step.IsGroup() {
			s += " (group)"
		}
		if len(n.Step.Command) > 0 {
			s += " " + n.Step.Command[0]
		}
		got = append(got, s)
	}
	want := []string{"prep sh", "train echo", "report (group)", "plot echo", "bad echo"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}
