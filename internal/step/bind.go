package step

import (
	"fmt"
	"strings"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/ir"
)

// Values gives placeholders their values where a step runs: the local
// runner from what earlier steps left in memory, the in-pod launcher from
// what the engine passed in.
type Values interface {
	// Value returns the value of a placeholder that stands for a value:
	// params.*, steps.*.outputs.params.*, item, pipeline.*.
	Value(ref ir.Ref) (string, error)
	// Artifact returns the artifact that a steps.*.outputs.artifacts.*
	// placeholder names.
	Artifact(ref ir.Ref) (cache.ArtifactRef, error)
}

// Bind resolves a command step for one execution: input parameters,
// every value placeholder, and the input artifacts by digest. Placeholders
// that stand for paths stay in the Task for Execute.
func Bind(s *ir.Step, pipeline, run, id string, v Values) (*Task, error) {
	t := &Task{
		Pipeline:   pipeline,
		Run:        run,
		Step:       s.Name,
		ID:         id,
		Image:      s.Image,
		WorkingDir: s.WorkingDir,
		Cache:      s.Cache.IsEnabled(),
	}
	if s.Outputs != nil {
		t.Outputs = *s.Outputs
	}
	if s.Cache != nil {
		t.Salt = s.Cache.Salt
		if s.Cache.TTL != nil {
			t.TTL = s.Cache.TTL.Duration
		}
	}
	if s.Timeout != nil {
		t.Timeout = s.Timeout.Duration
	}
	b := &binder{v: v, arts: map[string]cache.ArtifactRef{}, inputs: map[string]string{}}
	if in := s.Inputs; in != nil {
		for _, ip := range in.Params {
			text := ip.Value
			if ip.From != "" {
				text = ip.From
			}
			val, err := ir.Expand(text, v.Value)
			if err != nil {
				return nil, fmt.Errorf("inputs.params.%s: %w", ip.Name, err)
			}
			b.inputs[ip.Name] = val
		}
		for _, ia := range in.Artifacts {
			tmpl, err := ir.ParseTemplate(ia.From)
			if err != nil {
				return nil, fmt.Errorf("inputs.artifacts.%s: %w", ia.Name, err)
			}
			ref, ok := tmpl.Single()
			if !ok || ref.Kind != ir.RefStepArtifact {
				return nil, fmt.Errorf("inputs.artifacts.%s: from must be one steps.*.outputs.artifacts.* placeholder", ia.Name)
			}
			a, err := v.Artifact(ref)
			if err != nil {
				return nil, fmt.Errorf("inputs.artifacts.%s: %w", ia.Name, err)
			}
			b.arts["inputs.artifacts."+ia.Name] = a
		}
		if len(b.inputs) > 0 {
			t.Params = b.inputs
		}
	}
	var err error
	if t.Command, err = b.texts("command", s.Command); err != nil {
		return nil, err
	}
	if t.Args, err = b.texts("args", s.Args); err != nil {
		return nil, err
	}
	for _, e := range s.Env {
		env := Env{Name: e.Name, Secret: e.Secret}
		if e.Secret == nil {
			if env.Value, err = b.text(e.Value); err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
		}
		t.Env = append(t.Env, env)
	}
	if len(b.arts) > 0 {
		t.Artifacts = b.arts
	}
	return t, nil
}

type binder struct {
	v      Values
	arts   map[string]cache.ArtifactRef
	inputs map[string]string
}

func (b *binder) texts(field string, in []string) ([]Text, error) {
	out := make([]Text, 0, len(in))
	for i, s := range in {
		x, err := b.text(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, x)
	}
	return out, nil
}

// text resolves the value placeholders of one string; a steps.*.outputs.
// artifacts.* placeholder also makes its artifact an input of the task.
func (b *binder) text(s string) (Text, error) {
	if !strings.Contains(s, "${{") {
		return Literal(s), nil
	}
	tmpl, err := ir.ParseTemplate(s)
	if err != nil {
		return nil, err
	}
	return Resolve(tmpl, func(ref ir.Ref) (string, bool, error) {
		switch ref.Kind {
		case ir.RefInputParam:
			v, ok := b.inputs[ref.Name]
			if !ok {
				return "", false, fmt.Errorf("${{ %s }}: no such input", ref)
			}
			return v, true, nil
		case ir.RefStepArtifact:
			a, err := b.v.Artifact(ref)
			if err != nil {
				return "", false, err
			}
			b.arts[ref.String()] = a
			return "", false, nil
		case ir.RefInputArtifact, ir.RefOutputParam, ir.RefOutputArtifact:
			return "", false, nil // paths: resolved where the step runs
		}
		v, err := b.v.Value(ref)
		return v, err == nil, err
	})
}
