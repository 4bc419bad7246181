package argo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/Knetic/govaluate"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	"github.com/sluice-dev/sluice/ir"
	"github.com/sluice-dev/sluice/plugins/argo/check"
)

// The tests in this file play Argo's controller over compiled Workflows
// with Argo's own code: util/template (the DAG task's substitution when
// its dependencies are done, and a loop's expansion) and
// workflow/common.ProcessArgs (binding a template's inputs, twice over),
// in the order workflow/controller/dag.go and operator.go call them. What
// comes out are the container's args, which go to the launcher's own
// parsers (launch.Decode, launch.ParseBindings).

// hostile are texts that Argo, Tekton or a shell would read as their own.
var hostile = plantest.Hostile

// controller is what the controller knows when it runs a task.
type controller struct {
	wf      *wfv1.Workflow
	globals common.Parameters
	// outputs holds finished tasks' outputs, "tasks.X.outputs.parameters.Y".
	outputs map[string]any
	// checks are the cache plugin's requests, as the plugin receives
	// them, of the wrappers played so far; cacheURL is the store the
	// pods get.
	checks   []check.Request
	cacheURL string
}

func newController(wf *wfv1.Workflow) *controller {
	g := common.Parameters{
		"workflow.name":      "run-x7k2p",
		"workflow.namespace": "ml",
		"workflow.uid":       "0f6f1c7e-uid",
		"workflow.status":    "Failed",
	}
	for _, p := range wf.Spec.Arguments.Parameters {
		g["workflow.parameters."+p.Name] = p.Value.String()
	}
	return &controller{wf: wf, globals: g, outputs: map[string]any{}, cacheURL: wf.Spec.TemplateDefaults.Container.Env[0].Value}
}

func (c *controller) template(t testing.TB, name string) *wfv1.Template {
	t.Helper()
	for i := range c.wf.Spec.Templates {
		if c.wf.Spec.Templates[i].Name == name {
			return c.wf.Spec.Templates[i].DeepCopy()
		}
	}
	t.Fatalf("no template %s", name)
	return nil
}

// bindDAG is a DAG template as the controller runs it for a task that
// calls it with args: its inputs bound by ProcessArgs.
func (c *controller) bindDAG(t testing.TB, name string, args wfv1.Arguments) *wfv1.Template {
	t.Helper()
	tmpl, err := common.ProcessArgs(c.template(t, name), &args, c.globals, common.Parameters{}, false, "ml", nil)
	if err != nil {
		t.Fatalf("ProcessArgs(%s): %v", name, err)
	}
	return tmpl
}

// run plays one task of dag (a bound DAG template) and returns the
// container args of each of its pods: one, or one per item of a loop.
func (c *controller) run(t testing.TB, dag *wfv1.Template, task string) (args [][]string, err error) {
	t.Helper()
	tmpls, err := c.leaves(t, dag, task)
	for _, tm := range tmpls {
		args = append(args, tm.Container.Args)
	}
	return args, err
}

// leaves plays one task of dag and returns the leaf templates it runs,
// their inputs bound: one, none (its when is false), or one per item of
// a loop. A task that runs a cache plugin wrapper is played through it as
// on a miss (wrapped).
func (c *controller) leaves(t testing.TB, dag *wfv1.Template, task string) ([]*wfv1.Template, error) {
	t.Helper()
	var tk *wfv1.DAGTask
	for i := range dag.DAG.Tasks {
		if dag.DAG.Tasks[i].Name == task {
			tk = &dag.DAG.Tasks[i]
		}
	}
	if tk == nil {
		t.Fatalf("no task %s in %s", task, dag.Name)
	}
	// resolveDependencyReferences: the task's JSON, through ReplaceStrictAny.
	scope := map[string]any{}
	for k, v := range c.globals {
		scope[k] = v
	}
	for k, v := range c.outputs {
		scope[k] = v
	}
	b, _ := json.Marshal(tk)
	s, err := template.ReplaceStrictAny(string(b), scope, []string{"tasks", "steps"})
	if err != nil {
		return nil, fmt.Errorf("resolve task %s: %w", task, err)
	}
	var resolved wfv1.DAGTask
	if err := json.Unmarshal([]byte(s), &resolved); err != nil {
		return nil, err
	}
	// expandTask: a loop's JSON, through processItem's Replace per item.
	tasks := []wfv1.DAGTask{resolved}
	if resolved.ShouldExpand() {
		items := resolved.WithItems
		if resolved.WithParam != "" {
			if err := json.Unmarshal([]byte(resolved.WithParam), &items); err != nil {
				return nil, fmt.Errorf("withParam of %s: %w", task, err)
			}
		}
		resolved.WithItems, resolved.WithParam = nil, ""
		b, _ := json.Marshal(resolved)
		tm, err := template.NewTemplate(string(b))
		if err != nil {
			return nil, err
		}
		tasks = nil
		for _, it := range items {
			m := map[string]any{}
			for k, v := range c.globals {
				m[k] = v
			}
			switch it.GetType() {
			case wfv1.String:
				m["item"] = it.GetStrVal()
			case wfv1.Number, wfv1.Bool:
				m["item"] = fmt.Sprintf("%v", it)
			case wfv1.Map:
				for k, v := range it.GetMapVal() {
					m["item."+k] = fmt.Sprintf("%v", v)
				}
				j, _ := json.Marshal(it.GetMapVal())
				m["item"] = string(j)
			default:
				j, _ := json.Marshal(it)
				m["item"] = string(j)
			}
			out, err := tm.Replace(m, false)
			if err != nil {
				return nil, fmt.Errorf("expand %s: %w", task, err)
			}
			var et wfv1.DAGTask
			if err := json.Unmarshal([]byte(out), &et); err != nil {
				return nil, err
			}
			tasks = append(tasks, et)
		}
	}
	// executeDAGTask: each expanded task's when, as shouldExecute reads
	// it; then ProcessArgs binds the leaf template's inputs.
	var out []*wfv1.Template
	for _, et := range tasks {
		run, err := shouldExecute(et.When)
		if err != nil {
			return nil, err
		}
		if !run {
			continue
		}
		if strings.HasPrefix(et.Template, "sluice-cache-") {
			tmpl, err := c.wrapped(t, et)
			if err != nil {
				return nil, err
			}
			out = append(out, tmpl)
			continue
		}
		tmpl, err := common.ProcessArgs(c.template(t, et.Template), &et.Arguments, c.globals, common.Parameters{}, false, "ml", nil)
		if err != nil {
			return nil, fmt.Errorf("ProcessArgs(%s): %w", et.Template, err)
		}
		out = append(out, tmpl)
	}
	return out, nil
}

// shouldExecute reads a task's when as the controller does
// (workflow/controller/steps.go): govaluate, bare words taken as strings.
func shouldExecute(when string) (bool, error) {
	if when == "" {
		return true, nil
	}
	e, err := govaluate.NewEvaluableExpression(when)
	if err != nil {
		return false, fmt.Errorf("when %q: %w", when, err)
	}
	tokens := e.Tokens()
	for i, tok := range tokens {
		if tok.Kind == govaluate.VARIABLE {
			tok.Kind = govaluate.STRING
			tokens[i] = tok
		}
	}
	if e, err = govaluate.NewEvaluableExpressionFromTokens(tokens); err != nil {
		return false, fmt.Errorf("when %q: %w", when, err)
	}
	v, err := e.Evaluate(nil)
	if err != nil {
		return false, fmt.Errorf("when %q: %w", when, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("when %q is %v, not a boolean", when, v)
	}
	return b, nil
}

// wrapped plays a task that runs a cache plugin wrapper, as on a miss:
// the wrapper DAG bound to the task's arguments, its check task (whose
// plugin request it keeps in c.checks) and, the check having returned no
// outputs, its run task, whose container template it returns. The
// request's arguments must be the container's, behind --cache: the step
// the plugin looks up is the step the pod runs.
func (c *controller) wrapped(t testing.TB, et wfv1.DAGTask) (*wfv1.Template, error) {
	t.Helper()
	w := c.bindDAG(t, et.Template, et.Arguments)
	inner := &controller{wf: c.wf, globals: c.globals, outputs: map[string]any{}}
	checks, err := inner.leaves(t, w, "sluice-check")
	if err != nil {
		return nil, fmt.Errorf("%s: check: %w", et.Name, err)
	}
	if len(checks) != 1 || checks[0].Plugin == nil {
		return nil, fmt.Errorf("%s: the check runs %d templates, want one plugin template", et.Name, len(checks))
	}
	var plugin map[string]check.Request
	if err := json.Unmarshal(checks[0].Plugin.Value, &plugin); err != nil {
		return nil, fmt.Errorf("%s: plugin value: %w", et.Name, err)
	}
	req, ok := plugin[check.Key]
	if !ok || len(plugin) != 1 {
		return nil, fmt.Errorf("%s: plugin value %s, want one key %s", et.Name, checks[0].Plugin.Value, check.Key)
	}
	c.checks = append(c.checks, req)
	// buildLocalScope: a finished check is in scope with its status.
	inner.outputs["tasks.sluice-check.id"] = "check-node"
	inner.outputs["tasks.sluice-check.status"] = string(wfv1.NodeSucceeded)
	runs, err := inner.leaves(t, w, "sluice-run")
	if err != nil {
		return nil, fmt.Errorf("%s: run: %w", et.Name, err)
	}
	if len(runs) != 1 || runs[0].Container == nil {
		return nil, fmt.Errorf("%s: a miss runs %d templates, want one container", et.Name, len(runs))
	}
	want := append([]string{"--cache=" + c.cacheURL}, runs[0].Container.Args[1:]...)
	if diff := cmp.Diff(want, req.Args); diff != "" {
		t.Errorf("%s: the plugin's args are not the container's (-want +got):\n%s", et.Name, diff)
	}
	// The plugin reads them with the launcher's own parser, and nothing
	// from an environment.
	if _, err := launch.ParseRunArgs(req.Args, func(string) string { return "" }); err != nil {
		t.Errorf("%s: the plugin cannot read its args: %v", et.Name, err)
	}
	return runs[0], nil
}

// eachMode runs test once per way a step can run: its container template
// directly, and through the cache plugin's wrapper, which the controller
// above plays as on a miss (the check, then the container).
func eachMode(t *testing.T, name string, test func(t *testing.T, opts argo.Options)) {
	plugin := testOptions
	plugin.CachePlugin = true
	for _, m := range []struct {
		name string
		opts argo.Options
	}{{"launcher", testOptions}, {"plugin", plugin}} {
		if name != "" {
			m.name += "/" + name
		}
		t.Run(m.name, func(t *testing.T) { test(t, m.opts) })
	}
}

// checked fails a plugin-mode test in which no step went through the
// plugin's check: the wrapper was not played.
func (c *controller) checked(t testing.TB, opts argo.Options) {
	t.Helper()
	if opts.CachePlugin && len(c.checks) == 0 {
		t.Error("no step went through the cache plugin's check")
	}
}

const literalPipeline = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: lit}
spec:
  params:
    - {name: text, default: plain}
  defaults: {image: busybox}
  steps:
    - name: produce
      command: [sh, -c, 'printf %s "$V" > ${{ outputs.params.out }}', '{{workflow.name}} $(params.x) {{=sprig.env("HOME")}}']
      env: [{name: V, value: '${{ params.text }}'}]
      outputs: {params: [{name: out}]}
    - name: consume
      command: [echo, '${{ steps.produce.outputs.params.out }}', '${{ params.text }}']
    - name: gate
      when: '"${{ steps.produce.outputs.params.out }}" == "${{ params.text }}"'
      command: [echo, gated]
    - name: loop
      forEach: {items: '${{ params.list }}'}
      command: [echo, '${{ item }}']
    - name: group
      forEach: {items: '${{ params.list }}'}
      group:
        steps:
          - name: member
            command: [echo, '${{ item }}', '${{ steps.produce.outputs.params.out }}']
`

// TestLiteralParams: every hostile text, given as a parameter override,
// reaches the launcher byte for byte, through every kind of task.
func TestLiteralParams(t *testing.T) {
	for _, text := range hostile {
		eachMode(t, fmt.Sprintf("%q", text), func(t *testing.T, opts argo.Options) {
			list, _ := json.Marshal([]string{text, "second"})
			src := strings.Replace(literalPipeline, "    - {name: text, default: plain}\n",
				"    - {name: text, default: plain}\n    - {name: list, type: list, default: []}\n", 1)
			wf, err := compileYAML(t, "lit.yaml", []byte(src), []string{"text=" + text, "list=" + string(list)}, opts)
			if err != nil {
				t.Fatal(err)
			}
			argoValidate(t, wf)
			c := newController(wf)
			main := c.template(t, "sluice-main")
			upstream := "safe output"
			c.outputs["tasks.produce.outputs.parameters.out"] = upstream

			args, err := c.run(t, main, "consume")
			if err != nil {
				t.Fatalf("Argo: %v", err)
			}
			l := plantest.Parse(t, nil, args[0])
			if got := l.Value(t, "params.text"); got != text {
				t.Errorf("params.text: got %q, want %q", got, text)
			}
			if got := l.Value(t, "steps.produce.outputs.params.out"); got != upstream {
				t.Errorf("upstream: got %q, want %q", got, upstream)
			}

			args, err = c.run(t, main, "sluice-when-gate")
			if err != nil {
				t.Fatalf("Argo: %v", err)
			}
			if got := plantest.Parse(t, nil, args[0]).Value(t, "params.text"); got != text {
				t.Errorf("condition: params.text: got %q, want %q", got, text)
			}

			// The loop over the list parameter: its items come from the
			// condition task when Argo cannot carry them (base64 each).
			its := launch.EncodeIterations([]launch.Iteration{{Run: true, Text: text}, {Run: true, Text: "second"}})
			c.outputs["tasks.sluice-when-loop.outputs.parameters."+launch.IterationsFile] = its
			c.outputs["tasks.sluice-when-group.outputs.parameters."+launch.IterationsFile] = its
			args, err = c.run(t, main, "loop")
			if err != nil {
				t.Fatalf("Argo: %v", err)
			}
			if len(args) != 2 {
				t.Fatalf("loop: %d pods, want 2", len(args))
			}
			// An item is a JSON string, which cannot hold invalid UTF-8:
			// the list parameter already holds U+FFFD for it.
			var items []string
			_ = json.Unmarshal(list, &items)
			if got := plantest.Parse(t, nil, args[0]).Value(t, "item"); got != items[0] {
				t.Errorf("loop: item: got %q, want %q", got, items[0])
			}

			// The group: the item and an outside value come in as the
			// group DAG's inputs, bound by ProcessArgs, then the member
			// task is resolved inside it.
			var groupTask wfv1.DAGTask
			for _, tk := range main.DAG.Tasks {
				if tk.Name == "group" {
					groupTask = tk
				}
			}
			b, _ := json.Marshal(groupTask)
			scope := map[string]any{}
			for k, v := range c.globals {
				scope[k] = v
			}
			for k, v := range c.outputs {
				scope[k] = v
			}
			s, err := template.ReplaceStrictAny(string(b), scope, []string{"tasks", "steps"})
			if err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(s), &groupTask)
			var groupItems []wfv1.Item
			_ = json.Unmarshal([]byte(groupTask.WithParam), &groupItems)
			args0 := groupTask.Arguments.DeepCopy()
			for i := range args0.Parameters {
				switch args0.Parameters[i].Value.String() {
				case "{{item}}":
					args0.Parameters[i].Value = wfv1.AnyStringPtr(groupItems[0].GetStrVal())
				case "{{item.b64}}": // an iteration a condition task wrote
					args0.Parameters[i].Value = wfv1.AnyStringPtr(fmt.Sprint(groupItems[0].GetMapVal()["b64"]))
				}
			}
			dag := c.bindDAG(t, groupTask.Template, *args0)
			args, err = c.run(t, dag, "member")
			if err != nil {
				t.Fatalf("Argo: %v", err)
			}
			l = plantest.Parse(t, nil, args[0])
			if got := l.Value(t, "item"); got != items[0] {
				t.Errorf("group member: item: got %q, want %q", got, items[0])
			}
			if got := l.Value(t, "steps.produce.outputs.params.out"); got != upstream {
				t.Errorf("group member: upstream: got %q, want %q", got, upstream)
			}
			c.checked(t, opts)
		})
	}
}

// TestLiteralItems: hostile literal items travel base64-encoded in
// withItems and reach the launcher exactly; a list of safe items stays
// readable.
func TestLiteralItems(t *testing.T) { eachMode(t, "", literalItems) }

func literalItems(t *testing.T, opts argo.Options) {
	var texts []any
	var want []string
	for _, h := range hostile[:len(hostile)-1] {
		texts = append(texts, h)
		want = append(want, ir.NewValue(h).String())
	}
	hostileItems := ir.NewValue(texts)
	var numbers ir.Value
	if err := numbers.UnmarshalJSON([]byte(`[0.10, 1e-3, -0, {"k": "v<&>"}, [1, "two"]]`)); err != nil {
		t.Fatal(err)
	}
	p := &ir.Pipeline{APIVersion: ir.APIVersion, Kind: ir.Kind, Metadata: ir.Metadata{Name: "items"}}
	p.Spec.Steps = []ir.Step{
		{Name: "loop", Image: "busybox", ForEach: &ir.ForEach{Items: &hostileItems}, Command: []string{"echo", "${{ item }}"}},
		{Name: "numbers", Image: "busybox", ForEach: &ir.ForEach{Items: &numbers}, Command: []string{"echo", "${{ item }}"}},
	}
	src, err := ir.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	// The encoding is JSON: invalid UTF-8 is U+FFFD in it.
	for i := range want {
		var s string
		b, _ := json.Marshal(want[i])
		_ = json.Unmarshal(b, &s)
		want[i] = s
	}
	wf, err := compileYAML(t, "items.json", src, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	argoValidate(t, wf)
	c := newController(wf)
	main := c.template(t, "sluice-main")
	for _, tc := range []struct {
		task string
		want []string
	}{
		{"loop", want},
		{"numbers", []string{"0.10", "1e-3", "0", `{"k":"v<&>"}`, `[1,"two"]`}}, // ir reads -0 as 0
	} {
		args, err := c.run(t, main, tc.task)
		if err != nil {
			t.Fatalf("Argo: %v", err)
		}
		var got []string
		for _, a := range args {
			got = append(got, plantest.Parse(t, nil, a).Value(t, "item"))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: items (-want +got):\n%s", tc.task, diff)
		}
	}
	c.checked(t, opts)
}

// TestLiteralSpec: commands, args and env values reach the launcher
// exactly, whatever they hold, since they travel in the base64 spec.
func TestLiteralSpec(t *testing.T) { eachMode(t, "", literalSpec) }

func literalSpec(t *testing.T, opts argo.Options) {
	p := &ir.Pipeline{APIVersion: ir.APIVersion, Kind: ir.Kind, Metadata: ir.Metadata{Name: "spec"}}
	step := ir.Step{Name: "s", Image: "busybox", Command: append([]string{"echo"}, hostile...)}
	for i, h := range hostile {
		step.Env = append(step.Env, ir.EnvVar{Name: fmt.Sprintf("V%d", i), Value: h})
	}
	p.Spec.Steps = []ir.Step{step}
	src, err := ir.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compileYAML(t, "spec.json", src, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	argoValidate(t, wf)
	c := newController(wf)
	args, err := c.run(t, c.template(t, "sluice-main"), "s")
	if err != nil {
		t.Fatalf("Argo: %v", err)
	}
	l := plantest.Parse(t, nil, args[0])
	// The spec went through JSON; ir's canonical encoding writes invalid
	// UTF-8 as U+FFFD, the same for the launcher as for the local runner.
	want := p.Spec.Steps[0]
	b, _ := ir.EncodeStep(&want)
	var wantStep ir.Step
	_ = json.Unmarshal(b, &wantStep)
	if diff := cmp.Diff(wantStep.Command, l.Spec.Step.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantStep.Env, l.Spec.Step.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	c.checked(t, opts)
}

// TestUpstreamValues: another step's output reaches a reader exactly,
// whatever it holds: the producing launcher writes it inline when Argo
// passes it unchanged (launch.Inline), else as a value ref that the
// reading launcher fetches.
func TestUpstreamValues(t *testing.T) { eachMode(t, "", upstreamValues) }

func upstreamValues(t *testing.T, opts argo.Options) {
	src := strings.Replace(literalPipeline, "    - {name: text, default: plain}\n",
		"    - {name: text, default: plain}\n    - {name: list, type: list, default: [a]}\n", 1)
	wf, err := compileYAML(t, "lit.yaml", []byte(src), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	store := plantest.NewStore(t)
	for _, v := range hostile {
		c := newController(wf)
		c.outputs["tasks.produce.outputs.parameters.out"] = plantest.Written(t, store, v)
		args, err := c.run(t, c.template(t, "sluice-main"), "consume")
		if err != nil {
			t.Errorf("value %q: Argo: %v", v, err)
			continue
		}
		if got := plantest.Parse(t, store, args[0]).Value(t, "steps.produce.outputs.params.out"); got != v {
			t.Errorf("value %q arrived as %q", v, got)
		}
		c.checked(t, opts)
	}
}

// TestPipelineStatus: Argo's expression gives onExit steps the pipeline's
// status as IR.md has it: Succeeded or Failed, Argo's Error included.
func TestPipelineStatus(t *testing.T) { eachMode(t, "", pipelineStatus) }

func pipelineStatus(t *testing.T, opts argo.Options) {
	src := `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: st}
spec:
  steps: [{name: work, image: busybox, command: ["true"]}]
  onExit: [{name: notify, image: busybox, command: [echo, '${{ pipeline.status }}']}]
`
	wf, err := compileYAML(t, "st.yaml", []byte(src), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	for argoStatus, want := range map[string]string{"Succeeded": "Succeeded", "Failed": "Failed", "Error": "Failed"} {
		c := newController(wf)
		c.globals["workflow.status"] = argoStatus
		args, err := c.run(t, c.template(t, "sluice-exit"), "notify")
		if err != nil {
			t.Fatalf("Argo: %v", err)
		}
		if got := plantest.Parse(t, nil, args[0]).Value(t, "pipeline.status"); got != want {
			t.Errorf("workflow.status %s: pipeline.status %q, want %q", argoStatus, got, want)
		}
		c.checked(t, opts)
	}
}

// TestFilteredLoop plays a loop over another step's output with a
// per-item when through Argo's own substitution and the launcher's own
// code: the condition task's launcher (launch.When) decides each item,
// Argo fans out over every item and skips those it said no to, and each
// iteration that runs gets its item back byte for byte.
func TestFilteredLoop(t *testing.T) { eachMode(t, "", filteredLoop) }

func filteredLoop(t *testing.T, opts argo.Options) {
	wf, err := compileYAML(t, "filter.yaml", []byte(plantest.FilterPipeline), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	argoValidate(t, wf)
	list, want := plantest.FilterItems()
	store := plantest.NewStore(t)
	c := newController(wf)
	c.outputs["tasks.produce.outputs.parameters.l"] = plantest.Written(t, store, list)
	main := c.template(t, "sluice-main")
	args, err := c.run(t, main, "sluice-when-each")
	if err != nil {
		t.Fatalf("Argo: %v", err)
	}
	l := plantest.Parse(t, store, args[0])
	res, err := launch.When(context.Background(), &launch.WhenRequest{Spec: l.Spec, In: l.In})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Run {
		t.Fatal("condition: the loop does not run")
	}
	c.outputs["tasks.sluice-when-each.outputs.parameters."+launch.IterationsFile] = launch.EncodeIterations(res.Iterations)
	args, err = c.run(t, main, "each")
	if err != nil {
		t.Fatalf("Argo: %v", err)
	}
	var got []string
	for _, a := range args {
		got = append(got, plantest.Parse(t, store, a).Value(t, "item"))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	c.checked(t, opts)
}
