package tekton

import (
	"fmt"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// typeMeta of each kind, so that printed objects say what they are.
var (
	taskType        = metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "Task"}
	pipelineType    = metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "Pipeline"}
	pipelineRunType = metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "PipelineRun"}
)

// objects renders the units as the objects Options.Emit asks for.
func (c *compiler) objects() (*Objects, error) {
	name := c.p.Metadata.Name
	meta := func(n string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: n, Namespace: c.opts.Namespace, Labels: copyLabels(c.p.Metadata.Labels)}
	}
	spec := &v1.PipelineSpec{}
	out := &Objects{}
	tasks := taskNames{prefix: name, used: map[string]bool{}}
	render := func(units []*unit) ([]v1.PipelineTask, error) {
		var pts []v1.PipelineTask
		for _, u := range units {
			pt, ts, err := c.pipelineTask(u)
			if err != nil {
				return nil, fmt.Errorf("task %s: %w", u.name, err)
			}
			var ref *v1.TaskRef
			if c.opts.Emit == EmitPipeline {
				t := tasks.task(u, ts, meta)
				if t.new {
					out.Tasks = append(out.Tasks, t.task)
				}
				ref = &v1.TaskRef{Name: t.task.Name, Kind: v1.NamespacedTaskKind}
			}
			switch {
			case c.cached(u):
				if err := c.cachedStep(u, &pt, ts, ref); err != nil {
					return nil, fmt.Errorf("task %s: %w", u.name, err)
				}
			case ref != nil:
				pt.TaskRef = ref
			default:
				pt.TaskSpec = &v1.EmbeddedTask{TaskSpec: ts}
			}
			pts = append(pts, pt)
		}
		return pts, nil
	}
	var err error
	if spec.Tasks, err = render(c.units); err != nil {
		return nil, err
	}
	if spec.Finally, err = render(c.finals); err != nil {
		return nil, err
	}

	run := &v1.PipelineRun{TypeMeta: pipelineRunType, ObjectMeta: meta("")}
	run.GenerateName = name + "-"
	// A pipeline has no timeout of its own: each step's is its own. Tasks
	// and finally must say so too: with the pipeline's alone, Tekton gives
	// every TaskRun and CustomRun without a timeout of its own the
	// cluster's default (default-timeout-minutes, 60) instead
	// (PipelineRun.TasksTimeout, pipelinerun.go pipelineRunTimeout).
	run.Spec.Timeouts = &v1.TimeoutFields{Pipeline: &metav1.Duration{}, Tasks: &metav1.Duration{}, Finally: &metav1.Duration{}}
	run.Spec.TaskRunTemplate.ServiceAccountName = c.opts.ServiceAccount
	run.Spec.TaskRunTemplate.PodTemplate = c.runTemplate()
	for _, u := range append(append([]*unit(nil), c.units...), c.finals...) {
		if u.cond || u.noop || c.cached(u) {
			continue // a CachedStep carries its own pod template
		}
		sel, tol := podTemplate(u.node.Step)
		if len(sel) == 0 && len(tol) == 0 {
			continue
		}
		run.Spec.TaskRunSpecs = append(run.Spec.TaskRunSpecs, v1.PipelineTaskRunSpec{
			PipelineTaskName: u.name,
			PodTemplate:      &pod.PodTemplate{NodeSelector: sel, Tolerations: tol},
		})
	}
	if c.opts.Emit == EmitPipeline {
		out.Pipeline = &v1.Pipeline{TypeMeta: pipelineType, ObjectMeta: meta(name), Spec: *spec}
		run.Spec.PipelineRef = &v1.PipelineRef{Name: name}
	} else {
		run.Spec.PipelineSpec = spec
	}
	out.PipelineRun = run
	return out, nil
}

func copyLabels(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// taskNames names the Tasks of EmitPipeline: PIPELINE-STEP, one Task per
// step and its iterations, which share their spec.
type taskNames struct {
	prefix string
	used   map[string]bool
	tasks  []*v1.Task
}

type namedTask struct {
	task *v1.Task
	new  bool
}

func (t *taskNames) task(u *unit, spec v1.TaskSpec, meta func(string) metav1.ObjectMeta) namedTask {
	for _, have := range t.tasks {
		if have.Annotations[annotationStep] == u.step() && equality.Semantic.DeepEqual(have.Spec, spec) {
			return namedTask{task: have}
		}
	}
	want := t.prefix + "-" + u.step()
	if u.cond {
		want += "-when"
	}
	name := shorten(want, maxName)
	for i := 2; t.used[name]; i++ {
		name = shorten(fmt.Sprintf("%s-%d", want, i), maxName)
	}
	t.used[name] = true
	task := &v1.Task{TypeMeta: taskType, ObjectMeta: meta(name), Spec: spec}
	task.Annotations = map[string]string{annotationStep: u.step()}
	t.tasks = append(t.tasks, task)
	return namedTask{task: task, new: true}
}

// annotationStep names the pipeline step a Task runs.
const annotationStep = "sluice.dev/step"

// step is the name of the pipeline step a unit runs, or its own.
func (u *unit) step() string {
	if u.node == nil {
		return u.name
	}
	return u.node.Name()
}
