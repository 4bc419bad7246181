package ir

import (
	"fmt"
	"regexp"
	"strings"
)

// RefKind says what a placeholder refers to.
type RefKind int

// The placeholders of IR.md.
const (
	RefParam          RefKind = iota + 1 // params.NAME
	RefInputParam                        // inputs.params.NAME
	RefInputArtifact                     // inputs.artifacts.NAME
	RefOutputParam                       // outputs.params.NAME
	RefOutputArtifact                    // outputs.artifacts.NAME
	RefStepParam                         // steps.S.outputs.params.NAME
	RefStepArtifact                      // steps.S.outputs.artifacts.NAME
	RefItem                              // item, item.KEY
	RefPipelineName                      // pipeline.name
	RefPipelineRunID                     // pipeline.runId
	RefPipelineStatus                    // pipeline.status
)

// Ref is one parsed placeholder.
type Ref struct {
	Kind RefKind
	Step string // for RefStepParam and RefStepArtifact
	Name string // the parameter, input, output or item field named
}

// String renders the placeholder's expression, as a user writes it between
// ${{ and }}.
func (r Ref) String() string {
	switch r.Kind {
	case RefParam:
		return "params." + r.Name
	case RefInputParam:
		return "inputs.params." + r.Name
	case RefInputArtifact:
		return "inputs.artifacts." + r.Name
	case RefOutputParam:
		return "outputs.params." + r.Name
	case RefOutputArtifact:
		return "outputs.artifacts." + r.Name
	case RefStepParam:
		return "steps." + r.Step + ".outputs.params." + r.Name
	case RefStepArtifact:
		return "steps." + r.Step + ".outputs.artifacts." + r.Name
	case RefItem:
		if r.Name != "" {
			return "item." + r.Name
		}
		return "item"
	case RefPipelineName:
		return "pipeline.name"
	case RefPipelineRunID:
		return "pipeline.runId"
	case RefPipelineStatus:
		return "pipeline.status"
	}
	return "?"
}

// IsArtifact reports whether the placeholder stands for a path to an
// artifact rather than a value.
func (r Ref) IsArtifact() bool {
	switch r.Kind {
	case RefInputArtifact, RefOutputArtifact, RefStepArtifact:
		return true
	}
	return false
}

var (
	nameRE    = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_-]*$`)
	dns1123RE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	itemKeyRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
)

// ParseRef parses the expression between ${{ and }}.
func ParseRef(expr string) (Ref, error) {
	s := strings.TrimSpace(expr)
	f := strings.Split(s, ".")
	bad := func(why string) (Ref, error) {
		return Ref{}, fmt.Errorf("placeholder ${{ %s }}: %s", s, why)
	}
	name := func(r Ref, n string) (Ref, error) {
		if !nameRE.MatchString(n) {
			return bad(fmt.Sprintf("%q is not a valid name", n))
		}
		r.Name = n
		return r, nil
	}
	switch {
	case s == "":
		return bad("empty")
	case f[0] == "params" && len(f) == 2:
		return name(Ref{Kind: RefParam}, f[1])
	case (f[0] == "inputs" || f[0] == "outputs") && len(f) == 3:
		k := map[string]RefKind{
			"inputs.params": RefInputParam, "inputs.artifacts": RefInputArtifact,
			"outputs.params": RefOutputParam, "outputs.artifacts": RefOutputArtifact,
		}[f[0]+"."+f[1]]
		if k == 0 {
			return bad(fmt.Sprintf("expected %s.params.NAME or %s.artifacts.NAME", f[0], f[0]))
		}
		return name(Ref{Kind: k}, f[2])
	case f[0] == "steps":
		if len(f) != 5 || f[2] != "outputs" || (f[3] != "params" && f[3] != "artifacts") {
			return bad("expected steps.STEP.outputs.params.NAME or steps.STEP.outputs.artifacts.NAME")
		}
		if !dns1123RE.MatchString(f[1]) {
			return bad(fmt.Sprintf("%q is not a valid step name", f[1]))
		}
		k := RefStepParam
		if f[3] == "artifacts" {
			k = RefStepArtifact
		}
		return name(Ref{Kind: k, Step: f[1]}, f[4])
	case f[0] == "item" && len(f) == 1:
		return Ref{Kind: RefItem}, nil
	case f[0] == "item" && len(f) == 2:
		if !itemKeyRE.MatchString(f[1]) {
			return bad(fmt.Sprintf("%q is not a valid field name", f[1]))
		}
		return Ref{Kind: RefItem, Name: f[1]}, nil
	case s == "pipeline.name":
		return Ref{Kind: RefPipelineName}, nil
	case s == "pipeline.runId":
		return Ref{Kind: RefPipelineRunID}, nil
	case s == "pipeline.status":
		return Ref{Kind: RefPipelineStatus}, nil
	}
	return bad("unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*")
}

// Segment is a run of literal text or one placeholder.
type Segment struct {
	Lit string
	Ref *Ref
}

// Template is a string with placeholders, parsed.
type Template []Segment

// ParseTemplate splits s into literal text and placeholders. $${{ writes a
// literal ${{; every other character is literal.
func ParseTemplate(s string) (Template, error) {
	var t Template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t = append(t, Segment{Lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${{"):
			lit.WriteString("${{")
			i += 4
		case strings.HasPrefix(s[i:], "${{"):
			end := strings.Index(s[i+3:], "}}")
			if end < 0 {
				return nil, fmt.Errorf("unterminated placeholder at offset %d: missing }}", i)
			}
			r, err := ParseRef(s[i+3 : i+3+end])
			if err != nil {
				return nil, err
			}
			flush()
			t = append(t, Segment{Ref: &r})
			i += 3 + end + 2
		default:
			j := strings.Index(s[i+1:], "$")
			if j < 0 {
				lit.WriteString(s[i:])
				i = len(s)
			} else {
				lit.WriteString(s[i : i+1+j])
				i += 1 + j
			}
		}
	}
	flush()
	return t, nil
}

// Refs lists the template's placeholders in order.
func (t Template) Refs() []Ref {
	var out []Ref
	for _, s := range t {
		if s.Ref != nil {
			out = append(out, *s.Ref)
		}
	}
	return out
}

// Single returns the placeholder when the template is exactly one
// placeholder and nothing else.
func (t Template) Single() (Ref, bool) {
	if len(t) == 1 && t[0].Ref != nil {
		return *t[0].Ref, true
	}
	return Ref{}, false
}

// Expand replaces each placeholder with what resolve returns.
func (t Template) Expand(resolve func(Ref) (string, error)) (string, error) {
	var b strings.Builder
	for _, s := range t {
		if s.Ref == nil {
			b.WriteString(s.Lit)
			continue
		}
		v, err := resolve(*s.Ref)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// String writes the template back in source form, escaping literal ${{.
func (t Template) String() string {
	var b strings.Builder
	for _, s := range t {
		if s.Ref != nil {
			b.WriteString("${{ " + s.Ref.String() + " }}")
			continue
		}
		b.WriteString(strings.ReplaceAll(s.Lit, "${{", "$${{"))
	}
	return b.String()
}

// Expand parses s and replaces its placeholders; a convenience for callers
// that hold validated text.
func Expand(s string, resolve func(Ref) (string, error)) (string, error) {
	t, err := ParseTemplate(s)
	if err != nil {
		return "", err
	}
	return t.Expand(resolve)
}
