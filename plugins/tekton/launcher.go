package tekton

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/container"
	"github.com/tektoncd/pipeline/pkg/substitution"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan"
)

// errNoLauncher is a Task without a `sluice-exec run` step: nothing to look
// up, the TaskRun runs as it is.
var errNoLauncher = errors.New("the Task has no step that runs " + plan.Launcher + " run")

// launcherArgs returns the arguments of `sluice-exec run` (without the
// word run) that the pod of tr, a TaskRun of ts, would get: the run step's
// arguments after the substitution Tekton's TaskRun reconciler makes of
// the parameters, then of the contexts (taskrun/resources.ApplyParameters,
// then ApplyContexts), done with Tekton's own replacement code
// (container.ApplyStepReplacements). The paths of results
// ($(results.NAME.path)) are left as they are: a lookup needs their names
// only.
//
// The replacements are built here as getTaskParameters builds them, rather
// than by calling taskrun/resources itself, whose package links Tekton's
// remote resolution and trusted-resources code (some 600 packages, cloud
// KMS clients among them) into the sluice binary; a test checks that both
// give the same arguments.
func launcherArgs(ts *v1.TaskSpec, tr *v1.TaskRun) ([]string, error) {
	i := runStep(ts)
	if i < 0 {
		return nil, errNoLauncher
	}
	strs, arrays := paramReplacements(ts.Params, tr.Spec.Params)
	step := ts.Steps[i].DeepCopy()
	// Two passes, as Tekton makes them: a context in a parameter's value
	// is substituted too.
	container.ApplyStepReplacements(step, strs, arrays)
	container.ApplyStepReplacements(step, contextReplacements(tr), nil)
	return step.Args[1:], nil
}

// runStep is the index of the step that runs `sluice-exec run`, or -1.
func runStep(ts *v1.TaskSpec) int {
	for i, s := range ts.Steps {
		if len(s.Command) == 1 && s.Command[0] == plan.Launcher && len(s.Args) > 0 && s.Args[0] == "run" {
			return i
		}
	}
	return -1
}

// paramPatterns are the ways a Task refers to a parameter (taskrun/resources
// paramPatterns, less the v1beta1 inputs.params form).
var paramPatterns = []string{"params.%s", "params[%q]", "params['%s']"}

// paramReplacements are the replacements of a Task's parameters: their
// defaults, then the TaskRun's values, as getTaskParameters makes them.
func paramReplacements(specs v1.ParamSpecs, params v1.Params) (map[string]string, map[string][]string) {
	strs, arrays := map[string]string{}, map[string][]string{}
	add := func(name string, v *v1.ParamValue) {
		switch v.Type {
		case v1.ParamTypeArray:
			for _, p := range paramPatterns {
				for i, e := range v.ArrayVal {
					strs[fmt.Sprintf(p+"[%d]", name, i)] = e
				}
				arrays[fmt.Sprintf(p, name)] = v.ArrayVal
			}
		case v1.ParamTypeObject:
			for k, e := range v.ObjectVal {
				strs["params."+name+"."+k] = e
			}
		default:
			for _, p := range paramPatterns {
				strs[fmt.Sprintf(p, name)] = v.StringVal
			}
		}
	}
	// Defaults that refer to other parameters take those parameters'
	// defaults, in a second pass (replacementsFromDefaultParams).
	var referring []v1.ParamSpec
	for _, s := range specs {
		switch {
		case s.Default == nil:
		case strings.Contains(s.Default.StringVal, "$(params."):
			referring = append(referring, s)
		default:
			add(s.Name, s.Default)
		}
	}
	for _, s := range referring {
		refs, _ := substitution.ExtractVariableExpressions(s.Default.StringVal, "params")
		for _, ref := range refs {
			name := strings.TrimSuffix(strings.TrimPrefix(ref, "$(params."), ")")
			for _, p := range paramPatterns {
				if v, ok := strs[fmt.Sprintf(p, name)]; ok {
					resolved := strings.ReplaceAll(s.Default.StringVal, ref, v)
					for _, p := range paramPatterns {
						strs[fmt.Sprintf(p, s.Name)] = resolved
					}
					break
				}
			}
		}
	}
	for i := range params {
		add(params[i].Name, &params[i].Value)
	}
	return strs, arrays
}

// contextReplacements are the TaskRun's contexts (getContextReplacements).
func contextReplacements(tr *v1.TaskRun) map[string]string {
	return map[string]string{
		"context.taskRun.name":      tr.Name,
		"context.task.name":         taskName(tr),
		"context.taskRun.namespace": tr.Namespace,
		"context.taskRun.uid":       string(tr.UID),
		"context.task.retry-count":  strconv.Itoa(len(tr.Status.RetriesStatus)),
	}
}

// taskName is what Tekton calls the Task of a TaskRun in its contexts: the
// referenced Task's name, or the TaskRun's for an embedded one.
func taskName(tr *v1.TaskRun) string {
	if tr.Spec.TaskRef != nil && tr.Spec.TaskRef.Name != "" {
		return tr.Spec.TaskRef.Name
	}
	return tr.Name
}

// outResult is an output a launcher writes ("params.X", "artifacts.X",
// "cached") and the Task result it writes it to.
type outResult struct{ output, result string }

// outputResults lists the outputs a launcher writes, with their results,
// in the order of its --out NAME=$(results.RESULT.path) flags: the names
// the step's TaskRun would have given them.
func outputResults(args []string) ([]outResult, error) {
	var o launch.RunFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	outs, err := launch.ParseOuts(o.Out)
	if err != nil {
		return nil, err
	}
	var m []outResult
	for _, out := range outs {
		r, ok := strings.CutPrefix(out.Path, "$(results.")
		r, ok2 := strings.CutSuffix(r, ".path)")
		if !ok || !ok2 || r == "" {
			return nil, fmt.Errorf("--out %s=%s: not a Task result's path", out.Name, out.Path)
		}
		m = append(m, outResult{output: out.Name, result: r})
	}
	return m, nil
}
