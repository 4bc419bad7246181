package argo

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
	plugincheck "github.com/sluice-dev/sluice/plugins/argo/check"
)

// Tracker turns successive states of a Workflow into the step events of
// internal/report, the same events a local run gives: one step per
// command step of the pipeline, "train[2]" for a loop's third iteration.
// It is pure: tests feed it Workflows.
type Tracker struct {
	g *ir.Graph
	t *report.Tracker
}

// NewTracker returns a Tracker for runs of p.
func NewTracker(p *ir.Pipeline) *Tracker {
	return &Tracker{g: p.Graph(), t: report.NewTracker()}
}

// StepRun is what a Workflow says of one execution of a step.
type StepRun struct {
	report.StepRun
	Pods []string // node IDs of its pods, one per attempt
}

// Update returns the events that bring an observer from the previous
// state of the run to wf: at first, Pending for every step that is not
// in a loop (a loop's iterations are known once it fans out).
func (t *Tracker) Update(wf *wfv1.Workflow) []report.Event {
	return t.t.Update(Snapshot(t.g, wf))
}

// Snapshot is what a Workflow says of its run.
func Snapshot(g *ir.Graph, wf *wfv1.Workflow) *report.Snapshot {
	s := &report.Snapshot{
		Created:   wf.CreationTimestamp.Time,
		Ended:     wf.Status.Phase.Completed(),
		Succeeded: wf.Status.Phase == wfv1.WorkflowSucceeded,
		Started:   wf.Status.StartedAt.Time,
		Finished:  wf.Status.FinishedAt.Time,
		Why:       fmt.Sprintf("the Workflow is %s", wf.Status.Phase),
	}
	if wf.Status.Message != "" {
		s.Why += ": " + wf.Status.Message
	}
	for _, n := range g.All() {
		if !n.Step.IsGroup() && !n.InForEach() {
			s.Pending = append(s.Pending, n.Name())
		}
	}
	for _, r := range Steps(g, wf) {
		s.Runs = append(s.Runs, r.StepRun)
	}
	return s
}

var loopIndex = regexp.MustCompile(`\((\d+):[^()]*\)`)

// Steps reads every step execution off a Workflow's nodes, in the order
// they started.
//
// A step that the cache plugin checks first (Options.CachePlugin) is a
// DAG node holding the check (a Plugin node) and the run (the pod, or
// the Retry node of its pods). It is one step: Cached when the check hit
// (the run is then Skipped by its when), else what its run says, with the
// reason of a check that missed by a fault in its message.
func Steps(g *ir.Graph, wf *wfv1.Workflow) []StepRun {
	underRetry := map[string]bool{}
	checks := map[string]wfv1.NodeStatus{} // by the wrapper's node ID
	runs := map[string]wfv1.NodeStatus{}   // the same
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypeRetry {
			for _, c := range n.Children {
				underRetry[c] = true
			}
		}
		switch n.DisplayName {
		case checkTask:
			checks[n.BoundaryID] = n
		case runTask:
			runs[n.BoundaryID] = n
		}
	}
	byName := map[string]*StepRun{}
	var out []*StepRun
	add := func(s *StepRun) {
		if have, ok := byName[s.Name]; ok {
			// A condition's failure does not hide the step's own node.
			if have.State != report.Failed || s.State == report.Failed {
				*have = *s
			}
			return
		}
		byName[s.Name] = s
		out = append(out, s)
	}
	for _, n := range wf.Status.Nodes {
		task := taskOf(n.DisplayName)
		idx := loopIndexes(n.Name)
		var check *wfv1.NodeStatus // the plugin's check, when n runs a checked step
		switch task {
		case checkTask:
			continue // read with its run
		case runTask:
			w, ok := wf.Status.Nodes[n.BoundaryID]
			if !ok {
				continue
			}
			task = taskOf(w.DisplayName)
			if c, ok := checks[w.ID]; ok {
				check = &c
			}
		}
		cond, isCond := strings.CutPrefix(task, whenPrefix)
		switch {
		case isCond:
			// A failed condition fails its step; otherwise it is Sluice's own.
			if node := g.Node(cond); node != nil && (n.Phase == wfv1.NodeFailed || n.Phase == wfv1.NodeError) {
				for _, m := range commands(node) {
					add(&StepRun{StepRun: report.StepRun{Name: display(m.Name(), idx), State: report.Failed, Attempt: 1,
						Message: "when: " + kube.ExplainExit(n.Message), Time: n.FinishedAt.Time}})
				}
			}
			continue
		case n.Type == wfv1.NodeTypeSkipped:
			node := g.Node(StepOf(task))
			if node == nil {
				continue
			}
			if check != nil && n.Phase == wfv1.NodeSkipped {
				// The run's when is false only when the check hit.
				add(cachedRun(display(node.Name(), idx), *check))
				continue
			}
			msg := "when is false"
			if n.Phase == wfv1.NodeOmitted {
				msg = "not run: it needs a step that was skipped or failed"
			}
			if n.Phase == wfv1.NodeError {
				for _, m := range commands(node) {
					add(&StepRun{StepRun: report.StepRun{Name: display(m.Name(), idx), State: report.Failed, Message: kube.ExplainExit(n.Message), Time: n.FinishedAt.Time}})
				}
				continue
			}
			for _, m := range commands(node) {
				add(&StepRun{StepRun: report.StepRun{Name: display(m.Name(), idx), State: report.Skipped, Message: msg, Time: n.FinishedAt.Time}})
			}
			continue
		case failedWrapper(n, checks, runs):
			// A wrapper can fail with no run that failed: its outputs
			// could not be resolved, say.
			node := g.Node(StepOf(task))
			if node == nil || node.Step.IsGroup() {
				continue
			}
			msg := n.Message
			if msg == "" {
				msg = "the step's DAG is " + string(n.Phase)
			}
			add(&StepRun{StepRun: report.StepRun{Name: display(node.Name(), idx), State: report.Failed, Attempt: 1,
				Message: msg, Time: n.FinishedAt.Time, Started: n.StartedAt.Time}})
			continue
		case n.Type == wfv1.NodeTypeRetry, n.Type == wfv1.NodeTypePod && !underRetry[n.ID]:
		default:
			continue
		}
		node := g.Node(StepOf(task))
		if node == nil || node.Step.IsGroup() {
			continue
		}
		s := &StepRun{StepRun: report.StepRun{Name: display(node.Name(), idx), Attempt: 1, Time: n.StartedAt.Time, Started: n.StartedAt.Time}}
		s.Pods = []string{n.ID}
		last := n
		if n.Type == wfv1.NodeTypeRetry {
			s.Pods = nil
			failed, running := 0, false
			for _, id := range n.Children {
				c, ok := wf.Status.Nodes[id]
				if !ok {
					continue
				}
				s.Pods = append(s.Pods, id)
				last = c
				switch c.Phase {
				case wfv1.NodeFailed, wfv1.NodeError:
					failed++
				case wfv1.NodeRunning, wfv1.NodePending:
					running = true
				}
			}
			s.Attempt = max(1, len(s.Pods))
			if n.Phase == wfv1.NodeRunning && failed > 0 && !running {
				s.State, s.Attempt, s.Message, s.Time = report.Retrying, failed, kube.ExplainExit(last.Message), last.FinishedAt.Time
				add(s)
				continue
			}
		}
		switch n.Phase {
		case wfv1.NodePending, "":
			s.State = report.Pending
		case wfv1.NodeRunning:
			s.State = report.Running
		case wfv1.NodeSucceeded:
			s.State, s.Time = report.Succeeded, n.FinishedAt.Time
			s.Outputs = outputsOf(last)
			if s.Outputs[OutputCached] == "true" {
				s.State = report.Cached
			}
			delete(s.Outputs, OutputCached)
		case wfv1.NodeFailed, wfv1.NodeError:
			s.State, s.Message, s.Time = report.Failed, kube.ExplainExit(last.Message), n.FinishedAt.Time
		case wfv1.NodeSkipped, wfv1.NodeOmitted:
			s.State, s.Message, s.Time = report.Skipped, "not run", n.FinishedAt.Time
		}
		if s.Time.IsZero() {
			s.Time = n.StartedAt.Time
		}
		if why := checkFault(check); why != "" {
			s.Message = joinMessages(s.Message, "cache check: "+why)
		}
		add(s)
	}
	slices.SortStableFunc(out, func(a, b *StepRun) int { return report.CompareRuns(a.StepRun, b.StepRun) })
	res := make([]StepRun, len(out))
	for i, s := range out {
		res[i] = *s
	}
	return res
}

// failedWrapper reports whether n is the DAG node of a checked step that
// failed while its run did not fail (whose failure would say more).
func failedWrapper(n wfv1.NodeStatus, checks, runs map[string]wfv1.NodeStatus) bool {
	if _, ok := checks[n.ID]; !ok || n.Type != wfv1.NodeTypeDAG || !n.FailedOrError() {
		return false
	}
	run, ok := runs[n.ID]
	return !ok || !run.FailedOrError()
}

// cachedRun is a step that the plugin's check found in the cache: no pod
// ran, its outputs are the check's.
func cachedRun(name string, check wfv1.NodeStatus) *StepRun {
	outs := outputsOf(check)
	delete(outs, OutputCached)
	delete(outs, plugincheck.OutputFault)
	return &StepRun{StepRun: report.StepRun{Name: name, State: report.Cached, Attempt: 1,
		Time: check.FinishedAt.Time, Started: check.StartedAt.Time, Outputs: outs}}
}

// checkFault says why a check missed because of a fault, "" when it did
// not: the plugin returns the reason as plugincheck.OutputFault, and a check that
// failed or errored (no plugin answered, the agent pod failed) has
// Argo's message.
func checkFault(check *wfv1.NodeStatus) string {
	switch {
	case check == nil:
		return ""
	case check.Phase == wfv1.NodeFailed, check.Phase == wfv1.NodeError:
		if check.Message == "" {
			return string(check.Phase)
		}
		return check.Message
	}
	return outputsOf(*check)[plugincheck.OutputFault]
}

func joinMessages(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// taskOf is the task name in a node's display name: "train(2:0.1)(1)"
// is task train, iteration 2, attempt 1.
func taskOf(display string) string {
	if i := strings.IndexByte(display, '('); i >= 0 {
		return display[:i]
	}
	return display
}

// loopIndexes are the iteration numbers in a node's full name, outermost
// loop first.
func loopIndexes(name string) []int {
	var idx []int
	for _, m := range loopIndex.FindAllStringSubmatch(name, -1) {
		i, _ := strconv.Atoi(m[1])
		idx = append(idx, i)
	}
	return idx
}

func display(name string, idx []int) string {
	for _, i := range idx {
		name += "[" + strconv.Itoa(i) + "]"
	}
	return name
}

// commands lists the command steps a node stands for: itself, or a
// group's members at any depth.
func commands(n *ir.Node) []*ir.Node {
	if !n.Step.IsGroup() {
		return []*ir.Node{n}
	}
	var out []*ir.Node
	for _, c := range n.Children {
		out = append(out, commands(c)...)
	}
	return out
}

// outputsOf returns a finished step's outputs by name.
func outputsOf(n wfv1.NodeStatus) map[string]string {
	if n.Outputs == nil {
		return nil
	}
	out := map[string]string{}
	for _, p := range n.Outputs.Parameters {
		if p.Value != nil {
			out[p.Name] = p.Value.String()
		}
	}
	return out
}

// Summarize is the run summary of a finished (or current) Workflow, as
// `sluice run` writes it: each step's result, with outputs and keys.
func Summarize(p *ir.Pipeline, wf *wfv1.Workflow) *report.Summary {
	return report.Summarize(p.Metadata.Name, wf.Name, "argo", Snapshot(p.Graph(), wf))
}

// PipelineOf reads a compiled Workflow's steps back: every command step
// as its launcher spec holds it, groups, loops and onExit steps. It is
// enough for Tracker, Summarize and Logs when all that is known of a run
// is its name.
func PipelineOf(wf *wfv1.Workflow) *ir.Pipeline {
	tmpls := map[string]*wfv1.Template{}
	for i := range wf.Spec.Templates {
		tmpls[wf.Spec.Templates[i].Name] = &wf.Spec.Templates[i]
	}
	seen := map[string]bool{}
	var steps func(name string) []ir.Step
	stepOf := func(task wfv1.DAGTask) (ir.Step, bool) {
		t := tmpls[task.Template]
		if t == nil {
			return ir.Step{}, false
		}
		if t.DAG != nil && strings.HasPrefix(t.Name, loopPrefix) && len(t.DAG.Tasks) == 1 {
			task = t.DAG.Tasks[0]
			if t = tmpls[task.Template]; t == nil {
				return ir.Step{}, false
			}
		}
		s := ir.Step{Name: StepOf(task.Name)}
		if t.DAG != nil && !strings.HasPrefix(t.Name, wrapPrefix) {
			s.Group = &ir.Group{Steps: steps(t.Name)}
		} else {
			for _, a := range task.Arguments.Parameters {
				if a.Name != paramSpec || a.Value == nil {
					continue
				}
				if spec, err := launch.Decode(a.Value.String()); err == nil {
					s = spec.Step
				}
			}
		}
		if task.ShouldExpand() {
			items := ir.NewValue([]any{})
			s.ForEach = &ir.ForEach{Items: &items}
		}
		return s, s.Name != ""
	}
	steps = func(name string) []ir.Step {
		t := tmpls[name]
		if t == nil || t.DAG == nil || seen[name] {
			return nil
		}
		seen[name] = true
		var out []ir.Step
		for _, task := range t.DAG.Tasks {
			if strings.HasPrefix(task.Name, whenPrefix) {
				continue
			}
			if s, ok := stepOf(task); ok {
				out = append(out, s)
			}
		}
		return out
	}
	p := &ir.Pipeline{APIVersion: ir.APIVersion, Kind: ir.Kind, Metadata: ir.Metadata{Name: wf.Labels[LabelPipeline]}}
	p.Spec.Steps = steps(wf.Spec.Entrypoint)
	if wf.Spec.OnExit != "" {
		p.Spec.OnExit = steps(wf.Spec.OnExit)
	}
	return p
}
