package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ir"
)

// graphFormat is one renderer of `sluice graph -o`.
type graphFormat struct {
	name   string
	render func(io.Writer, *ir.Pipeline) error
}

// graphFormats are the renderers, the default first.
var graphFormats = []graphFormat{
	{"dot", writeDot},
	{"mermaid", writeMermaid},
}

type graphOptions struct {
	file   string
	output string
	stdout io.Writer
	stderr io.Writer
}

func newGraphCmd() *cobra.Command {
	opts := &graphOptions{}
	names := make([]string, len(graphFormats))
	for i, f := range graphFormats {
		names[i] = f.name
	}
	cmd := &cobra.Command{
		Use:   "graph FILE",
		Short: "Draw a pipeline's dependency graph (Graphviz dot or Mermaid)",
		Long: `Draw the dependency graph of a pipeline file.

Steps are nodes; a group is a cluster (a subgraph) holding its steps, and onExit
steps sit in a dashed cluster of their own. An edge points from a step to the
steps that wait for it: solid when they read its outputs, dashed when they only
come after it. A forEach step is labelled ×N (N literal items) or with its items
placeholder; a step with when is labelled with its condition.

The file is validated first; an invalid file prints its problems as
'sluice validate' does and exits 1.`,
		Example: `  sluice graph pipeline.yaml | dot -Tsvg > pipeline.svg
  sluice graph -o mermaid pipeline.yaml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completePipelineFiles(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.file = args[0]
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runGraph(cmd.Context(), opts)
		},
	}
	addOutputFlag(cmd, &opts.output, names...)
	return cmd
}

func runGraph(_ context.Context, opts *graphOptions) error {
	p, err := ir.Load(opts.file)
	if err != nil {
		printLoadError(opts.stderr, err)
		return errSilent
	}
	for _, f := range graphFormats {
		if f.name == opts.output {
			return f.render(opts.stdout, p)
		}
	}
	return usageErrorf("unknown output format %q", opts.output)
}

// The renderers below are pure: a validated pipeline in, text out, the
// same text for the same pipeline. Nodes come in the graph's order (each
// scope topologically, ties by declaration), edges by their target in that
// order, then by source.

// stepLines is the label of a step's node or group's cluster: its name,
// then how often it runs and under which condition.
func stepLines(s *ir.Step) []string {
	lines := []string{s.Name}
	if fe := s.ForEach; fe != nil && fe.Items != nil {
		if items, ok := fe.Items.List(); ok {
			lines = append(lines, fmt.Sprintf("×%d", len(items)))
		} else {
			lines = append(lines, "forEach: "+fe.Items.String())
		}
	}
	if s.When != "" {
		lines = append(lines, "when: "+s.When)
	}
	return lines
}

// isCluster reports whether a node is drawn as a cluster: a group with
// steps (validation rejects an empty group; it would be drawn as a node).
func isCluster(n *ir.Node) bool { return len(n.Children) > 0 }

// firstLeaf and lastLeaf are the steps inside a cluster that an edge to or
// from it attaches to in dot, which cannot join clusters directly.
func firstLeaf(n *ir.Node) *ir.Node {
	for isCluster(n) {
		n = n.Children[0]
	}
	return n
}

func lastLeaf(n *ir.Node) *ir.Node {
	for isCluster(n) {
		n = n.Children[len(n.Children)-1]
	}
	return n
}

// writeDot renders the graph as a Graphviz digraph.
func writeDot(w io.Writer, p *ir.Pipeline) error {
	g := p.Graph()
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(p.Metadata.Name))
	b.WriteString("  compound=true;\n")
	b.WriteString("  node [shape=box, style=rounded];\n")
	var nodes func(ns []*ir.Node, indent string)
	nodes = func(ns []*ir.Node, indent string) {
		for _, n := range ns {
			lines := stepLines(n.Step)
			if isCluster(n) {
				fmt.Fprintf(&b, "%ssubgraph %s {\n", indent, dotQuote(dotCluster(n)))
				fmt.Fprintf(&b, "%s  label=%s;\n", indent, dotLabel(lines))
				nodes(n.Children, indent+"  ")
				fmt.Fprintf(&b, "%s}\n", indent)
				continue
			}
			b.WriteString(indent + dotQuote(n.Name()))
			if len(lines) > 1 {
				b.WriteString(" [label=" + dotLabel(lines) + "]")
			}
			b.WriteString(";\n")
		}
	}
	nodes(g.Steps, "  ")
	if len(g.OnExit) > 0 {
		b.WriteString("  subgraph \"cluster_onExit\" {\n")
		b.WriteString("    label=\"onExit\";\n")
		b.WriteString("    style=dashed;\n")
		nodes(g.OnExit, "    ")
		b.WriteString("  }\n")
	}
	for _, n := range g.All() {
		for _, d := range n.Deps {
			from, to := lastLeaf(d.Node), firstLeaf(n)
			var attrs []string
			if !d.Data {
				attrs = append(attrs, "style=dashed")
			}
			if from != d.Node {
				attrs = append(attrs, "ltail="+dotQuote(dotCluster(d.Node)))
			}
			if to != n {
				attrs = append(attrs, "lhead="+dotQuote(dotCluster(n)))
			}
			fmt.Fprintf(&b, "  %s -> %s", dotQuote(from.Name()), dotQuote(to.Name()))
			if len(attrs) > 0 {
				b.WriteString(" [" + strings.Join(attrs, ", ") + "]")
			}
			b.WriteString(";\n")
		}
	}
	// Invisible edges from the steps nothing waits for keep onExit below
	// the rest, where it runs.
	if len(g.OnExit) > 0 {
		for _, n := range ir.Sinks(g.Steps) {
			fmt.Fprintf(&b, "  %s -> %s [style=invis];\n", dotQuote(lastLeaf(n).Name()), dotQuote(firstLeaf(g.OnExit[0]).Name()))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// dotCluster names a group's cluster; step names are lowercase, so it
// cannot meet "cluster_onExit".
func dotCluster(n *ir.Node) string { return "cluster_" + n.Name() }

var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r\n", `\n`, "\n", `\n`)

// dotQuote writes s as a dot quoted string.
func dotQuote(s string) string { return `"` + dotEscaper.Replace(s) + `"` }

// dotLabel joins lines into one quoted label, one line each.
func dotLabel(lines []string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = dotEscaper.Replace(l)
	}
	return `"` + strings.Join(q, `\n`) + `"`
}

// writeMermaid renders the graph as a Mermaid flowchart.
func writeMermaid(w io.Writer, p *ir.Pipeline) error {
	g := p.Graph()
	var b strings.Builder
	fmt.Fprintf(&b, "---\ntitle: %s\n---\n", p.Metadata.Name)
	b.WriteString("flowchart TD\n")
	var nodes func(ns []*ir.Node, indent string)
	nodes = func(ns []*ir.Node, indent string) {
		for _, n := range ns {
			label := mermaidLabel(stepLines(n.Step))
			if isCluster(n) {
				fmt.Fprintf(&b, "%ssubgraph %s[%s]\n", indent, mermaidID(n), label)
				nodes(n.Children, indent+"  ")
				fmt.Fprintf(&b, "%send\n", indent)
				continue
			}
			fmt.Fprintf(&b, "%s%s[%s]\n", indent, mermaidID(n), label)
		}
	}
	nodes(g.Steps, "  ")
	if len(g.OnExit) > 0 {
		b.WriteString("  subgraph onExit[\"onExit\"]\n")
		nodes(g.OnExit, "    ")
		b.WriteString("  end\n")
		b.WriteString("  style onExit stroke-dasharray: 5 5\n")
	}
	for _, n := range g.All() {
		for _, d := range n.Deps {
			arrow := "-->"
			if !d.Data {
				arrow = "-.->"
			}
			fmt.Fprintf(&b, "  %s %s %s\n", mermaidID(d.Node), arrow, mermaidID(n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidID is a node's or subgraph's id. Step names are DNS-1123 labels
// (no '_'), so replacing '-' keeps ids distinct; the prefix keeps them off
// Mermaid's keywords (end, graph, style) and off "onExit".
func mermaidID(n *ir.Node) string {
	return "s_" + strings.ReplaceAll(n.Name(), "-", "_")
}

// mermaidEscaper turns the characters a quoted Mermaid label cannot hold
// as they are into Mermaid's entity codes.
var mermaidEscaper = strings.NewReplacer(
	`#`, `#35;`, `"`, `#quot;`, `<`, `#lt;`, `>`, `#gt;`, `&`, `#amp;`,
	"\r\n", "<br>", "\n", "<br>",
)

func mermaidLabel(lines []string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = mermaidEscaper.Replace(l)
	}
	return `"` + strings.Join(q, "<br>") + `"`
}
