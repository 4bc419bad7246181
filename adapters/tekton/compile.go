package tekton

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/ir"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// tektonSyntax is the text Tekton substitutes: a value holding it cannot
// go on a command line as it is.
const tektonSyntax = "$("

// compiler walks the pipeline's graph once, scope by scope in
// topological order, and makes the pipeline tasks (units) in an order
// where every task comes after the tasks whose results it reads: Tekton
// resolves result references in that order within one reconcile, which
// the guards rely on.
type compiler struct {
	p      *ir.Pipeline
	g      *ir.Graph
	opts   Options
	consts plan.Consts
	names  *names
	insts  map[instKey]*inst
	units  []*unit // the DAG, in order
	finals []*unit // finally
	errs   ir.List
	imp    *implied
	// credsVolume names the store's credentials volume: a name no step's
	// volume has, as the pod template adds it to every pod.
	credsVolume string
	checked     map[*ir.Node]bool
}

func newCompiler(p *ir.Pipeline, params map[string]ir.Value, opts Options) *compiler {
	g := p.Graph()
	taken := map[string]bool{}
	for _, n := range g.All() {
		for _, v := range n.Step.Volumes {
			taken[v.Name] = true
		}
	}
	return &compiler{
		credsVolume: freeName(volumeCreds, taken),
		p:           p,
		g:           g,
		opts:        opts,
		consts:      plan.Consts{Pipeline: p.Metadata.Name, Params: params},
		names:       newNames(g),
		insts:       map[instKey]*inst{},
		imp:         newImplied(),
		checked:     map[*ir.Node]bool{},
	}
}

// inst is one instance of a node: the node in one iteration of the loops
// that enclose it (ctx holds their indexes, outermost first). Loops over
// groups are unrolled, each iteration its own tasks; a loop over one step
// is one task: a matrix, or with the cache plugin a loop CachedStep.
type inst struct {
	node   *ir.Node
	ctx    []int
	consts plan.Consts // with the item of the enclosing iteration
	guards guards
	after  []string // what it waits for: sinks of its dependencies
	unit   *unit    // a command step's task; nil if it has none
	items  []ir.Value
	iters  []int // a loop's iterations that were compiled (not skipped at compile time)
	empty  bool  // a loop over no items: it ran, its outputs are []
	// dynamic: a loop whose items are only known at run time (another
	// step's output), or filtered by a condition on each item that is:
	// a filter task computes them, and the step fans out over its result.
	dynamic bool
}

type instKey struct {
	node *ir.Node
	ctx  string
}

func key(n *ir.Node, ctx []int) instKey { return instKey{n, fmt.Sprint(ctx)} }

func (c *compiler) inst(n *ir.Node, ctx []int) *inst { return c.insts[key(n, ctx)] }

// unit is one pipeline task: a command step (once, or a matrix over a
// loop's items), or a condition evaluated by the launcher.
type unit struct {
	name    string
	display string
	node    *ir.Node
	cond    bool // evaluates node's `when`
	noop    bool // stands for a pipeline whose steps all loop over nothing
	ctx     []int
	guards  guards
	after   []string
	final   bool
	status  string // finally tasks compiled once per outcome: the outcome

	in         []plan.Value
	lists      []plan.List
	params     v1.Params      // the pipeline task's parameters
	specParams []v1.ParamSpec // the Task's
	item       *ir.Value      // the item of an unrolled iteration, as a parameter
	combos     []combo        // a matrix over the step's own loop
	itemB64    bool           // the items travel base64-encoded
	// filter: a condition task in filter mode, which also writes the
	// loop's items that pass (result resultItems); kept: with their
	// indexes in the loop (resultKept), for a loop that is a matrix
	// (indexed) rather than a loop CachedStep.
	filter bool
	kept   bool
	// items names the filter task whose items the step fans out over;
	// "" for a loop whose items are known at compile time.
	items string
}

type combo struct {
	index int
	text  string
}

func (c *compiler) run() {
	root := &inst{consts: c.consts}
	for _, n := range c.g.Steps {
		c.node(n, nil, nil, root, nil)
	}
	if len(c.units) == 0 {
		// Every step loops over nothing: Tekton needs a task.
		c.units = append(c.units, &unit{name: c.names.claim(ir.ReservedPrefix + "-nothing"), noop: true})
	}
	c.onExit()
}

// world collects the units of one node: the DAG's, or one outcome's
// finally tasks.
type world struct {
	status string
	suffix string // added to the names of the tasks of one outcome
	units  []*unit
}

func (c *compiler) add(w *world, u *unit) {
	if w == nil {
		c.units = append(c.units, u)
		return
	}
	u.final, u.status = true, w.status
	w.units = append(w.units, u)
}

// onExit compiles the onExit steps as finally tasks. A step that reads
// ${{ pipeline.status }} is compiled once per outcome, each guarded by
// Tekton's $(tasks.status), so that the status is a constant in each and
// conditions on it are decided at compile time; an outcome whose task is
// skipped at compile time is left out.
func (c *compiler) onExit() {
	for _, n := range c.g.OnExit {
		if !readsStatus(n) {
			w := &world{}
			root := &inst{consts: c.consts}
			c.node(n, nil, nil, root, w)
			c.finals = append(c.finals, w.units...)
			continue
		}
		kept := map[*ir.Node]bool{} // steps with a task for success
		for _, st := range []struct{ status, suffix string }{{ir.StatusSucceeded, ""}, {ir.StatusFailed, "-failed"}} {
			w := &world{status: st.status, suffix: st.suffix}
			consts := c.consts
			consts.Status = st.status
			c.node(n, nil, nil, &inst{consts: consts}, w)
			for _, u := range w.units {
				if u.guards.never {
					continue
				}
				if st.status == ir.StatusSucceeded {
					kept[u.node] = true
				} else if !kept[u.node] && len(u.ctx) == 0 {
					// The only task of the step: its own name. Nothing
					// refers to a finally task by name.
					u.name = u.node.Name()
				}
				c.finals = append(c.finals, u)
			}
		}
	}
}

// readsStatus reports whether a node or anything inside it reads
// ${{ pipeline.status }}.
func readsStatus(n *ir.Node) bool {
	for _, r := range reads(n) {
		if r.Kind == ir.RefPipelineStatus {
			return true
		}
	}
	for _, m := range n.Children {
		if readsStatus(m) {
			return true
		}
	}
	return false
}

// reads lists what a node's own fields read: a command step's values, and
// any node's `when` and forEach items.
func reads(n *ir.Node) []ir.Ref {
	var refs []ir.Ref
	if !n.Step.IsGroup() {
		refs = plan.Needs(n.Step)
	}
	if n.Step.When != "" {
		w, _ := plan.WhenNeeds(n.Step.When)
		refs = append(refs, w...)
	}
	return append(refs, plan.ItemsNeeds(n.Step.ForEach)...)
}

// node compiles one node in one iteration of its enclosing loops (loops,
// ctx) under parent, the enclosing group's instance.
func (c *compiler) node(n *ir.Node, loops []*ir.Node, ctx []int, parent *inst, w *world) {
	in := &inst{node: n, ctx: ctx, consts: parent.consts, guards: parent.guards, after: slices.Clone(parent.after)}
	c.insts[key(n, ctx)] = in
	for _, d := range n.Deps {
		in.after = appendNew(in.after, c.sinks(d.Node, ctx)...)
	}
	if w != nil && len(in.after) > 0 {
		c.fieldError(n.Path.Field("after"), ErrUnsupported, "an onExit step that waits for another onExit step (Tekton's finally tasks run all at once)")
		return
	}
	// A step that needs a skipped step's outputs is skipped: its guards
	// take those of everything it reads.
	for _, r := range reads(n) {
		if r.Kind != ir.RefStepParam && r.Kind != ir.RefStepArtifact {
			continue
		}
		src, err := c.lookup(r, loops, ctx)
		if err != nil {
			c.fieldError(n.Path, err, "${{ %s }}", r)
			return
		}
		in.guards = c.imp.reduce(in.guards.and(src.guards))
	}
	if n.Step.ForEach != nil {
		items, known, err := plan.Items(n.Step.ForEach, in.consts)
		switch {
		case err != nil:
			c.fieldError(n.Path.Field("forEach").Field("items"), err, "cannot be evaluated")
			return
		case !known && n.Step.IsGroup():
			c.fieldError(n.Path.Field("forEach").Field("items"), ErrUnsupported,
				"a group looping over a step's output (Tekton repeats one task a number of times known at run time, not several)")
			return
		case !known:
			in.dynamic = true
		case len(items) == 0:
			in.empty = true
			return
		case !n.Step.IsGroup() && len(items) > c.opts.MaxMatrix:
			c.fieldError(n.Path.Field("forEach").Field("items"), ErrLimit,
				"%d iterations: Tekton runs at most %d combinations of a matrix (default-max-matrix-combinations-count)", len(items), c.opts.MaxMatrix)
			return
		}
		in.items = items
	}
	if n.Step.IsGroup() {
		c.group(n, loops, ctx, in, w)
		return
	}
	c.command(n, loops, ctx, in, w)
}

// group compiles a group: its members, once, or once per item.
func (c *compiler) group(n *ir.Node, loops []*ir.Node, ctx []int, in *inst, w *world) {
	if n.Step.ForEach == nil {
		if !c.condition(n, loops, ctx, in, w, in.consts) {
			return
		}
		for _, m := range n.Children {
			c.node(m, loops, ctx, in, w)
		}
		return
	}
	perItem := readsItem(n.Step.When)
	if !perItem && !c.condition(n, loops, ctx, in, w, in.consts) {
		return
	}
	if in.guards.never {
		return // no iteration runs
	}
	inner := append(slices.Clone(loops), n)
	for i := range in.items {
		ictx := append(slices.Clone(ctx), i)
		it := &inst{node: n, ctx: ictx, consts: in.consts, guards: in.guards, after: in.after}
		it.consts.Item = &in.items[i]
		if perItem {
			if !c.condition(n, loops, ictx, it, w, it.consts) {
				return
			}
			if it.guards.never {
				continue // skipped at compile time: not among the loop's outputs
			}
		}
		c.insts[key(n, ictx)] = it
		in.iters = append(in.iters, i)
		for _, m := range n.Children {
			c.node(m, inner, ictx, it, w)
		}
	}
}

// command compiles a command step: one task, or one matrix task over its
// loop's items.
func (c *compiler) command(n *ir.Node, loops []*ir.Node, ctx []int, in *inst, w *world) {
	var combos []combo
	filter := ""
	if n.Step.ForEach != nil && !in.dynamic && readsItem(n.Step.When) && !in.guards.never {
		// A condition on each item that needs a run-time value: the
		// filter task decides it, item by item.
		for _, item := range in.items {
			consts := in.consts
			consts.Item = &item
			if _, decided, _ := plan.Fold(n.Step.When, consts); !decided {
				in.dynamic = true
				break
			}
		}
	}
	if in.dynamic {
		if filter = c.filter(n, loops, ctx, in, w); filter == "" {
			return
		}
	} else if n.Step.ForEach != nil {
		perItem := readsItem(n.Step.When)
		if !perItem && !c.condition(n, loops, ctx, in, w, in.consts) {
			return
		}
		for i, item := range in.items {
			if perItem && !in.guards.never {
				consts := in.consts
				consts.Item = &item
				v, decided, err := plan.Fold(n.Step.When, consts)
				switch {
				case err != nil:
					c.fieldError(n.Path.Field("when"), err, "iteration %d", i)
					return
				case !decided: // decided by a filter task (see above)
				case !v:
					continue
				}
			}
			combos = append(combos, combo{index: i, text: item.String()})
			in.iters = append(in.iters, i)
		}
		if len(combos) == 0 {
			in.guards.never = true // every iteration skipped: no task
			return
		}
	} else if !c.condition(n, loops, ctx, in, w, in.consts) {
		return
	}
	if !c.checked[n] {
		c.checked[n] = true // once, not per iteration
		c.checkLiteral(n)
	}
	suffix, display := ctxSuffix(ctx)
	u := &unit{node: n, ctx: ctx, guards: in.guards, after: in.after, combos: combos, items: filter, itemB64: filter != ""}
	u.name = n.Name() // a step's own name is unique
	if suffix != "" || c.suffix(w) != "" {
		u.name = c.names.claim(n.Name() + suffix + c.suffix(w))
	}
	if len(ctx) > 0 {
		u.display = n.Name() + display
	}
	for _, cb := range combos {
		u.itemB64 = u.itemB64 || plan.NeedsB64(cb.text, tektonSyntax)
	}
	if len(combos) == 0 && filter == "" && in.consts.Item != nil {
		u.item = in.consts.Item
		u.itemB64 = plan.NeedsB64(u.item.String(), tektonSyntax)
	}
	if !c.inputs(u, plan.Needs(n.Step), loops, ctx, in.consts) {
		return
	}
	u.addRun()
	if c.indexed(u) {
		// The iteration's launcher takes its index: a literal loop's from
		// its combination (sluice_index), a filter's with the item
		// (--in-item), which inputs passes to a step that reads its item
		// and this to one that does not.
		if u.items == "" {
			u.declare(paramIndex)
		} else if u.declare(paramItem) {
			u.in = append(u.in, plan.Value{Key: "item", Text: "$(params." + paramItem + ")", Indexed: true})
		}
	}
	in.unit = u
	c.add(w, u)
}

func (c *compiler) suffix(w *world) string {
	if w == nil {
		return ""
	}
	return w.suffix
}

// condition decides node n's `when` in one iteration: at compile time
// when it can (a false one skips the node: never), else with a condition
// task, whose result joins the node's guards. It returns false after an
// error.
func (c *compiler) condition(n *ir.Node, loops []*ir.Node, ctx []int, in *inst, w *world, consts plan.Consts) bool {
	if n.Step.When == "" || in.guards.never {
		return true
	}
	v, decided, err := plan.Fold(n.Step.When, consts)
	switch {
	case err != nil:
		c.fieldError(n.Path.Field("when"), err, "cannot be evaluated")
		return false
	case decided:
		in.guards.never = !v
		return true
	case w != nil:
		c.fieldError(n.Path.Field("when"), ErrUnsupported, "a condition in an onExit step that needs a value known at run time (finally tasks cannot read other finally tasks' results)")
		return false
	}
	suffix, display := ctxSuffix(ctx)
	u := &unit{node: n, cond: true, ctx: ctx, guards: in.guards, after: in.after}
	u.name = c.names.claim(n.Name() + suffix + "-when")
	u.display = n.Name() + display + " when"
	refs, _ := plan.WhenNeeds(n.Step.When)
	if !c.inputs(u, refs, loops, ctx, consts) {
		return false
	}
	c.add(w, u)
	c.imp.add(u.name, u.guards)
	in.guards = c.imp.reduce(in.guards.with(u.name))
	return true
}

// filter adds the filter task of a loop whose items (or their per-item
// condition) are known at run time only: `sluice-exec when` in filter
// mode computes the items, keeps those whose condition holds, and writes
// them (base64) as an array result; the loop runs when one is kept. It
// returns the task's name, "" after an error.
func (c *compiler) filter(n *ir.Node, loops []*ir.Node, ctx []int, in *inst, w *world) string {
	if w != nil {
		c.fieldError(n.Path.Field("forEach").Field("items"), ErrUnsupported,
			"an onExit loop whose items are known at run time only (finally tasks cannot read other finally tasks' results)")
		return ""
	}
	if in.guards.never {
		return ""
	}
	suffix, display := ctxSuffix(ctx)
	u := &unit{node: n, cond: true, filter: true, kept: !c.cacheable(n), ctx: ctx, guards: in.guards, after: in.after}
	u.name = c.names.claim(n.Name() + suffix + "-items")
	u.display = n.Name() + display + " items"
	// The condition's ${{ item }} is the loop's own, which the launcher
	// binds; the items' is the enclosing loop's, passed in.
	var refs []ir.Ref
	if n.Step.When != "" {
		w, _ := plan.WhenNeeds(n.Step.When)
		for _, r := range w {
			if r.Kind != ir.RefItem {
				refs = append(refs, r)
			}
		}
	}
	refs = append(refs, plan.ItemsNeeds(n.Step.ForEach)...)
	if !c.inputs(u, refs, loops, ctx, in.consts) {
		return ""
	}
	c.add(w, u)
	c.imp.add(u.name, u.guards)
	in.guards = c.imp.reduce(in.guards.with(u.name))
	return u.name
}

// readsItem reports whether a condition reads the loop's item.
func readsItem(when string) bool {
	if when == "" {
		return false
	}
	refs, _ := plan.WhenNeeds(when)
	for _, r := range refs {
		if r.Kind == ir.RefItem {
			return true
		}
	}
	return false
}

// inputs adds to u what its launcher is given for refs. Values known at
// compile time go on the command line; the run's id, the item and other
// steps' outputs come through the task's parameters.
func (c *compiler) inputs(u *unit, refs []ir.Ref, loops []*ir.Node, ctx []int, consts plan.Consts) bool {
	ok := true
	for _, r := range refs {
		key := r.String()
		switch r.Kind {
		case ir.RefPipelineRunID:
			u.param(paramRun, v1.ParamTypeString, "$(context.pipelineRun.name)")
			u.in = append(u.in, plan.Value{Key: key, Text: "$(params." + paramRun + ")"})
		case ir.RefItem:
			if u.cond {
				v, known, err := consts.Value(r)
				if err != nil || !known {
					c.fieldError(u.node.Path.Field("when"), ErrUnsupported, "a condition on ${{ item }} of a loop over one step, known at run time only")
					ok = false
					continue
				}
				u.in = append(u.in, plan.Literal(key, v, tektonSyntax))
				continue
			}
			u.declare(paramItem)
			// A matrix over a filter's items takes each with its index.
			indexed := c.indexed(u) && u.items != ""
			u.in = append(u.in, plan.Value{Key: key, Text: "$(params." + paramItem + ")", B64: u.itemB64 && !indexed, Indexed: indexed})
			if u.item != nil {
				text := u.item.String()
				if u.itemB64 {
					text = plan.B64(text)
				}
				u.params = append(u.params, v1.Param{Name: paramItem, Value: *v1.NewStructuredValues(text)})
			}
		case ir.RefStepParam, ir.RefStepArtifact:
			if err := c.stepInput(u, r, loops, ctx); err != nil {
				c.fieldError(u.node.Path, err, "${{ %s }}", r)
				ok = false
			}
		case ir.RefPipelineName:
			// The launcher takes it from the spec.
		default:
			v, known, err := consts.Value(r)
			if err != nil || !known {
				if err == nil {
					err = fmt.Errorf("no value at compile time: %w", ErrUnsupported)
				}
				c.fieldError(u.node.Path, err, "${{ %s }}", r)
				ok = false
				continue
			}
			u.in = append(u.in, plan.Literal(key, v, tektonSyntax))
		}
	}
	return ok
}

// param adds a string parameter to the task and its value to the pipeline
// task, once.
func (u *unit) param(name string, t v1.ParamType, value string) {
	if u.declare(name) {
		u.specParams[len(u.specParams)-1].Type = t
		u.params = append(u.params, v1.Param{Name: name, Value: *v1.NewStructuredValues(value)})
	}
}

// arrayParam adds an array parameter of one element (an engine
// expression for all of them) to the task and its value to the pipeline
// task, once.
func (u *unit) arrayParam(name, elems string) {
	if u.declare(name) {
		u.specParams[len(u.specParams)-1].Type = v1.ParamTypeArray
		u.params = append(u.params, v1.Param{Name: name, Value: v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: []string{elems}}})
	}
}

// declare adds a string parameter to the task, whose value the pipeline
// task's matrix gives; it reports whether it was new.
func (u *unit) declare(name string) bool {
	for _, p := range u.specParams {
		if p.Name == name {
			return false
		}
	}
	u.specParams = append(u.specParams, v1.ParamSpec{Name: name, Type: v1.ParamTypeString})
	return true
}

// addRun gives every command step the run's id, which the launcher
// records in the cache entries it writes.
func (u *unit) addRun() {
	for _, v := range u.in {
		if v.Key == "pipeline.runId" {
			return
		}
	}
	u.param(paramRun, v1.ParamTypeString, "$(context.pipelineRun.name)")
	u.in = append(u.in, plan.Value{Key: "pipeline.runId", Text: "$(params." + paramRun + ")"})
}

// stepInput passes another step's output: one value from its task's
// result, or, for a loop read from outside it, the list of its
// iterations' values through an array parameter.
func (c *compiler) stepInput(u *unit, r ir.Ref, loops []*ir.Node, ctx []int) error {
	src, err := c.lookup(r, loops, ctx)
	if err != nil {
		return err
	}
	key := r.String()
	pname := valueParam(r.Step, r.Name)
	res := resultName(r.Name)
	switch {
	case src.guards.never:
		// The reader is skipped whatever happens (its guards took the
		// source's): nothing to pass.
	case src.empty:
		u.in = append(u.in, plan.Value{Key: key, Text: "[]"})
	case src.single != nil:
		u.param(pname, v1.ParamTypeString, resultRef(src.single.unit.name, res))
		u.in = append(u.in, plan.Value{Key: key, Text: "$(params." + pname + ")"})
	default:
		var elems []string
		count := ""
		if src.matrix != nil {
			elems = []string{"$(tasks." + src.matrix.unit.name + ".results." + res + "[*])"}
			count = strconv.Itoa(len(src.matrix.unit.combos))
			if m := src.matrix.unit; m.items != "" {
				// Known at run time: Tekton counts a matrix's aggregated
				// results; a loop CachedStep counts its iterations.
				n := pname + "_n"
				length := "$(tasks." + m.name + ".matrix." + res + ".length)"
				if c.cached(m) {
					length = "$(tasks." + m.name + ".results." + cachedstep.ResultCount + ")"
				}
				u.param(n, v1.ParamTypeString, length)
				count = "$(params." + n + ")"
			}
		} else {
			for _, m := range src.list {
				elems = append(elems, resultRef(m.unit.name, res))
			}
			count = strconv.Itoa(len(elems))
		}
		u.specParams = append(u.specParams, v1.ParamSpec{Name: pname, Type: v1.ParamTypeArray})
		u.params = append(u.params, v1.Param{Name: pname, Value: v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: elems}})
		l := plan.List{
			Key:   key,
			Type:  src.typ,
			Count: count,
			Elems: []string{"$(params." + pname + "[*])"},
		}
		if m := src.matrix; m != nil && c.indexed(m.unit) {
			// Tekton aggregates a matrix's results sorted by TaskRun
			// name (NAME-10 before NAME-2): the iterations' indexes,
			// aggregated the same way, put them back in item order.
			ip := valueParam(r.Step, paramIndex)
			u.arrayParam(ip, "$(tasks."+m.unit.name+".results."+resultIndex+"[*])")
			l.Index = []string{"$(params." + ip + "[*])"}
		}
		u.lists = append(u.lists, l)
	}
	return nil
}

// source is where a step's output comes from, seen from a reader.
type source struct {
	single *inst   // one value
	matrix *inst   // the list of a matrix's values
	list   []*inst // the list of an unrolled loop's values
	empty  bool    // a loop over no items: []
	typ    ir.ParamType
	guards guards
}

// lookup finds the instance(s) of the step r names that a reader in
// (loops, ctx) sees: the same iteration of the loops they share; every
// iteration of a loop the reader is outside of.
func (c *compiler) lookup(r ir.Ref, loops []*ir.Node, ctx []int) (source, error) {
	t := c.g.Node(r.Step)
	tl := loopGroups(t)
	j := 0
	for j < len(tl) && j < len(loops) && tl[j] == loops[j] {
		j++
	}
	tctx, rest := ctx[:j], tl[j:]
	typ := outputType(t.Step, r.Name)
	switch {
	case len(rest) == 0:
		in := c.inst(t, tctx)
		if in == nil {
			return c.notCompiled()
		}
		switch {
		case in.empty:
			return source{empty: true}, nil
		case in.guards.never || in.unit == nil:
			// Skipped at compile time (or refused, which is reported).
			return source{guards: guards{never: true}}, nil
		case t.Step.ForEach != nil:
			return source{matrix: in, typ: typ, guards: in.guards}, nil
		}
		return source{single: in, guards: in.guards}, nil
	case len(rest) == 1 && t.Step.ForEach == nil:
		g := c.inst(rest[0], tctx)
		switch {
		case g == nil:
			return c.notCompiled()
		case g.empty:
			return source{empty: true}, nil
		case g.guards.never:
			return source{guards: guards{never: true}}, nil
		}
		s := source{typ: typ}
		for _, i := range g.iters {
			m := c.inst(t, append(slices.Clone(tctx), i))
			if m == nil || m.guards.never || m.unit == nil {
				continue // skipped at compile time: not in the list
			}
			// Iterations run all or none, or the list would depend on
			// which ran.
			if len(s.list) > 0 && !m.guards.equal(s.guards) {
				return source{}, fmt.Errorf("the loop's iterations may be skipped one by one at run time, and the list of its outputs then depends on which ran: %w", ErrUnsupported)
			}
			s.guards = m.guards
			s.list = append(s.list, m)
		}
		if len(s.list) == 0 {
			return source{guards: guards{never: true}}, nil
		}
		return s, nil
	}
	return source{}, fmt.Errorf("the outputs of a loop inside a loop, read from outside both: %w", ErrUnsupported)
}

// notCompiled is the source of a step that was not compiled: one inside
// a node refused with an error already reported.
func (c *compiler) notCompiled() (source, error) {
	if len(c.errs) == 0 {
		return source{}, errors.New("internal error: a step read before it was compiled")
	}
	return source{guards: guards{never: true}}, nil
}

// outputType is the declared type of a step's output value.
func outputType(s *ir.Step, name string) ir.ParamType {
	if s.Outputs != nil {
		for _, p := range s.Outputs.Params {
			if p.Name == name {
				return p.Typ()
			}
		}
	}
	return ir.TypeString
}

// loopGroups lists the groups with forEach that enclose n, outermost first.
func loopGroups(n *ir.Node) []*ir.Node {
	var out []*ir.Node
	for a := n.Parent; a != nil; a = a.Parent {
		if a.Step.ForEach != nil {
			out = append(out, a)
		}
	}
	slices.Reverse(out)
	return out
}

// sinks are the tasks that finish a node in one iteration of its
// enclosing loops: its own task, or the last tasks of a group's members
// (those no other member waits for), in every iteration of a loop.
func (c *compiler) sinks(n *ir.Node, ctx []int) []string {
	in := c.inst(n, ctx)
	if in == nil {
		return nil
	}
	if !n.Step.IsGroup() {
		if in.unit == nil {
			return nil
		}
		return []string{in.unit.name}
	}
	ends := ir.Sinks(n.Children)
	var out []string
	if n.Step.ForEach == nil {
		for _, m := range ends {
			out = appendNew(out, c.sinks(m, ctx)...)
		}
		return out
	}
	for _, i := range in.iters {
		ictx := append(slices.Clone(ctx), i)
		for _, m := range ends {
			out = appendNew(out, c.sinks(m, ictx)...)
		}
	}
	return out
}

func appendNew(list []string, items ...string) []string {
	for _, s := range items {
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}
