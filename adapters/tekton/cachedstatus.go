package tekton

import (
	"sort"
	"strconv"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// cachedExecution is the execution of a step that a CachedStep CustomRun
// shows: Cached when the controller found it in the cache (no pod), else
// the state of the TaskRun it runs the step in (one per attempt, whose
// pods hold the logs). A lookup that failed for a fault of the cache
// (not for want of an entry) says why in the step's message: the step
// ran all the same.
func cachedExecution(name string, cr *v1beta1.CustomRun, children []*v1.TaskRun) StepRun {
	st := &cr.Status
	s := StepRun{StepRun: report.StepRun{Name: name, State: report.Pending, Attempt: len(st.RetriesStatus), Time: cr.CreationTimestamp.Time}}
	s.Container = "step-" + stepRun
	attempts := map[string]*v1.TaskRun{}
	for _, tr := range children {
		attempts[tr.Name] = tr
	}
	// One pod per attempt that ran a TaskRun, in order.
	var current *v1.TaskRun
	for i := range len(st.RetriesStatus) + 1 {
		rec := cachedstep.StatusOf(st)
		if i < len(st.RetriesStatus) {
			rec = cachedstep.StatusOf(&st.RetriesStatus[i])
		}
		tr := attempts[rec.TaskRun]
		if tr == nil {
			if rec.TaskRun != "" {
				s.Pods = append(s.Pods, "")
			}
			continue
		}
		s.Pods = append(s.Pods, tr.Status.PodName)
		for _, step := range tr.Status.Steps {
			if step.Name == stepRun && step.Container != "" {
				s.Container = step.Container
			}
		}
		if i == len(st.RetriesStatus) {
			current = tr
		}
	}
	first := st.StartTime
	if len(st.RetriesStatus) > 0 {
		first = st.RetriesStatus[0].StartTime
	}
	if first != nil {
		s.Started = first.Time
	}
	rec := cachedstep.StatusOf(st)
	why := ""
	if rec.Lookup == cachedstep.Fault {
		why = rec.Message
	}
	c := st.GetCondition(succeeded)
	running := false // the current attempt's TaskRun
	if current != nil {
		cc := current.Status.GetCondition(succeeded)
		running = cc != nil && cc.Reason == v1.TaskRunReasonRunning.String()
	}
	if c.IsTrue() || c.IsFalse() || running {
		s.Attempt++
	}
	end := cr.CreationTimestamp.Time
	if st.CompletionTime != nil {
		end = st.CompletionTime.Time
	}
	switch {
	case c.IsTrue():
		s.State, s.Time, s.Message = report.Succeeded, end, why
		results := map[string]string{}
		for _, r := range st.Results {
			results[r.Name] = r.Value
		}
		if current != nil && current.Status.GetCondition(succeeded).IsTrue() {
			// The values as the launcher wrote them (the CustomRun's may
			// be value refs of them).
			for _, r := range current.Status.Results {
				results[r.Name] = resultText(r.Value)
			}
		}
		s.Outputs = map[string]string{}
		for k, v := range results {
			s.Outputs[outputName(k)] = v
		}
		if c.Reason == cachedstep.ReasonCached || s.Outputs[launch.CachedFile] == "true" {
			s.State = report.Cached
		}
		delete(s.Outputs, launch.CachedFile)
		if len(s.Outputs) == 0 {
			s.Outputs = nil
		}
	case c.IsFalse():
		s.State, s.Message, s.Time = report.Failed, failure(c), end
		if why != "" {
			s.Message += " (" + why + ")"
		}
	case c == nil:
	case c.Reason == cachedstep.ReasonToBeRetried && len(st.RetriesStatus) > 0:
		prev := &st.RetriesStatus[len(st.RetriesStatus)-1]
		s.State = report.Retrying
		if pc := prev.GetCondition(succeeded); pc != nil {
			s.Message = failure(pc)
		}
		if prev.CompletionTime != nil {
			s.Time = prev.CompletionTime.Time
		}
	case running:
		s.State, s.Message = report.Running, why
		if current.Status.StartTime != nil {
			s.Time = current.Status.StartTime.Time
		}
	}
	return s
}

// cachedIterations are the executions of a loop CachedStep's iterations,
// each as the CustomRun of that iteration alone would show
// (cachedExecution) under its item's index: "train[2]". An iteration that
// never started once the CustomRun ended (an iteration failed, or it was
// cancelled) is Skipped. Before its first reconcile, a loop shows no
// iteration, as a matrix none before it fans out.
func cachedIterations(name string, cr *v1beta1.CustomRun, children []*v1.TaskRun) []StepRun {
	st := cachedstep.StatusOf(&cr.Status)
	c := cr.Status.GetCondition(succeeded)
	ended := c.IsTrue() || c.IsFalse()
	if len(st.Iterations) == 0 && c.IsFalse() {
		// Refused before it started (InvalidCachedStep): the step failed.
		return []StepRun{cachedExecution(name, cr, children)}
	}
	var out []StepRun
	for n, it := range st.Iterations {
		one := &v1beta1.CustomRun{ObjectMeta: cr.ObjectMeta, Status: it.Status}
		if len(one.Status.Results) == 0 && c.IsTrue() {
			// A loop that succeeded keeps its iterations' results
			// aggregated only.
			one.Status.Results = cachedstep.Element(cr.Status.Results, n)
		}
		s := cachedExecution(name+"["+strconv.Itoa(it.Index)+"]", one, children)
		if it.Status.StartTime == nil && ended {
			s.State, s.Message = report.Skipped, "not run: "+failure(c)
			if t := cr.Status.CompletionTime; t != nil {
				s.Time = t.Time
			}
		}
		out = append(out, s)
	}
	return out
}

// resultText is a result's value as text: a string as it is, others as
// JSON.
func resultText(v v1.ResultValue) string {
	if v.Type == v1.ParamTypeString || v.Type == "" {
		return v.StringVal
	}
	b, _ := v.MarshalJSON()
	return string(b)
}

// customRunOf names the CustomRun that owns a TaskRun, "" for one that a
// PipelineRun owns.
func customRunOf(tr *v1.TaskRun) string {
	for _, ref := range tr.OwnerReferences {
		if ref.Controller != nil && *ref.Controller && ref.Kind == pipeline.CustomRunControllerName {
			return ref.Name
		}
	}
	return ""
}

// childTaskRuns are the TaskRuns of a run's CachedSteps, by CustomRun,
// each group in the order of their names (NAME-0, NAME-1, …: attempts).
func childTaskRuns(r *Run) map[string][]*v1.TaskRun {
	out := map[string][]*v1.TaskRun{}
	for _, tr := range r.TaskRuns {
		if cr := customRunOf(tr); cr != "" {
			out[cr] = append(out[cr], tr)
		}
	}
	for _, trs := range out {
		sort.Slice(trs, func(i, j int) bool { return lessName(trs[i].Name, trs[j].Name) })
	}
	return out
}

// customRunsByTask groups a run's CustomRuns by their pipeline task.
func customRunsByTask(r *Run) map[string][]*v1beta1.CustomRun {
	owner := map[string]string{}
	for _, ref := range r.PipelineRun.Status.ChildReferences {
		if ref.Kind == pipeline.CustomRunControllerName {
			owner[ref.Name] = ref.PipelineTaskName
		}
	}
	out := map[string][]*v1beta1.CustomRun{}
	for _, cr := range r.CustomRuns {
		pt := cr.Labels[pipeline.PipelineTaskLabelKey]
		if pt == "" {
			pt = owner[cr.Name]
		}
		out[pt] = append(out[pt], cr)
	}
	for _, crs := range out {
		sort.Slice(crs, func(i, j int) bool { return lessName(crs[i].Name, crs[j].Name) })
	}
	return out
}
