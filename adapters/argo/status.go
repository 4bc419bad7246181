package argo

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

// Tracker turns successive states of a Workflow into the step events of
// internal/report, the same events a local run gives: one step per
// command step of the pipeline, "train[2]" for a loop's third iteration.
// It is pure: tests feed it Workflows.
type Tracker struct {
	g       *ir.Graph
	last    map[string]report.Event
	order   []string // display names in the order first seen
	started bool
}

// NewTracker returns a Tracker for runs of p.
func NewTracker(p *ir.Pipeline) *Tracker {
	return &Tracker{g: p.Graph(), last: map[string]report.Event{}}
}

// StepRun is what a Workflow says of one execution of a step.
type StepRun struct {
	Name    string // display name: "train", "train[2]"
	State   report.State
	Attempt int
	Message string
	Time    time.Time // of the latest change
	Outputs map[string]string
	Pods    []string // node IDs of its pods, one per attempt
}

// Update returns the events that bring an observer from the previous
// state of the run to wf: at first, Pending for every step that is not
// in a loop (a loop's iterations are known once it fans out).
func (t *Tracker) Update(wf *wfv1.Workflow) []report.Event {
	var evs []report.Event
	if !t.started {
		t.started = true
		for _, n := range t.g.All() {
			if !n.Step.IsGroup() && !n.InForEach() {
				evs = append(evs, t.emit(report.Event{Step: n.Name(), State: report.Pending, Time: wf.CreationTimestamp.Time})...)
			}
		}
	}
	steps := Steps(t.g, wf)
	for _, s := range steps {
		evs = append(evs, t.emit(report.Event{Step: s.Name, State: s.State, Attempt: s.Attempt, Message: s.Message, Time: s.Time})...)
	}
	if wf.Status.Phase.Completed() {
		// What never got a node did not run.
		for _, name := range t.order {
			last := t.last[name]
			if last.State.Done() {
				continue
			}
			ev := report.Event{Step: name, State: report.Skipped, Message: "not run", Time: wf.Status.FinishedAt.Time}
			if last.State == report.Running || last.State == report.Retrying {
				ev.State, ev.Attempt = report.Failed, last.Attempt
				ev.Message = fmt.Sprintf("not finished: the Workflow is %s", wf.Status.Phase)
				if wf.Status.Message != "" {
					ev.Message += ": " + wf.Status.Message
				}
			}
			evs = append(evs, t.emit(ev)...)
		}
	}
	return evs
}

// emit records e and returns it, unless it says nothing new.
func (t *Tracker) emit(e report.Event) []report.Event {
	last, seen := t.last[e.Step]
	if seen && last.State == e.State && last.Attempt == e.Attempt {
		return nil
	}
	if seen && last.State.Done() {
		return nil
	}
	if !seen {
		t.order = append(t.order, e.Step)
	}
	t.last[e.Step] = e
	return []report.Event{e}
}

var loopIndex = regexp.MustCompile(`\((\d+):[^()]*\)`)

// Steps reads every step execution off a Workflow's nodes, in the order
// they started.
func Steps(g *ir.Graph, wf *wfv1.Workflow) []StepRun {
	underRetry := map[string]bool{}
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypeRetry {
			for _, c := range n.Children {
				underRetry[c] = true
			}
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
		cond, isCond := strings.CutPrefix(task, whenPrefix)
		switch {
		case isCond:
			// A failed condition fails its step; otherwise it is Sluice's own.
			if node := g.Node(cond); node != nil && (n.Phase == wfv1.NodeFailed || n.Phase == wfv1.NodeError) {
				for _, m := range commands(node) {
					add(&StepRun{Name: display(m.Name(), idx), State: report.Failed, Attempt: 1,
						Message: "when: " + describe(n.Message), Time: n.FinishedAt.Time})
				}
			}
			continue
		case n.Type == wfv1.NodeTypeSkipped:
			node := g.Node(StepOf(task))
			if node == nil {
				continue
			}
			msg := "when is false"
			if n.Phase == wfv1.NodeOmitted {
				msg = "not run: it needs a step that was skipped or failed"
			}
			if n.Phase == wfv1.NodeError {
				for _, m := range commands(node) {
					add(&StepRun{Name: display(m.Name(), idx), State: report.Failed, Message: describe(n.Message), Time: n.FinishedAt.Time})
				}
				continue
			}
			for _, m := range commands(node) {
				add(&StepRun{Name: display(m.Name(), idx), State: report.Skipped, Message: msg, Time: n.FinishedAt.Time})
			}
			continue
		case n.Type == wfv1.NodeTypeRetry, n.Type == wfv1.NodeTypePod && !underRetry[n.ID]:
		default:
			continue
		}
		node := g.Node(StepOf(task))
		if node == nil || node.Step.IsGroup() {
			continue
		}
		s := &StepRun{Name: display(node.Name(), idx), Attempt: 1, Time: n.StartedAt.Time}
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
				s.State, s.Attempt, s.Message, s.Time = report.Retrying, failed, describe(last.Message), last.FinishedAt.Time
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
			s.State, s.Message, s.Time = report.Failed, describe(last.Message), n.FinishedAt.Time
		case wfv1.NodeSkipped, wfv1.NodeOmitted:
			s.State, s.Message, s.Time = report.Skipped, "not run", n.FinishedAt.Time
		}
		if s.Time.IsZero() {
			s.Time = n.StartedAt.Time
		}
		add(s)
	}
	slices.SortStableFunc(out, func(a, b *StepRun) int {
		if c := a.Time.Compare(b.Time); c != 0 && !a.Time.IsZero() && !b.Time.IsZero() {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	res := make([]StepRun, len(out))
	for i, s := range out {
		res[i] = *s
	}
	return res
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

var exitCode = regexp.MustCompile(`exit code (\d+)`)

// describe adds what the launcher's own exit codes mean to Argo's
// message about a failed pod.
func describe(msg string) string {
	m := exitCode.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	switch code, _ := strconv.Atoi(m[1]); code {
	case launch.ExitUsage:
		return msg + ": the launcher was called wrongly (sluice-exec version?)"
	case launch.ExitUnavailable:
		return msg + ": the store could not be opened, or an input not fetched"
	case launch.ExitOutputs:
		return msg + ": the outputs could not be read, stored or written"
	case launch.ExitTimeout:
		return msg + ": the step's timeout stopped the command"
	case launch.ExitNotRun:
		return msg + ": the command could not be started"
	}
	return msg
}

// Summarize is the run summary of a finished (or current) Workflow, as
// `sluice run` writes it: each step's result, with outputs and keys.
func Summarize(p *ir.Pipeline, wf *wfv1.Workflow) *report.Summary {
	t := NewTracker(p)
	c := report.NewCollector()
	for _, e := range t.Update(wf) {
		c.Event(e)
	}
	sum := c.Summary(p.Metadata.Name, wf.Name, "argo")
	switch wf.Status.Phase {
	case wfv1.WorkflowSucceeded:
		sum.Status = report.Succeeded
	default:
		sum.Status = report.Failed
	}
	if !wf.Status.StartedAt.IsZero() {
		sum.Started = wf.Status.StartedAt.Time
	}
	if !wf.Status.FinishedAt.IsZero() {
		sum.Finished = wf.Status.FinishedAt.Time
	}
	for _, s := range Steps(p.Graph(), wf) {
		if r := sum.Step(s.Name); r != nil {
			r.Outputs = s.Outputs
			if s.Attempt > r.Attempts {
				r.Attempts = s.Attempt
			}
		}
	}
	return sum
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
		if t.DAG != nil {
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
