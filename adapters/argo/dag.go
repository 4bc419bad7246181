package argo

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/ir"
)

// scope is one DAG template: the main DAG, the exit handler's, a group's,
// or the one that bounds a loop's parallelism. A value that a task of the
// scope reads from outside comes in as an input parameter (an import,
// passed by the task that runs the scope); a value read from inside it by
// a task outside goes out as an output parameter (an export).
type scope struct {
	name        string
	parent      *scope
	invoker     *task // the task of parent that runs this DAG; nil at the top
	tasks       []*task
	parallelism int64

	inputs  []wfv1.Parameter
	imports map[string]string // value key → input parameter name
	nextIn  int
	outputs []wfv1.Parameter
	exports map[string]string // value key → output parameter name
}

// task is one task of a scope, built up while the pipeline is walked.
type task struct {
	wfv1.DAGTask
	scope *scope
	loop  bool // it fans out (withItems, withParam): {{item}} is bound in it
	// item is, for a loop, the expression of the element's text (or its
	// base64) in each iteration: {{item}}, or {{item.b64}} when a
	// condition task wrote the iterations.
	item string
}

func (s *scope) template() wfv1.Template {
	t := wfv1.Template{Name: s.name, DAG: &wfv1.DAGTemplate{}}
	if len(s.inputs) > 0 {
		t.Inputs.Parameters = s.inputs
	}
	if len(s.outputs) > 0 {
		t.Outputs.Parameters = s.outputs
	}
	if s.parallelism > 0 {
		t.Parallelism = &s.parallelism
	}
	for _, tk := range s.tasks {
		t.DAG.Tasks = append(t.DAG.Tasks, tk.DAGTask)
	}
	return t
}

// imp returns the input parameter under which the value key comes into s,
// adding it (and the argument that passes it, computed by outer in the
// invoker's scope) the first time.
func (s *scope) imp(key string, outer func() string) string {
	if name, ok := s.imports[key]; ok {
		return name
	}
	name := paramItem
	if key != paramItem {
		name = "v" + strconv.Itoa(s.nextIn)
		s.nextIn++
	}
	s.imports[key] = name
	s.inputs = append(s.inputs, wfv1.Parameter{Name: name})
	s.invoker.Arguments.Parameters = append(s.invoker.Arguments.Parameters,
		wfv1.Parameter{Name: name, Value: wfv1.AnyStringPtr(outer())})
	return name
}

// exp returns the output parameter under which the value key (expr inside
// s) leaves s, adding it the first time.
func (s *scope) exp(key, expr string) string {
	if name, ok := s.exports[key]; ok {
		return name
	}
	name := "v" + strconv.Itoa(len(s.exports))
	s.exports[key] = name
	s.outputs = append(s.outputs, wfv1.Parameter{Name: name, ValueFrom: &wfv1.ValueFrom{Parameter: expr}})
	return name
}

// dag makes the DAG template of one scope and its nodes' tasks, in
// topological order, so a task is made after every task it reads from.
func (c *compiler) dag(name string, parent *scope, invoker *task, nodes []*ir.Node) *scope {
	s := &scope{name: name, parent: parent, invoker: invoker, imports: map[string]string{}, exports: map[string]string{}}
	c.scopes = append(c.scopes, s)
	for _, n := range nodes {
		c.node(s, n)
	}
	return s
}

// node adds a node's tasks to s: its condition (when), then the node
// itself, fanned out when it loops, as a DAG of its own when it is a group
// or its loop has bounded parallelism.
func (c *compiler) node(s *scope, n *ir.Node) {
	c.tasks++
	t := &task{scope: s}
	t.Name = taskName(n)
	t.Depends = depends(n)
	filter := c.filtered(n)
	var cond *task
	if n.Step.When != "" || filter {
		cond = c.condition(s, n, filter)
		t.Depends = cond.Name // never Skipped: a bare name is Succeeded
		if !filter {
			t.When = "{{tasks." + cond.Name + ".outputs.parameters." + outWhen + "}} == true"
		}
	}
	s.tasks = append(s.tasks, t)

	run := t // the task that runs the step or the group
	fe := n.Step.ForEach
	if fe != nil && fe.Parallelism > 0 && !c.fewerItems(fe) {
		// Argo bounds parallelism per template, so the loop gets a DAG of
		// its own holding it alone.
		w := &scope{name: loopPrefix + n.Name(), parent: s, invoker: t, parallelism: int64(fe.Parallelism),
			imports: map[string]string{}, exports: map[string]string{}}
		c.scopes = append(c.scopes, w)
		t.Template = w.name
		run = &task{scope: w}
		run.Name = t.Name
		w.tasks = []*task{run}
	}
	if fe != nil {
		run.loop = true
		c.items(run, n, cond)
	}
	c.own[n] = run
	if n.Step.IsGroup() {
		g := c.dag(n.Name(), run.scope, run, n.Children)
		run.Template = g.name
		return
	}
	c.command(run, n)
}

// fewerItems reports whether a literal loop has no more items than its
// parallelism allows, so it needs no bound.
func (c *compiler) fewerItems(fe *ir.ForEach) bool {
	l, ok := fe.Items.List()
	return ok && len(l) <= fe.Parallelism
}

// depends writes a node's dependencies in Argo's depends syntax. A step
// that reads another's outputs needs it Succeeded, so a skipped producer
// leaves it Omitted (and its readers in turn); one that only comes after
// another also runs when that one was skipped or omitted. A bare name
// means Succeeded, Skipped or Daemoned to Argo: for a dependency that can
// never be Skipped (it has no when and does not loop, so could not fan
// out over nothing), that is Succeeded, in fewer bytes.
func depends(n *ir.Node) string {
	parts := make([]string, 0, len(n.Deps))
	for _, d := range n.Deps {
		name := taskName(d.Node)
		skippable := d.Node.Step.When != "" || d.Node.Step.ForEach != nil
		switch {
		case d.Data && skippable:
			parts = append(parts, name+".Succeeded")
		case d.Data:
			parts = append(parts, name)
		case skippable:
			parts = append(parts, "("+name+".Succeeded || "+name+".Skipped || "+name+".Omitted)")
		default:
			parts = append(parts, "("+name+" || "+name+".Omitted)")
		}
	}
	return strings.Join(parts, " && ")
}

// filtered reports whether a loop's items come from a condition task,
// which evaluates them (and the loop's when, per item) with the launcher
// and hands them on base64-encoded: when the loop has a when, or its items
// come from somewhere Argo would not pass them through unchanged.
func (c *compiler) filtered(n *ir.Node) bool {
	fe := n.Step.ForEach
	if fe == nil {
		return false
	}
	if n.Step.When != "" {
		return true
	}
	s, isText := fe.Items.Interface().(string)
	if !isText {
		return false // a literal list
	}
	t, err := ir.ParseTemplate(s)
	if err != nil {
		return false
	}
	r, ok := t.Single()
	if !ok {
		return false
	}
	switch r.Kind {
	case ir.RefParam:
		return c.b64Param[r.Name] || !argoRendersItems(c.params[r.Name])
	case ir.RefItem:
		return c.itemB64[enclosingLoop(n.Parent)]
	}
	return true // another step's output: the launcher resolves value refs
}

// enclosingLoop is the nearest node, from n up, that loops.
func enclosingLoop(n *ir.Node) *ir.Node {
	for ; n != nil; n = n.Parent {
		if n.Step.ForEach != nil {
			return n
		}
	}
	return nil
}

// condition adds the task that decides a node's when with the launcher
// (`sluice-exec when`): Argo's own when would parse the values it
// substitutes as expression text. In filter mode it also writes the
// loop's items that pass, base64-encoded.
func (c *compiler) condition(s *scope, n *ir.Node, filter bool) *task {
	w := &task{scope: s}
	w.Name = whenPrefix + n.Name()
	w.Depends = depends(n)
	s.tasks = append(s.tasks, w)

	var refs []ir.Ref
	if n.Step.When != "" {
		wh, err := ir.ParseWhen(n.Step.When)
		if err != nil {
			c.fail(fmt.Errorf("step %s: %w", n.Name(), err))
			return w
		}
		refs = wh.Refs()
	}
	if filter {
		// In filter mode item is the loop's own element, bound by the
		// launcher; only the items' own placeholder comes in.
		var keep []ir.Ref
		for _, r := range refs {
			if r.Kind != ir.RefItem {
				keep = append(keep, r)
			}
		}
		refs = keep
		if str, ok := n.Step.ForEach.Items.Interface().(string); ok {
			if t, err := ir.ParseTemplate(str); err == nil {
				refs = append(refs, t.Refs()...)
			}
		}
	}
	ins := c.ins(w, n, refs, enclosingLoop(n.Parent))
	spec, err := plan.ConditionSpec(c.p.Metadata.Name, n.Step, filter)
	if err != nil {
		c.fail(err)
	}
	w.Template = c.whenTemplate(n, len(ins), filter)
	w.Arguments.Parameters = specArgs(spec, ins)
	return w
}

// items sets how a loop task fans out.
func (c *compiler) items(t *task, n *ir.Node, cond *task) {
	fe := n.Step.ForEach
	t.item = "{{item}}"
	if c.filtered(n) {
		// Every item, each with the condition's verdict, which Argo
		// checks per iteration: a skipped one keeps its index.
		c.itemB64[n] = true
		t.item = "{{item.b64}}"
		expr := "{{tasks." + cond.Name + ".outputs.parameters." + outIterations + "}}"
		if t.scope != cond.scope {
			expr = "{{inputs.parameters." + t.scope.imp("items:"+n.Name(), func() string { return expr }) + "}}"
		}
		t.WithParam = expr
		t.When = "{{item.run}} == true"
		return
	}
	if l, ok := fe.Items.List(); ok {
		if len(l) == 0 {
			t.WithParam = "[]" // withItems: [] would run the task once
			return
		}
		texts, ok := itemTexts(l)
		if !ok {
			c.itemB64[n] = true
			for i := range texts {
				texts[i] = plan.B64(texts[i])
			}
		}
		// Strings, whatever the items' types: Argo's {{item}} is then the
		// string itself, exactly the text of ${{ item }}.
		for _, s := range texts {
			raw, _ := json.Marshal(s)
			t.WithItems = append(t.WithItems, wfv1.Item{Value: raw})
		}
		return
	}
	str, _ := fe.Items.Interface().(string)
	tm, _ := ir.ParseTemplate(str)
	r, _ := tm.Single()
	switch r.Kind {
	case ir.RefParam:
		t.WithParam = "{{workflow.parameters." + r.Name + "}}"
	case ir.RefItem:
		t.WithParam = c.itemExpr(t.scope)
	}
}

// ins are the launcher flags that pass a node's runtime values, in key
// order; loop is the loop whose element ${{ item }} names.
func (c *compiler) ins(t *task, n *ir.Node, refs []ir.Ref, loop *ir.Node) []string {
	var out []string
	for _, r := range sortedRefs(refs) {
		key := r.String()
		switch r.Kind {
		case ir.RefParam:
			v := plan.Value{Key: key, Text: "{{workflow.parameters." + r.Name + "}}", B64: c.b64Param[r.Name]}
			out = append(out, v.Arg())
		case ir.RefStepParam, ir.RefStepArtifact:
			target := c.g.Node(r.Step)
			expr := c.outputExpr(r, target, t.scope)
			if d := ir.ListDepth(n, target); d > 0 {
				l := plan.JSONList{Key: key, Depth: d, Text: expr}
				for _, op := range target.Step.Outputs.Params {
					if op.Name == r.Name {
						l.Type = op.Typ()
					}
				}
				out = append(out, l.Arg())
				continue
			}
			out = append(out, plan.Value{Key: key, Text: expr}.Arg())
		case ir.RefItem:
			v := plan.Value{Key: "item", Text: t.item, B64: c.itemB64[loop]}
			if !t.loop || loop != n {
				v.Text = c.itemExpr(t.scope)
			}
			out = append(out, v.Arg())
		case ir.RefPipelineStatus:
			// Argo's workflow.status is Succeeded, Failed or Error; the
			// pipeline's is Succeeded or Failed.
			v := plan.Value{Key: key, Text: "{{=workflow.status == 'Succeeded' ? 'Succeeded' : 'Failed'}}"}
			out = append(out, v.Arg())
		}
	}
	return out
}

// itemExpr is the Argo expression for the enclosing loop's element, as a
// task of s that is not itself the loop sees it.
func (c *compiler) itemExpr(s *scope) string {
	if s.invoker == nil {
		c.fail(fmt.Errorf("template %s: ${{ item }} outside any loop", s.name))
		return ""
	}
	name := s.imp(paramItem, func() string {
		if s.invoker.loop {
			return s.invoker.item
		}
		return c.itemExpr(s.parent)
	})
	return "{{inputs.parameters." + name + "}}"
}

// outputExpr is the Argo expression, valid in scope from, for the output
// r of the step target. Walking up from target's task, each DAG template
// on the way exports the value; if from is not on that way, from imports
// the value from its own parent, and so on.
func (c *compiler) outputExpr(r ir.Ref, target *ir.Node, from *scope) string {
	own := c.own[target]
	if own == nil {
		c.fail(fmt.Errorf("${{ %s }}: step %s has no task yet", r, target.Name()))
		return ""
	}
	var path []*scope
	found := false
	for s := own.scope; s != nil; s = s.parent {
		if s == from {
			found = true
			break
		}
		path = append(path, s)
	}
	key := r.String()
	if !found {
		if from.invoker == nil {
			c.fail(fmt.Errorf("${{ %s }}: not visible from %s", r, from.name))
			return ""
		}
		name := from.imp(key, func() string { return c.outputExpr(r, target, from.parent) })
		return "{{inputs.parameters." + name + "}}"
	}
	expr := "{{tasks." + own.Name + ".outputs.parameters." + r.Name + "}}"
	for _, s := range path {
		expr = "{{tasks." + s.invoker.Name + ".outputs.parameters." + s.exp(key, expr) + "}}"
	}
	return expr
}
