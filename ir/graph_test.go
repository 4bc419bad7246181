package ir_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/ir"
)

func names(ns []*ir.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name())
	}
	return out
}

// deps renders a node's edges: "name" for ordering, "name+data" for a
// reference.
func deps(n *ir.Node) []string {
	var out []string
	for _, d := range n.Deps {
		s := d.Node.Name()
		if d.Data {
			s += "+data"
		}
		out = append(out, s)
	}
	return out
}

const graphYAML = head + `  defaults: {image: busybox, command: [sh]}
  params: [{name: go, type: bool, default: true}]
  steps:
    - {name: d, after: [b, c]}
    - {name: b, after: [a], args: ['${{ steps.a.outputs.params.o }}']}
    - {name: c, after: [a]}
    - {name: a, outputs: {params: [{name: o}]}}
    - {name: e}
    - {name: f, when: '${{ steps.e.outputs.params.o }} == 1', after: [e]}
    - name: g
      when: '${{ params.go }}'
      group:
        steps:
          - {name: g2, after: [g1]}
          - {name: g1, inputs: {artifacts: [{name: x, from: '${{ steps.y.outputs.artifacts.x }}'}]}}
    - {name: y, outputs: {artifacts: [{name: x}]}}
    - {name: z, after: [g1], forEach: {items: '${{ steps.d.outputs.params.l }}'}}
  onExit:
    - {name: x2, after: [x1]}
    - {name: x1}
`

func TestGraph(t *testing.T) {
	// Step e declares output o only for f; d declares l only for z.
	src := graphYAML
	src = replaceOnce(t, src, "{name: e}", "{name: e, outputs: {params: [{name: o}]}}")
	src = replaceOnce(t, src, "{name: d, after: [b, c]}", "{name: d, after: [b, c], outputs: {params: [{name: l, type: list}]}}")
	p := mustParse(t, src)
	g := p.Graph()

	if diff := cmp.Diff([]string{"a", "b", "c", "d", "e", "f", "y", "g", "z"}, names(g.Steps)); diff != "" {
		t.Errorf("Steps order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"x1", "x2"}, names(g.OnExit)); diff != "" {
		t.Errorf("OnExit order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d", "e", "f", "y", "g", "g1", "g2", "z", "x1", "x2"}, names(g.All())); diff != "" {
		t.Errorf("All order (-want +got):\n%s", diff)
	}

	wantDeps := map[string][]string{
		"a":  nil,
		"b":  {"a+data"}, // after and a reference: data wins
		"c":  {"a"},
		"d":  {"b", "c"},
		"e":  nil,
		"f":  {"e+data"},
		"y":  nil,
		"g":  {"y+data"}, // g1 reads y: lifted to g
		"g1": nil,        // its edge left the group
		"g2": {"g1"},
		"z":  {"d+data", "g"}, // after g1: lifted to g
		"x1": nil,
		"x2": {"x1"},
	}
	for _, n := range g.All() {
		if diff := cmp.Diff(wantDeps[n.Name()], deps(n)); diff != "" {
			t.Errorf("deps of %s (-want +got):\n%s", n.Name(), diff)
		}
	}

	g1 := g.Node("g1")
	if g1 == nil || g1.Parent != g.Node("g") || g1.Path != "spec.steps[6].group.steps[1]" || g1.OnExit {
		t.Errorf("Node(g1) = %+v", g1)
	}
	if x1 := g.Node("x1"); x1 == nil || !x1.OnExit || x1.Path != "spec.onExit[1]" {
		t.Errorf("Node(x1) = %+v", x1)
	}
	if g.Node("nope") != nil {
		t.Errorf("Node(nope) != nil")
	}
	if !g.Node("z").InForEach() || g.Node("g1").InForEach() {
		t.Errorf("InForEach wrong")
	}
	if p.Graph() != g {
		t.Errorf("Graph() is rebuilt on every call")
	}
}

// TestGraphDeterministic parses the same pipeline many times: the order
// never changes.
func TestGraphDeterministic(t *testing.T) {
	src := head + "  defaults: {image: busybox, command: [sh]}\n  steps:\n"
	for _, n := range []string{"m", "k", "i", "g", "e", "c", "a", "b", "d", "f", "h", "j", "l"} {
		src += "    - {name: " + n + ", after: [z]}\n"
	}
	src += "    - {name: z}\n"
	want := []string{"z", "m", "k", "i", "g", "e", "c", "a", "b", "d", "f", "h", "j", "l"}
	for range 50 {
		if diff := cmp.Diff(want, names(mustParse(t, src).Graph().Steps)); diff != "" {
			t.Fatalf("order (-want +got):\n%s", diff)
		}
	}
}

// TestGraphOfCodePipeline builds the graph of a pipeline that was never
// validated.
func TestGraphOfCodePipeline(t *testing.T) {
	p := &ir.Pipeline{Spec: ir.Spec{Steps: []ir.Step{
		{Name: "b", Args: []string{"${{ steps.a.outputs.artifacts.x }}"}},
		{Name: "a"},
	}}}
	g := p.Graph()
	if diff := cmp.Diff([]string{"a", "b"}, names(g.Steps)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a+data"}, deps(g.Node("b"))); diff != "" {
		t.Errorf("deps (-want +got):\n%s", diff)
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("%q is not in the fixture exactly once", old)
	}
	return strings.Replace(s, old, new, 1)
}
