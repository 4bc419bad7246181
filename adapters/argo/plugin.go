package argo

import (
	"encoding/json"
	"fmt"
	"strconv"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/sluice-dev/sluice/plugins/argo/check"
)

// With Options.CachePlugin, a cacheable step's task runs a small DAG
// instead of its container template: first a check, an Executor Plugin
// node that Sluice's plugin (plugins/argo) answers in the Workflow's agent
// pod, with no pod of the step's own; then the container, unless the
// check hit. docs/argo.md ("Cache plugin") gives Argo's reasons for each
// choice made here.
//
// The contract with the plugin is package plugins/argo/check: it answers
// a plugin template whose value has the key check.Key (a check.Request),
// and on a hit returns every output parameter of the step plus
// OutputCached "true"; on a miss it returns none of them, and
// check.OutputFault when a fault (not a mere absence) caused the miss.
const (
	wrapPrefix  = "sluice-cache-" // a step's DAG: check, then run
	checkPrefix = "sluice-check-" // plugin templates, by their number of runtime values
	checkTask   = "sluice-check"  // the tasks of that DAG; reserved names, so no
	runTask     = "sluice-run"    // step's task is ever mistaken for them
)

// runWhen lets the run task go ahead unless the check hit. Argo
// substitutes the expression (util/template: expr-lang over the task's
// scope) and hands the result to govaluate, so the only text there is
// ever true or false.
//
// It must not be decided too early. Argo also substitutes the wrapper
// DAG's whole template when the wrapper starts (ProcessArgs), with
// tasks.name in scope (the invoking task's): there `tasks` exists but
// holds no check, and an expression that tolerated that would be
// decided then, once for all, as "run". So it starts with the check's
// status, unguarded: a fetch from nil, which leaves the tag for later.
// Once the check is done its status is always in scope; only Succeeded
// can have hit, and its outputs are read through the optional chain,
// since a check that failed or errored has none and expr cannot fetch a
// member of nil, not even left of ??.
const runWhen = "{{=tasks['" + checkTask + "'].status != 'Succeeded' || " +
	"(tasks['" + checkTask + "']?.outputs?.parameters?.['" + OutputCached + "'] ?? 'false') != 'true'}}"

// checkTimeout fails a check still Pending after it (checkTemplateTimeout
// in the controller, which plugin templates honour as leaves): an agent
// pod that cannot start (its ServiceAccount's token Secret or RBAC
// missing) would otherwise hold the step forever. The step then runs,
// and its launcher still short-circuits a hit; the cost is a pod.
const checkTimeout = "2m"

// runDepends runs the container after the check whatever became of it:
// a check that failed (the plugin is not installed, refused the token,
// the agent pod could not start) must not stop the step.
const runDepends = checkTask + ".Succeeded || " + checkTask + ".Failed || " + checkTask + ".Errored"

// pick is the expression of a wrapper's output parameter: the check's
// value on a hit, else the run's. It is evaluated once the DAG is done
// (getTemplateOutputsFromScope), where a skipped run's outputs are absent
// (nil) and a failed check's outputs do not exist.
func pick(name string) string {
	return "tasks['" + checkTask + "']?.outputs?.parameters?.['" + name + "'] ?? tasks['" + runTask + "'].outputs.parameters['" + name + "']"
}

// wrapped is a task whose step the plugin checks first, with the
// container template it runs and that template's number of runtime
// values. Its template is set once every container template is final
// (sharedImages may still add an input).
type wrapped struct {
	task      *task
	container string
	slots     int
}

// wrappers makes the DAG template of each container template that a
// checked step runs, shared as the container templates are, and points
// the tasks at them.
func (c *compiler) wrappers() []wfv1.Template {
	var out []wfv1.Template
	made := map[string]string{}
	for _, w := range c.wraps {
		name, ok := made[w.container]
		if !ok {
			name = wrapPrefix + w.container
			made[w.container] = name
			out = append(out, c.wrapper(name, w.container, w.slots))
		}
		w.task.Template = name
	}
	return out
}

// wrapper is the DAG template name that runs the container template
// container after a check: the same inputs (passed on to both tasks, the
// check leaving out the image) and the same outputs, each taken from
// whichever task produced it.
func (c *compiler) wrapper(name, container string, slots int) wfv1.Template {
	var leaf wfv1.Template
	for _, l := range c.leaves {
		if l.Name == container {
			leaf = l
		}
	}
	if leaf.Container == nil {
		c.fail(fmt.Errorf("template %s: no container template %s", name, container))
		return wfv1.Template{Name: name}
	}
	t := wfv1.Template{Name: name, DAG: &wfv1.DAGTemplate{}}
	check := wfv1.DAGTask{Name: checkTask, Template: c.checkTemplate(slots)}
	run := wfv1.DAGTask{Name: runTask, Template: container, Depends: runDepends, When: runWhen}
	for _, in := range leaf.Inputs.Parameters {
		t.Inputs.Parameters = append(t.Inputs.Parameters, wfv1.Parameter{Name: in.Name})
		arg := wfv1.Parameter{Name: in.Name, Value: wfv1.AnyStringPtr("{{inputs.parameters." + in.Name + "}}")}
		run.Arguments.Parameters = append(run.Arguments.Parameters, arg)
		if in.Name != paramImage {
			check.Arguments.Parameters = append(check.Arguments.Parameters, arg)
		}
	}
	for _, out := range leaf.Outputs.Parameters {
		t.Outputs.Parameters = append(t.Outputs.Parameters, wfv1.Parameter{Name: out.Name, ValueFrom: &wfv1.ValueFrom{Expression: pick(out.Name)}})
	}
	t.DAG.Tasks = []wfv1.DAGTask{check, run}
	return t
}

// checkTemplate returns the name of the plugin template that checks a
// step with slots runtime values: its plugin value holds the launcher's
// arguments, exactly as the container template writes them.
func (c *compiler) checkTemplate(slots int) string {
	args, inputs := launcherArgs("run", slots)
	req := check.Request{Args: append([]string{"--cache=" + c.opts.cacheURL()}, args[1:]...), Secret: c.opts.CacheSecret}
	b, err := json.Marshal(map[string]check.Request{check.Key: req})
	if err != nil {
		c.fail(fmt.Errorf("check template: %w", err))
	}
	return c.leaf(checkPrefix+strconv.Itoa(slots), wfv1.Template{
		Inputs:  wfv1.Inputs{Parameters: inputs},
		Plugin:  &wfv1.Plugin{Object: wfv1.Object{Value: b}},
		Timeout: checkTimeout,
	})
}
