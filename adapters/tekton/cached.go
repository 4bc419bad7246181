package tekton

import (
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// cached reports whether a unit runs as a CachedStep custom task: with
// the cache plugin, a command step whose cache is not disabled, and that
// is not a loop over one step. Tekton fans a matrix out into CustomRuns
// but reads a matrixed custom task's results from its first CustomRun
// only (pipelinerun/resources.resolveCustomResultRef) and counts
// matrix.RESULT.length from TaskRuns only (createResultsCacheMatrixedTaskRuns),
// so a loop's outputs would not reach its readers: loops over one step
// stay TaskRuns.
func (c *compiler) cached(u *unit) bool {
	return c.opts.CachePlugin && !u.cond && !u.noop &&
		u.node.Step.Cache.IsEnabled() && len(u.combos) == 0 && u.items == ""
}

// cachedStep is the taskSpec of a pipeline task that runs a unit as a
// CachedStep: its Task (spec, or ref with EmitPipeline), with the pod
// template its TaskRun would have had from the PipelineRun, which Tekton
// gives TaskRuns only.
func (c *compiler) cachedStep(u *unit, ts v1.TaskSpec, ref *v1.TaskRef) (*v1.EmbeddedTask, error) {
	spec := &cachedstep.Spec{CacheSecret: c.opts.CacheSecret}
	if ref != nil {
		spec.TaskRef = ref
	} else {
		spec.TaskSpec = &ts
	}
	t := c.runTemplate()
	if t == nil {
		t = &pod.PodTemplate{}
	}
	t.NodeSelector, t.Tolerations = podTemplate(u.node.Step)
	spec.PodTemplate = t
	return cachedstep.Embedded(spec)
}
