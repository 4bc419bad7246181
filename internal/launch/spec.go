package launch

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sluice-dev/sluice/ir"
)

// Spec is what an engine adapter hands the launcher for one step: the step
// exactly as it stands in the pipeline (defaults applied), and the name of
// its pipeline. It travels base64-encoded (SpecEnv, --spec-b64), so that no
// text of the user's goes through a field the engine templates: base64
// contains neither `{{` nor `$(`.
type Spec struct {
	Pipeline string  `json:"pipeline"`
	Step     ir.Step `json:"step"`
}

// Encode returns the spec as the launcher takes it: standard base64 of its
// JSON. The JSON is the canonical encoding of ir (fields in declaration
// order, map keys sorted), so equal specs give equal strings and adapter
// golden files stay stable.
func (s *Spec) Encode() (string, error) {
	step, err := ir.EncodeStep(&s.Step)
	if err != nil {
		return "", fmt.Errorf("encode spec: %w", err)
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	err = e.Encode(struct {
		Pipeline string          `json:"pipeline"`
		Step     json.RawMessage `json:"step"`
	}{s.Pipeline, step})
	if err != nil {
		return "", fmt.Errorf("encode spec: %w", err)
	}
	return base64.StdEncoding.EncodeToString(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// Decode reads a spec from Encode's form. Surrounding white space is
// ignored. The JSON is read strictly: a field this launcher does not know
// is an error rather than silently ignored, since it could change what the
// step does or its cache key (launcher and adapter come from one release).
func Decode(b64 string) (*Spec, error) {
	data, err := unbase64(b64)
	if err != nil {
		return nil, err
	}
	return DecodeJSON(data)
}

func unbase64(b64 string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("decode spec: not standard base64: %w", err)
	}
	return data, nil
}

// DecodeJSON reads a spec from its JSON, strictly, and checks it.
func DecodeJSON(data []byte) (*Spec, error) {
	s, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// DecodeCondition reads the spec of a condition (`sluice-exec when`) from
// Encode's form: a step with a name and a when, a forEach, or both, and
// nothing the launcher would run.
func DecodeCondition(b64 string) (*Spec, error) {
	data, err := unbase64(b64)
	if err != nil {
		return nil, err
	}
	s, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	var errs []error
	if s.Step.Name == "" {
		errs = append(errs, errors.New("step.name is empty"))
	}
	if s.Step.When == "" && s.Step.ForEach == nil {
		errs = append(errs, errors.New("step has neither when nor forEach: nothing to decide"))
	}
	if s.Step.ForEach != nil && s.Step.ForEach.Items == nil {
		errs = append(errs, errors.New("step.forEach.items is missing"))
	}
	if len(s.Step.Command) > 0 || s.Step.IsGroup() {
		errs = append(errs, errors.New("a condition's step has no command and no steps"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	return s, nil
}

func decodeJSON(data []byte) (*Spec, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	s := new(Spec)
	if err := d.Decode(s); err != nil {
		return nil, fmt.Errorf("decode spec: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("decode spec: unexpected data after the JSON object")
	}
	return s, nil
}

// Validate checks what the launcher relies on: one command step. The
// pipeline was validated where the spec was made; this only catches specs
// that were never a step of a valid pipeline.
func (s *Spec) Validate() error {
	var errs []error
	if s.Step.Name == "" {
		errs = append(errs, errors.New("step.name is empty"))
	}
	if s.Step.IsGroup() {
		errs = append(errs, errors.New("step is a group: the launcher runs command steps only"))
	} else if len(s.Step.Command) == 0 {
		errs = append(errs, errors.New("step.command is empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	return nil
}
