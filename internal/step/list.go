package step

import (
	"bytes"
	"encoding/json"

	"github.com/sluice-dev/sluice/ir"
)

// ListElem is one iteration's value of an output of type t as an element
// of the loop's JSON list: a string output as a JSON string, any other
// (or a value that is itself a loop's list, nested) as the JSON it is.
// Every backend builds a loop's list output with it, so the list — and
// the cache keys of the steps that read it — are the same everywhere.
func ListElem(v string, t ir.ParamType, nested bool) any {
	if (t == ir.TypeString && !nested) || !json.Valid([]byte(v)) {
		return v
	}
	return json.RawMessage(v)
}

// JSONList renders a loop's list output: compact, HTML characters as
// they are.
func JSONList(elems []any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(elems)
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
