package ir

import (
	"sort"
	"strings"
)

// Node is a step in the dependency graph. A group's members are its
// Children; edges only join nodes of one scope (the top level, onExit, or
// one group), and a reference that crosses a group's boundary is lifted to
// the group that contains it.
type Node struct {
	Step     *Step
	Path     Path  // spec.steps[3].group.steps[0]
	Parent   *Node // enclosing group; nil at the top level
	OnExit   bool  // the node belongs to spec.onExit
	Deps     []Dep // nodes of the same scope this one waits for, in topological order
	Children []*Node
	index    int // declaration order in its scope
	topo     int // position in its scope's topological order
}

// Dep is an edge: Node must finish first. Data is true when the step reads
// Node's outputs (so a skip propagates), false for ordering alone (after).
type Dep struct {
	Node *Node
	Data bool
}

// Name is the step's name.
func (n *Node) Name() string { return n.Step.Name }

// InForEach reports whether the node or an enclosing group repeats with forEach.
func (n *Node) InForEach() bool {
	for ; n != nil; n = n.Parent {
		if n.Step.ForEach != nil {
			return true
		}
	}
	return false
}

// Graph is a validated pipeline's dependency graph.
type Graph struct {
	Steps  []*Node // top-level nodes in topological order
	OnExit []*Node // onExit nodes in topological order
	byName map[string]*Node
}

// Node returns the node of the named step, or nil.
func (g *Graph) Node(name string) *Node { return g.byName[name] }

// All returns every node, each scope in topological order, members of a
// group right after the group itself; onExit nodes last.
func (g *Graph) All() []*Node {
	var out []*Node
	var walk func([]*Node)
	walk = func(ns []*Node) {
		for _, n := range ns {
			out = append(out, n)
			walk(n.Children)
		}
	}
	walk(g.Steps)
	walk(g.OnExit)
	return out
}

// declared returns every node in file order, members of a group right after
// the group itself; onExit nodes last.
func (g *Graph) declared() []*Node {
	var out []*Node
	var walk func([]*Node)
	walk = func(ns []*Node) {
		inFile := make([]*Node, len(ns))
		for _, n := range ns {
			inFile[n.index] = n
		}
		for _, n := range inFile {
			out = append(out, n)
			walk(n.Children)
		}
	}
	walk(g.Steps)
	walk(g.OnExit)
	return out
}

// contains reports whether m is inside the group n, at any depth.
func (n *Node) contains(m *Node) bool {
	for a := m.Parent; a != nil; a = a.Parent {
		if a == n {
			return true
		}
	}
	return false
}

// Graph returns the dependency graph of a validated pipeline.
func (p *Pipeline) Graph() *Graph {
	if p.graph == nil {
		g, _ := buildGraph(p)
		p.graph = g
	}
	return p.graph
}

// buildGraph links nodes by after and by step references; it returns the
// cycles it found, each as the step names in order.
func buildGraph(p *Pipeline) (*Graph, [][]*Node) {
	g := &Graph{byName: map[string]*Node{}}
	var add func(steps []Step, path Path, parent *Node, onExit bool) []*Node
	add = func(steps []Step, path Path, parent *Node, onExit bool) []*Node {
		ns := make([]*Node, len(steps))
		for i := range steps {
			n := &Node{Step: &steps[i], Path: path.Index(i), Parent: parent, OnExit: onExit, index: i}
			ns[i] = n
			if _, dup := g.byName[n.Name()]; !dup && n.Name() != "" {
				g.byName[n.Name()] = n
			}
			if steps[i].Group != nil {
				n.Children = add(steps[i].Group.Steps, n.Path.Field(fGroup).Field(fSteps), n, onExit)
			}
		}
		return ns
	}
	g.Steps = add(p.Spec.Steps, Path(fSpec).Field(fSteps), nil, false)
	g.OnExit = add(p.Spec.OnExit, Path(fSpec).Field(fOnExit), nil, true)

	// Edges, lifted to the scope that holds both ends.
	var link func([]*Node)
	link = func(ns []*Node) {
		for _, n := range ns {
			link(n.Children)
			for _, dep := range stepDeps(n.Step) {
				target := g.byName[dep.name]
				if target == nil || target == n {
					continue
				}
				a, b := liftEdge(n, target)
				if a == nil || a == b {
					continue
				}
				a.addDep(b, dep.data)
			}
		}
	}
	link(g.Steps)
	link(g.OnExit)

	var cycles [][]*Node
	var order func([]*Node) []*Node
	order = func(ns []*Node) []*Node {
		for _, n := range ns {
			n.Children = order(n.Children)
		}
		sorted, cyc := topoSort(ns)
		cycles = append(cycles, cyc...)
		return sorted
	}
	g.Steps = order(g.Steps)
	g.OnExit = order(g.OnExit)
	return g, cycles
}

func (n *Node) addDep(b *Node, data bool) {
	for i := range n.Deps {
		if n.Deps[i].Node == b {
			n.Deps[i].Data = n.Deps[i].Data || data
			return
		}
	}
	n.Deps = append(n.Deps, Dep{Node: b, Data: data})
}

// liftEdge returns the ancestors-or-selves of from and to that share a
// scope; nil when they are in different worlds (main steps and onExit) or
// one contains the other.
func liftEdge(from, to *Node) (*Node, *Node) {
	if from.OnExit != to.OnExit {
		return nil, nil
	}
	depth := func(n *Node) int {
		d := 0
		for ; n.Parent != nil; n = n.Parent {
			d++
		}
		return d
	}
	a, b := from, to
	da, db := depth(a), depth(b)
	for da > db {
		a, da = a.Parent, da-1
	}
	for db > da {
		b, db = b.Parent, db-1
	}
	if a == b {
		return nil, nil // one is inside the other
	}
	for a.Parent != b.Parent {
		a, b = a.Parent, b.Parent
	}
	// Climb back down to the scope's children on each side.
	ca, cb := from, to
	for ca.Parent != a.Parent {
		ca = ca.Parent
	}
	for cb.Parent != b.Parent {
		cb = cb.Parent
	}
	return ca, cb
}

type depRef struct {
	name string
	data bool
}

// stepDeps lists the steps a step names: after, and every steps.S reference
// in its fields; for a group, what its members name (lifted by the caller).
func stepDeps(s *Step) []depRef {
	var out []depRef
	for _, a := range s.After {
		out = append(out, depRef{a, false})
	}
	for _, r := range stepRefs(s) {
		if r.Kind == RefStepParam || r.Kind == RefStepArtifact {
			out = append(out, depRef{r.Step, true})
		}
	}
	return out
}

// stepRefs returns every placeholder a step's own fields hold (not its
// group members'). Unparsable text is skipped: validation reports it.
func stepRefs(s *Step) []Ref {
	var out []Ref
	add := func(text string) {
		if !strings.Contains(text, "${{") {
			return
		}
		if t, err := ParseTemplate(text); err == nil {
			out = append(out, t.Refs()...)
		}
	}
	for _, c := range s.Command {
		add(c)
	}
	for _, a := range s.Args {
		add(a)
	}
	for _, e := range s.Env {
		add(e.Value)
	}
	if s.Inputs != nil {
		for _, ip := range s.Inputs.Params {
			add(ip.Value)
			add(ip.From)
		}
		for _, ia := range s.Inputs.Artifacts {
			add(ia.From)
		}
	}
	if s.When != "" {
		if w, err := ParseWhen(s.When); err == nil {
			out = append(out, w.Refs()...)
		}
	}
	if s.ForEach != nil && s.ForEach.Items != nil {
		if str, ok := s.ForEach.Items.Interface().(string); ok {
			add(str)
		}
	}
	return out
}

// topoSort orders one scope: Kahn's algorithm, ties broken by declaration
// order, so the order is the same on every run. Nodes left over sit on or
// behind cycles; each cycle is returned once.
func topoSort(ns []*Node) ([]*Node, [][]*Node) {
	indeg := make(map[*Node]int, len(ns))
	users := make(map[*Node][]*Node, len(ns))
	for _, n := range ns {
		indeg[n] = len(n.Deps)
		for _, d := range n.Deps {
			users[d.Node] = append(users[d.Node], n)
		}
	}
	ready := &nodeHeap{}
	for _, n := range ns {
		if indeg[n] == 0 {
			ready.push(n)
		}
	}
	out := make([]*Node, 0, len(ns))
	for ready.len() > 0 {
		n := ready.pop()
		n.topo = len(out)
		out = append(out, n)
		for _, u := range users[n] {
			if indeg[u]--; indeg[u] == 0 {
				ready.push(u)
			}
		}
	}
	if len(out) == len(ns) {
		for _, n := range out {
			sort.SliceStable(n.Deps, func(i, j int) bool { return n.Deps[i].Node.topo < n.Deps[j].Node.topo })
		}
		return out, nil
	}
	// Find cycles among what is left: walk deps from each remaining node in
	// declaration order; a node met again on the current path closes a cycle.
	var cycles [][]*Node
	state := map[*Node]int{} // 0 new, 1 on path, 2 done
	var path []*Node
	var visit func(n *Node)
	visit = func(n *Node) {
		state[n] = 1
		path = append(path, n)
		for _, d := range n.Deps {
			switch state[d.Node] {
			case 0:
				if indeg[d.Node] > 0 {
					visit(d.Node)
				}
			case 1:
				for i, m := range path {
					if m == d.Node {
						cycles = append(cycles, append([]*Node(nil), path[i:]...))
					}
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = 2
	}
	for _, n := range ns {
		if indeg[n] > 0 && state[n] == 0 {
			visit(n)
		}
	}
	for _, n := range ns {
		if indeg[n] > 0 {
			n.topo = len(out)
			out = append(out, n)
		}
	}
	return out, cycles
}

// nodeHeap is a min-heap by declaration index.
type nodeHeap struct{ ns []*Node }

func (h *nodeHeap) len() int { return len(h.ns) }

func (h *nodeHeap) push(n *Node) {
	h.ns = append(h.ns, n)
	for i := len(h.ns) - 1; i > 0; {
		p := (i - 1) / 2
		if h.ns[p].index <= h.ns[i].index {
			break
		}
		h.ns[p], h.ns[i] = h.ns[i], h.ns[p]
		i = p
	}
}

func (h *nodeHeap) pop() *Node {
	top := h.ns[0]
	last := len(h.ns) - 1
	h.ns[0] = h.ns[last]
	h.ns = h.ns[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.ns) && h.ns[l].index < h.ns[m].index {
			m = l
		}
		if r < len(h.ns) && h.ns[r].index < h.ns[m].index {
			m = r
		}
		if m == i {
			break
		}
		h.ns[i], h.ns[m] = h.ns[m], h.ns[i]
		i = m
	}
	return top
}

func sortStrings(s []string) { sort.Strings(s) }

// Sinks are the nodes of one scope that no other node of it waits for:
// where a scope ends.
func Sinks(ns []*Node) []*Node {
	waited := map[*Node]bool{}
	for _, n := range ns {
		for _, d := range n.Deps {
			waited[d.Node] = true
		}
	}
	var out []*Node
	for _, n := range ns {
		if !waited[n] {
			out = append(out, n)
		}
	}
	return out
}
