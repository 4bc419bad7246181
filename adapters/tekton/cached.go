package tekton

import (
	"slices"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/sluice-dev/sluice/ir"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// cached reports whether a unit runs as a CachedStep custom task: with
// the cache plugin, a command step whose cache is not disabled. A loop
// over one step is one CachedStep that runs every iteration
// (cachedstep.Loop), not a matrix of CustomRuns: Tekton fans a matrixed
// custom task out into CustomRuns but reads its results from the first
// one only (pipelinerun/resources.resolveCustomResultRef) and counts
// matrix.RESULT.length from TaskRuns only
// (createResultsCacheMatrixedTaskRuns), so the loop's outputs would not
// reach its readers.
func (c *compiler) cached(u *unit) bool {
	return !u.cond && !u.noop && c.cacheable(u.node)
}

// cacheable reports whether a command step runs as a CachedStep.
func (c *compiler) cacheable(n *ir.Node) bool {
	return c.opts.CachePlugin && n.Step.Cache.IsEnabled()
}

// loops reports whether a unit is a loop over one step.
func (u *unit) loops() bool { return len(u.combos) > 0 || u.items != "" }

// indexed reports whether a unit is a matrix, whose TaskRuns write their
// item's index (resultIndex) with their outputs: Tekton aggregates a
// matrix's results sorted by TaskRun name, NAME-10 before NAME-2
// (pipelinerun/resources.createResultsCacheMatrixedTaskRuns), and the
// readers put them back in item order by the indexes, aggregated the
// same way. A loop CachedStep aggregates in item order itself.
func (c *compiler) indexed(u *unit) bool { return u.loops() && !c.cached(u) }

// cachedStep makes pt run a unit as a CachedStep: its Task (spec, or ref
// with EmitPipeline), with the pod template its TaskRun would have had
// from the PipelineRun, which Tekton gives TaskRuns only. A loop's items
// leave the matrix for the CachedStep: the literal ones in its spec, where
// no substitution reaches; those a filter task computes as parameters,
// its items (an array) and its verdicts, which Tekton resolves before it
// creates the CustomRun.
func (c *compiler) cachedStep(u *unit, pt *v1.PipelineTask, ts v1.TaskSpec, ref *v1.TaskRef) error {
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
	if u.loops() {
		l := &cachedstep.Loop{Param: paramItem, Parallelism: u.node.Step.ForEach.Parallelism}
		for _, cb := range u.combos {
			l.Items = append(l.Items, cachedstep.Item{Index: cb.index, Text: u.itemText(cb.text)})
		}
		if u.items != "" {
			l.ItemsParam, l.RunsParam = paramItems, paramRuns
			items := "$(tasks." + u.items + ".results." + resultItems + "[*])"
			pt.Params = append(slices.Clip(pt.Params), // not the unit's
				v1.Param{Name: paramItems, Value: v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: []string{items}}},
				v1.Param{Name: paramRuns, Value: *v1.NewStructuredValues("$(tasks." + u.items + ".results." + resultRuns + ")")})
		}
		spec.Loop = l
		pt.Matrix = nil
	}
	var err error
	pt.TaskSpec, err = cachedstep.Embedded(spec)
	pt.TaskRef = nil
	return err
}
