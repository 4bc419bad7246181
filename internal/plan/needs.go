package plan

import (
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/ir"
)

// Needs lists the placeholders whose values the launcher of command step s
// must be given (--in), each once, sorted by their text: params.*,
// steps.*.outputs.params.*, steps.*.outputs.artifacts.*, item (which also
// serves item.KEY: the launcher reads the field from the item),
// pipeline.name, pipeline.runId and pipeline.status. It reads the fields
// the launcher binds: command, args, env values and inputs. The step's
// when and forEach.items are the engine's to evaluate (see WhenNeeds and
// ItemsNeeds); inputs.* and outputs.* are paths the launcher resolves.
func Needs(s *ir.Step) []ir.Ref {
	c := collector{}
	for _, t := range s.Command {
		c.text(t)
	}
	for _, t := range s.Args {
		c.text(t)
	}
	for _, e := range s.Env {
		if e.Secret == nil {
			c.text(e.Value)
		}
	}
	if in := s.Inputs; in != nil {
		for _, ip := range in.Params {
			c.text(ip.Value)
			c.text(ip.From)
		}
		for _, ia := range in.Artifacts {
			c.text(ia.From)
		}
	}
	return c.sorted()
}

// WhenNeeds lists the placeholders a `when` condition reads, as Needs
// does. The text must be a valid condition.
func WhenNeeds(when string) ([]ir.Ref, error) {
	w, err := ir.ParseWhen(when)
	if err != nil {
		return nil, err
	}
	c := collector{}
	for _, r := range w.Refs() {
		c.add(r)
	}
	return c.sorted(), nil
}

// ItemsNeeds lists the placeholders that forEach items read: none for a
// literal list.
func ItemsNeeds(fe *ir.ForEach) []ir.Ref {
	c := collector{}
	if fe != nil && fe.Items != nil {
		if s, ok := fe.Items.Interface().(string); ok {
			c.text(s)
		}
	}
	return c.sorted()
}

type collector map[ir.Ref]bool

func (c collector) text(s string) {
	if !strings.Contains(s, "${{") {
		return
	}
	t, err := ir.ParseTemplate(s)
	if err != nil {
		return // validation reports it
	}
	for _, r := range t.Refs() {
		c.add(r)
	}
}

func (c collector) add(r ir.Ref) {
	switch r.Kind {
	case ir.RefInputParam, ir.RefInputArtifact, ir.RefOutputParam, ir.RefOutputArtifact:
		return
	case ir.RefItem:
		r.Name = ""
	}
	c[r] = true
}

func (c collector) sorted() []ir.Ref {
	out := make([]ir.Ref, 0, len(c))
	for r := range c {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
