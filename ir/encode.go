package ir

import (
	"bytes"
	"encoding/json"
)

// Encode writes the canonical encoding of a pipeline: JSON with fields in
// declaration order, map keys sorted, no HTML escaping, defaults already
// applied. Equal pipelines encode to equal bytes, and Parse reads the
// encoding back to an equal pipeline.
func Encode(p *Pipeline) ([]byte, error) { return canonical(p) }

// EncodeStep writes the canonical encoding of one step.
func EncodeStep(s *Step) ([]byte, error) { return canonical(s) }

func canonical(x any) ([]byte, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(x); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
