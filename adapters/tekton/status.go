package tekton

import (
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"knative.dev/pkg/apis"

	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// succeeded is the condition Tekton keeps a run's state in.
const succeeded = apis.ConditionSucceeded

// Tracker turns successive states of a run into the step events of
// internal/report, the same events a local run gives: one step per
// command step of the pipeline, "train[2]" for a loop's third iteration
// (a matrix's TaskRun, an iteration of a loop CachedStep, or an unrolled
// iteration's task). Condition tasks
// are Sluice's own and show only when one fails, as a failure of the
// step it decides. It is pure: tests feed it Runs.
type Tracker struct {
	g *ir.Graph
	t *report.Tracker
}

// NewTracker returns a Tracker for runs of p.
func NewTracker(p *ir.Pipeline) *Tracker {
	return &Tracker{g: p.Graph(), t: report.NewTracker()}
}

// Update returns the events that bring an observer from the previous
// state of the run to r.
func (t *Tracker) Update(r *Run) []report.Event { return t.t.Update(Snapshot(t.g, r)) }

// StepRun is what a run says of one execution of a step.
type StepRun struct {
	report.StepRun
	Container string   // of the step's command, in each pod
	Pods      []string // one per attempt; "" for an attempt without a pod yet
}

// Snapshot is what a PipelineRun and its TaskRuns say of the run: at
// first Pending for every step that has a task of its own (a loop over
// a step is a matrix, whose TaskRuns are known once it fans out, or a
// CachedStep, whose iterations are known once it starts).
func Snapshot(g *ir.Graph, r *Run) *report.Snapshot {
	pr := r.PipelineRun
	s := &report.Snapshot{
		Created:   pr.CreationTimestamp.Time,
		Ended:     r.Done(),
		Succeeded: r.Succeeded(),
		Why:       "the PipelineRun is " + r.Phase(),
	}
	if m := r.Message(); m != "" {
		s.Why += ": " + m
	}
	if t := pr.Status.StartTime; t != nil {
		s.Started = t.Time
	}
	if t := pr.Status.CompletionTime; t != nil {
		s.Finished = t.Time
	}
	runs := taskRunsByTask(r)
	tasks := tasksOf(r, runs)
	seen := map[string]bool{}
	for _, pt := range pipelineTasks(r) {
		t := tasks[pt.Name]
		if name := t.display(); !t.cond && !t.internal && pt.Matrix == nil && t.loop == nil && !seen[name] {
			seen[name] = true
			s.Pending = append(s.Pending, name)
		}
	}
	for _, sr := range steps(g, r, tasks, runs) {
		s.Runs = append(s.Runs, sr.StepRun)
	}
	return s
}

// Summarize is the run summary of a finished (or current) run, as
// `sluice run` writes it: each step's result, with its outputs.
func Summarize(p *ir.Pipeline, r *Run) *report.Summary {
	return report.Summarize(p.Metadata.Name, r.PipelineRun.Name, "tekton", Snapshot(p.Graph(), r))
}

// Steps reads every step execution off a run's TaskRuns and the
// PipelineRun's skipped tasks, in the order they started.
func Steps(g *ir.Graph, r *Run) []StepRun {
	runs := taskRunsByTask(r)
	return steps(g, r, tasksOf(r, runs), runs)
}

func steps(g *ir.Graph, r *Run, tasks map[string]*task, runs map[string][]*v1.TaskRun) []StepRun {
	crs, children := customRunsByTask(r), childTaskRuns(r)
	index := map[string]int{}
	var out []StepRun
	add := func(s StepRun) {
		i, ok := index[s.Name]
		if !ok {
			index[s.Name] = len(out)
			out = append(out, s)
			return
		}
		// A condition's failure is not hidden by the step's own task;
		// of an onExit step's tasks (one per outcome), the one that ran
		// wins over the one skipped.
		if have := out[i]; have.State == report.Failed && s.State != report.Failed ||
			s.State == report.Skipped && have.State != report.Skipped {
			return
		}
		out[i] = s
	}
	for _, pt := range pipelineTasks(r) {
		t := tasks[pt.Name]
		verdicts, filter := filtered(t, runs)
		for i, run := range verdicts {
			if !run && !t.cond && !t.internal {
				add(StepRun{StepRun: report.StepRun{Name: t.display() + "[" + strconv.Itoa(i) + "]", State: report.Skipped,
					Message: "when is false", Time: completion(filter)}})
			}
		}
		if t.cached {
			for _, cr := range crs[pt.Name] {
				if t.loop == nil {
					add(cachedExecution(t.display(), cr, children[cr.Name]))
					continue
				}
				for _, s := range cachedIterations(t.display(), cr, children[cr.Name]) {
					add(s)
				}
			}
			continue
		}
		for _, tr := range runs[pt.Name] {
			switch {
			case t.internal:
			case t.cond:
				c := tr.Status.GetCondition(succeeded)
				if !c.IsFalse() {
					continue // it decided: Sluice's own
				}
				for _, name := range t.decides(g) {
					add(StepRun{StepRun: report.StepRun{Name: name, State: report.Failed, Attempt: 1,
						Message: "when: " + failure(c), Time: completion(tr)}})
				}
			case verdicts != nil:
				add(execution(t.display()+keptIndex(verdicts, tr), tr))
			default:
				add(execution(t.display()+matrixIndex(pt, tr), tr))
			}
		}
	}
	for _, st := range r.PipelineRun.Status.SkippedTasks {
		t := tasks[st.Name]
		if t == nil || t.cond || t.internal {
			continue
		}
		if msg, ok := skipReason(st, t, tasks, runs, g); ok {
			add(StepRun{StepRun: report.StepRun{Name: t.display(), State: report.Skipped, Message: msg, Time: skipTime(t, runs, r)}})
		}
	}
	slices.SortStableFunc(out, func(a, b StepRun) int { return report.CompareRuns(a.StepRun, b.StepRun) })
	return out
}

// execution is the execution of a step that one TaskRun shows, with
// the attempts Tekton retried it for.
func execution(name string, tr *v1.TaskRun) StepRun {
	st := &tr.Status
	s := StepRun{StepRun: report.StepRun{Name: name, State: report.Pending, Attempt: len(st.RetriesStatus), Time: tr.CreationTimestamp.Time}}
	s.Container = "step-" + stepRun
	for _, step := range st.Steps {
		if step.Name == stepRun && step.Container != "" {
			s.Container = step.Container
		}
	}
	for _, prev := range st.RetriesStatus {
		s.Pods = append(s.Pods, prev.PodName)
		if prev.StartTime != nil && s.Started.IsZero() {
			s.Started = prev.StartTime.Time
		}
	}
	s.Pods = append(s.Pods, st.PodName)
	if st.StartTime != nil && s.Started.IsZero() {
		s.Started = st.StartTime.Time
	}
	c := st.GetCondition(succeeded)
	if c.IsTrue() || c.IsFalse() || c != nil && c.Reason == v1.TaskRunReasonRunning.String() {
		s.Attempt++
	}
	switch {
	case c.IsTrue():
		s.State, s.Time = report.Succeeded, completion(tr)
		s.Outputs = outputs(st.Results)
		if s.Outputs[launch.CachedFile] == "true" {
			s.State = report.Cached
		}
		delete(s.Outputs, launch.CachedFile)
		delete(s.Outputs, launch.IndexFile)
	case c.IsFalse():
		s.State, s.Message, s.Time = report.Failed, failure(c), completion(tr)
	case c == nil:
	case c.Reason == v1.TaskRunReasonToBeRetried.String() && len(st.RetriesStatus) > 0:
		prev := &st.RetriesStatus[len(st.RetriesStatus)-1]
		s.State, s.Attempt = report.Retrying, len(st.RetriesStatus)
		if pc := prev.GetCondition(succeeded); pc != nil {
			s.Message = failure(pc)
		}
		if prev.CompletionTime != nil {
			s.Time = prev.CompletionTime.Time
		}
	case c.Reason == v1.TaskRunReasonRunning.String():
		s.State = report.Running
		if st.StartTime != nil {
			s.Time = st.StartTime.Time
		}
	}
	return s
}

// failure is what a failed TaskRun's condition says, with what the
// launcher's exit code means; Tekton's reason leads unless it is the
// plain "Failed" ("TaskRunTimeout: …", "TaskRunCancelled: …").
func failure(c *apis.Condition) string {
	msg := kube.ExplainExit(c.Message)
	switch {
	case msg == "":
		return c.Reason
	case c.Reason == "" || c.Reason == v1.TaskRunReasonFailed.String():
		return msg
	}
	return c.Reason + ": " + msg
}

// completion is when a TaskRun ended.
func completion(tr *v1.TaskRun) time.Time {
	if tr.Status.CompletionTime != nil {
		return tr.Status.CompletionTime.Time
	}
	return tr.CreationTimestamp.Time
}

// outputs maps a TaskRun's results back to the outputs they hold (see
// resultName).
func outputs(results []v1.TaskRunResult) map[string]string {
	if len(results) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, r := range results {
		out[outputName(r.Name)] = r.Value.StringVal
	}
	return out
}

// outputName is the output a result holds: resultName's inverse.
func outputName(result string) string {
	if h, ok := strings.CutPrefix(result, ir.ReservedPrefix+"-"); ok {
		if b, err := hex.DecodeString(h); err == nil {
			return string(b)
		}
	}
	return result
}

// skipReason says why Tekton skipped a step's task, as a local run
// would: "when is false" for the step's own condition (or its group's),
// "not run: …" for a step that needed a skipped one. ok is false for the
// task of an onExit step compiled for the other outcome of the run.
func skipReason(st v1.SkippedTask, t *task, tasks map[string]*task, runs map[string][]*v1.TaskRun, g *ir.Graph) (msg string, ok bool) {
	const needs = "not run: it needs a step that was skipped or failed"
	switch st.Reason {
	case v1.WhenExpressionsSkip:
	case v1.ParentTasksSkip:
		return needs, true
	default:
		return "not run: " + string(st.Reason), true
	}
	own, other, status := false, false, false
	for _, w := range t.pt.When {
		switch {
		case w.Input == conditionNever:
			own = true
		case w.Input == tasksStatus:
			status = true
		default:
			name := conditionOf(w.Input)
			if v := conditionResult(runs[name]); v == conditionTrue {
				continue
			} else if ct := tasks[name]; ct != nil && v == conditionNever && ct.decidesFor(t, g) {
				own = true
			} else {
				other = true
			}
		}
	}
	switch {
	case own:
		return "when is false", true
	case other:
		return needs, true
	case status && t.final:
		return "", false
	}
	return "when is false", true
}

// skipTime is when Tekton skipped a task, which it does not record: when
// the last of the conditions it waited for ended, else the latest change
// of the run seen.
func skipTime(t *task, runs map[string][]*v1.TaskRun, r *Run) time.Time {
	var latest time.Time
	for _, w := range t.pt.When {
		for _, tr := range runs[conditionOf(w.Input)] {
			if c := completion(tr); c.After(latest) {
				latest = c
			}
		}
	}
	if !latest.IsZero() {
		return latest
	}
	if st := r.PipelineRun.Status.StartTime; st != nil {
		latest = st.Time
	}
	for _, tr := range r.TaskRuns {
		if c := completion(tr); c.After(latest) {
			latest = c
		}
	}
	return latest
}

// conditionOf is the condition task a `when` input reads the result of:
// $(tasks.NAME.results.sluice-when).
func conditionOf(input string) string {
	s, _ := strings.CutPrefix(input, "$(tasks.")
	s, _ = strings.CutSuffix(s, ".results."+resultOK+")")
	return s
}

// conditionResult is what a condition task said: "true", "false", or ""
// when it has not.
func conditionResult(trs []*v1.TaskRun) string {
	for _, tr := range trs {
		for _, r := range tr.Status.Results {
			if r.Name == resultOK {
				return r.Value.StringVal
			}
		}
	}
	return ""
}

// task is what Sluice compiled a pipeline task from.
type task struct {
	pt *v1.PipelineTask
	// step is the pipeline step the task runs; for a condition, the step
	// or group whose `when` it decides.
	step     string
	idx      []int // iterations of the enclosing loops, outermost first
	cond     bool
	internal bool // stands for no step (a pipeline whose loops are all empty)
	final    bool
	cached   bool // runs as a CachedStep CustomRun (the cache plugin)
	// loop is the loop a CachedStep runs (a loop over one step); nil for
	// one that runs the step once.
	loop *cachedstep.Loop
}

// display is the name the task's step shows under: "train", "train[1]".
func (t *task) display() string {
	_, d := ctxSuffix(t.idx)
	return t.step + d
}

// decides lists the steps a failed condition fails: its step, or every
// command step of its group.
func (t *task) decides(g *ir.Graph) []string {
	n := g.Node(t.step)
	if n == nil || !n.Step.IsGroup() {
		return []string{t.display()}
	}
	_, d := ctxSuffix(t.idx)
	var out []string
	for _, m := range g.All() {
		if !m.Step.IsGroup() && within(m, n) {
			out = append(out, m.Name()+d)
		}
	}
	return out
}

// decidesFor reports whether condition t is o's own: o's step's or an
// enclosing group's, in the same iteration.
func (t *task) decidesFor(o *task, g *ir.Graph) bool {
	if len(t.idx) > len(o.idx) || !slices.Equal(t.idx, o.idx[:len(t.idx)]) {
		return false
	}
	if t.step == o.step {
		return true
	}
	c, n := g.Node(t.step), g.Node(o.step)
	return c != nil && n != nil && within(n, c)
}

// within reports whether group g encloses n.
func within(n, g *ir.Node) bool {
	for a := n.Parent; a != nil; a = a.Parent {
		if a == g {
			return true
		}
	}
	return false
}

// pipelineSpec is the pipeline a run runs: embedded in the PipelineRun,
// or as Tekton resolved a pipelineRef.
func pipelineSpec(pr *v1.PipelineRun) *v1.PipelineSpec {
	if pr.Spec.PipelineSpec != nil {
		return pr.Spec.PipelineSpec
	}
	if pr.Status.PipelineSpec != nil {
		return pr.Status.PipelineSpec
	}
	return &v1.PipelineSpec{}
}

// pipelineTasks are the run's tasks, then its finally tasks.
func pipelineTasks(r *Run) []*v1.PipelineTask {
	spec := pipelineSpec(r.PipelineRun)
	var out []*v1.PipelineTask
	for i := range spec.Tasks {
		out = append(out, &spec.Tasks[i])
	}
	for i := range spec.Finally {
		out = append(out, &spec.Finally[i])
	}
	return out
}

// tasksOf reads what each pipeline task of a run was compiled from, by
// its name; runs are the run's TaskRuns by task, for the Tasks that are
// referenced rather than embedded.
func tasksOf(r *Run, runs map[string][]*v1.TaskRun) map[string]*task {
	spec := pipelineSpec(r.PipelineRun)
	out := map[string]*task{}
	children := childTaskRuns(r)
	var crs map[string][]*v1beta1.CustomRun
	for i, pt := range pipelineTasks(r) {
		ts, cached := embeddedTask(pt)
		trs := runs[pt.Name]
		if cached {
			if crs == nil {
				crs = customRunsByTask(r)
			}
			trs = nil
			for _, cr := range crs[pt.Name] {
				trs = append(trs, children[cr.Name]...)
			}
		}
		for _, tr := range trs {
			if ts == nil && tr.Status.TaskSpec != nil {
				ts = tr.Status.TaskSpec // a Task by reference, as Tekton read it
			}
		}
		t := taskOf(pt, ts)
		t.final = i >= len(spec.Tasks)
		t.cached = cached
		t.loop = loopOf(pt)
		out[pt.Name] = t
	}
	return out
}

// embeddedTask is the Task a pipeline task embeds, itself or in its
// CachedStep (nil when it references one); cached says it is a CachedStep.
func embeddedTask(pt *v1.PipelineTask) (ts *v1.TaskSpec, cached bool) {
	if cs, err := cachedstep.OfPipelineTask(pt); cs != nil || err != nil {
		if cs == nil {
			return nil, true
		}
		return cs.TaskSpec, true
	}
	if pt.TaskSpec != nil {
		return &pt.TaskSpec.TaskSpec, false
	}
	return nil, false
}

// loopOf is the loop a pipeline task's CachedStep runs, nil when it runs
// none.
func loopOf(pt *v1.PipelineTask) *cachedstep.Loop {
	if cs, _ := cachedstep.OfPipelineTask(pt); cs != nil {
		return cs.Loop
	}
	return nil
}

// taskOf reads a pipeline task: the step from the launcher's spec in
// its Task when there is one, else from its display name ("train[1]";
// "train[1] when", "train items" for the tasks Sluice adds to decide a
// step's condition or its loop's items), else its name; the iterations
// from its display name. A task whose Task runs `sluice-exec when` is a
// condition.
func taskOf(pt *v1.PipelineTask, ts *v1.TaskSpec) *task {
	t := &task{pt: pt, internal: strings.HasPrefix(pt.Name, ir.ReservedPrefix)}
	d, _, cond := strings.Cut(pt.DisplayName, " ")
	t.cond = cond
	if i := strings.IndexByte(d, '['); i >= 0 {
		for _, part := range strings.Split(strings.TrimSuffix(d[i+1:], "]"), "][") {
			n, err := strconv.Atoi(part)
			if err != nil {
				t.idx = nil
				break
			}
			t.idx = append(t.idx, n)
		}
		d = d[:i]
	}
	t.step = d
	if ts != nil {
		for _, s := range ts.Steps {
			switch s.Name {
			case stepWhen:
				t.cond = true
			case stepRun:
				if spec := launcherSpec(s.Args); spec != nil {
					t.step = spec.Step.Name
				}
			}
		}
	}
	if t.step == "" {
		t.step = pt.Name
		if i := strings.LastIndexByte(pt.Name, '-'); t.cond && i > 0 {
			t.step = pt.Name[:i] // NAME-when, NAME-items
		}
	}
	return t
}

// launcherSpec decodes the step a launcher's command line runs, or
// returns nil.
func launcherSpec(args []string) *launch.Spec {
	for _, a := range args {
		if b64, ok := strings.CutPrefix(a, "--spec-b64="); ok {
			if spec, err := launch.Decode(b64); err == nil {
				return spec
			}
		}
	}
	return nil
}

// taskRunsByTask groups a run's TaskRuns by their pipeline task, each
// group in the order of their names (a matrix's: NAME-0, NAME-1, …).
func taskRunsByTask(r *Run) map[string][]*v1.TaskRun {
	owner := map[string]string{}
	for _, ref := range r.PipelineRun.Status.ChildReferences {
		if ref.Kind == pipeline.TaskRunControllerName {
			owner[ref.Name] = ref.PipelineTaskName
		}
	}
	out := map[string][]*v1.TaskRun{}
	for _, tr := range r.TaskRuns {
		if customRunOf(tr) != "" {
			continue // a CachedStep's: see childTaskRuns
		}
		pt := tr.Labels[pipeline.PipelineTaskLabelKey]
		if pt == "" {
			pt = owner[tr.Name]
		}
		out[pt] = append(out[pt], tr)
	}
	for _, trs := range out {
		sort.Slice(trs, func(i, j int) bool { return lessName(trs[i].Name, trs[j].Name) })
	}
	return out
}

// lessName orders names with numbers in them as numbers: x-2 before
// x-10.
func lessName(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// matrixIndex is how a matrix's TaskRun shows its iteration, "[2]": the
// name Sluice gave its combination (the item's index), found by the
// TaskRun's parameters, else by Tekton's naming of the i-th TaskRun
// NAME-i. It is "" for a task that is not a matrix.
func matrixIndex(pt *v1.PipelineTask, tr *v1.TaskRun) string {
	if pt.Matrix == nil {
		return ""
	}
	inc := pt.Matrix.Include
	for _, c := range inc {
		if c.Name != "" && hasParams(tr.Spec.Params, c.Params) {
			return "[" + c.Name + "]"
		}
	}
	if i := strings.LastIndexByte(tr.Name, '-'); i >= 0 {
		if n, err := strconv.Atoi(tr.Name[i+1:]); err == nil {
			if n < len(inc) && inc[n].Name != "" {
				return "[" + inc[n].Name + "]"
			}
			return "[" + strconv.Itoa(n) + "]"
		}
	}
	return ""
}

// filtered returns, for a loop over a filter task's items (a loop whose
// items are known at run time: a matrix over them, or a loop CachedStep
// that takes them as a parameter), the filter's verdict on every item and
// its TaskRun; nil when t is no such loop or its filter has not written
// them.
func filtered(t *task, runs map[string][]*v1.TaskRun) ([]bool, *v1.TaskRun) {
	var items v1.ParamValue
	switch pt := t.pt; {
	case pt.Matrix != nil && len(pt.Matrix.Params) == 1:
		items = pt.Matrix.Params[0].Value
	case t.loop != nil && t.loop.ItemsParam != "":
		for _, p := range pt.Params {
			if p.Name == t.loop.ItemsParam && len(p.Value.ArrayVal) == 1 {
				items = *v1.NewStructuredValues(p.Value.ArrayVal[0])
			}
		}
	default:
		return nil, nil
	}
	ref, ok := strings.CutPrefix(items.StringVal, "$(tasks.")
	if !ok {
		return nil, nil
	}
	filter, ok := strings.CutSuffix(ref, ".results."+resultKept+"[*])")
	if !ok {
		filter, ok = strings.CutSuffix(ref, ".results."+resultItems+"[*])")
	}
	if !ok {
		return nil, nil
	}
	for _, tr := range runs[filter] {
		for _, res := range tr.Status.Results {
			var verdicts []bool
			if res.Name == resultRuns && json.Unmarshal([]byte(res.Value.StringVal), &verdicts) == nil {
				return verdicts, tr
			}
		}
	}
	return nil, nil
}

// keptIndex is how a TaskRun of a filtered matrix shows its iteration:
// "[i]", i its item's index, which its item carries (INDEX:BASE64, the
// filter's resultKept); else, for the n-th TaskRun (Tekton names it
// NAME-n unless it is the only one), the index of the n-th item that
// runs.
func keptIndex(verdicts []bool, tr *v1.TaskRun) string {
	for _, p := range tr.Spec.Params {
		if p.Name != paramItem {
			continue
		}
		if i, _, ok := strings.Cut(p.Value.StringVal, ":"); ok {
			if n, err := strconv.Atoi(i); err == nil && n >= 0 && n < len(verdicts) {
				return "[" + i + "]"
			}
		}
	}
	i := strings.LastIndexByte(tr.Name, '-')
	if i < 0 {
		return ""
	}
	n, err := strconv.Atoi(tr.Name[i+1:])
	if err != nil {
		return ""
	}
	for idx, run := range verdicts {
		if run {
			if n == 0 {
				return "[" + strconv.Itoa(idx) + "]"
			}
			n--
		}
	}
	return ""
}

// hasParams reports whether have holds every string parameter of want.
func hasParams(have, want v1.Params) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h.Name == w.Name && h.Value.StringVal == w.Value.StringVal {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// PipelineOf reads a compiled PipelineRun's steps back: every command
// step as its launcher spec holds it (matrix steps as loops), the finally
// tasks as onExit steps. Groups are not recorded in a PipelineRun: their
// members come back as top-level steps. It is enough for Tracker,
// Summarize and Logs when all that is known of a run is its name.
func PipelineOf(pr *v1.PipelineRun) *ir.Pipeline {
	p := &ir.Pipeline{APIVersion: ir.APIVersion, Kind: ir.Kind, Metadata: ir.Metadata{Name: strings.TrimSuffix(pr.GenerateName, "-")}}
	if p.Metadata.Name == "" {
		p.Metadata.Name = pr.Name
	}
	spec := pipelineSpec(pr)
	seen := map[string]bool{}
	steps := func(pts []v1.PipelineTask) []ir.Step {
		var out []ir.Step
		for i := range pts {
			pt := &pts[i]
			ts, _ := embeddedTask(pt)
			t := taskOf(pt, ts)
			if t.cond || t.internal || seen[t.step] {
				continue
			}
			seen[t.step] = true
			s := ir.Step{Name: t.step}
			if ts != nil {
				for _, st := range ts.Steps {
					if spec := launcherSpec(st.Args); st.Name == stepRun && spec != nil {
						s = spec.Step
						p.Metadata.Name = spec.Pipeline
					}
				}
			}
			if pt.Matrix != nil || loopOf(pt) != nil {
				items := ir.NewValue([]any{})
				s.ForEach = &ir.ForEach{Items: &items}
			}
			out = append(out, s)
		}
		return out
	}
	p.Spec.Steps = steps(spec.Tasks)
	p.Spec.OnExit = steps(spec.Finally)
	return p
}
