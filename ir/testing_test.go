package ir_test

import (
	"testing"

	"github.com/sluice-dev/sluice/ir"
)

// testFile is the name fixtures are parsed under; positions in wanted
// errors start with it.
const testFile = "test.yaml"

// head is the start of most fixtures: a body appended to it starts on line 6
// with the keys of spec.
const head = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata:
  name: p
spec:
`

// mustParse parses a fixture that must be valid.
func mustParse(t testing.TB, yaml string) *ir.Pipeline {
	t.Helper()
	p, err := ir.Parse(testFile, []byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

// fieldErr is a FieldError reduced to what a user reads.
type fieldErr struct {
	Pos  string
	Path string
	Msg  string
}

// fieldErrs flattens the field errors inside err.
func fieldErrs(err error) []fieldErr {
	var out []fieldErr
	for _, e := range ir.Errors(err) {
		out = append(out, fieldErr{Pos: e.Pos.String(), Path: string(e.Path), Msg: e.Msg})
	}
	return out
}
