package ir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
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
	return yamlSafe(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// yamlSafe escapes the characters JSON writes as they are but YAML reads
// differently (NEL is a line break to YAML) or not at all (DEL, the other
// C1 controls, U+FFFE and U+FFFF). JSON puts them only inside strings.
func yamlSafe(b []byte) []byte {
	if !bytes.ContainsFunc(b, notYAML) {
		return b
	}
	var out bytes.Buffer
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if notYAML(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
		} else {
			out.Write(b[:n])
		}
		b = b[n:]
	}
	return out.Bytes()
}

func notYAML(r rune) bool { return r >= 0x7f && r <= 0x9f || r == 0xfffe || r == 0xffff }
