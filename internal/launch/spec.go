package launch

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

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
// JSON's zlib compression (RFC 1950) with the preset dictionary specDict,
// or of the JSON itself when that is shorter. A spec travels once per
// task, so its length decides how many tasks fit in one engine object;
// the dictionary, which holds the text every spec repeats, shrinks a
// typical one to a third. The JSON is the canonical encoding of ir
// (fields in declaration order, map keys sorted), and compression at a
// fixed level is deterministic, so equal specs give equal strings and
// adapter golden files stay stable.
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
	data := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	var z bytes.Buffer
	w := writers.Get().(*zlib.Writer)
	defer writers.Put(w)
	w.Reset(&z)
	_, _ = w.Write(data)
	if err := w.Close(); err == nil && z.Len() < len(data) {
		data = z.Bytes()
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// writers are zlib writers with specDict, reused: each holds a few
// hundred KiB of state.
var writers = sync.Pool{New: func() any {
	w, err := zlib.NewWriterLevelDict(nil, zlib.BestCompression, []byte(specDict))
	if err != nil {
		panic(err)
	}
	return w
}}

// specDict is the preset dictionary of compressed specs: the JSON that
// specs repeat, the commonest last (DEFLATE codes nearer text in fewer
// bits). It is part of the launcher's contract: a stream names its
// dictionary by checksum, so a launcher with another dictionary refuses
// the spec instead of misreading it. Change it only with the launcher.
const specDict = `"resources":{"requests":{"limits":{"gpus":{"count":"nodeSelector":{"tolerations":[{"volumes":[{"retry":{"limit":"backoff":{` +
	`"mountPath":"readOnly":true"secret":{"key":"version":"cache":{"enabled":false"salt":"timeout":"workingDir":"` +
	`"type":"int"type":"float"type":"bool"type":"list"type":"object"` +
	`"forEach":{"items":"parallelism":"when":"` +
	`${{ pipeline.name }}${{ pipeline.runId }}${{ pipeline.status }}${{ item }}${{ item.` +
	`"inputs":{"params":[{"name":"","value":"","from":"${{ steps.` +
	`"artifacts":[{"name":"","from":"${{ steps.${{ inputs.artifacts.${{ inputs.params.` +
	`"env":[{"name":"","value":"${{ params.` +
	`"args":["sh","-c","` +
	`.outputs.artifacts..outputs.params.${{ outputs.artifacts.${{ outputs.params.` +
	`}}"],"outputs":{"params":[{"name":"` +
	`{"pipeline":"","step":{"name":"","image":"","command":["`

// maxSpec bounds a spec's JSON, compressed or not: a pipeline file's
// bound, which no single step of one exceeds.
const maxSpec = ir.MaxFileSize

// Decode reads a spec from Encode's form. Surrounding white space is
// ignored. The JSON is read strictly: a field this launcher does not know
// is an error rather than silently ignored, since it could change what the
// step does or its cache key (launcher and adapter come from one release).
func Decode(b64 string) (*Spec, error) {
	data, err := SpecJSON(b64)
	if err != nil {
		return nil, err
	}
	return DecodeJSON(data)
}

// unbase64 reads Encode's form back into JSON. The JSON starts with "{"
// and a zlib stream with 0x78, so each is told from the other.
func SpecJSON(b64 string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("decode spec: not standard base64: %w", err)
	}
	if len(data) == 0 || data[0] != 0x78 {
		return data, nil
	}
	r, err := zlib.NewReaderDict(bytes.NewReader(data), []byte(specDict))
	if err != nil {
		return nil, fmt.Errorf("decode spec: %w", err)
	}
	data, err = io.ReadAll(io.LimitReader(r, maxSpec+1))
	if err != nil {
		return nil, fmt.Errorf("decode spec: %w", err)
	}
	if len(data) > maxSpec {
		return nil, fmt.Errorf("decode spec: longer than %d bytes", maxSpec)
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
	data, err := SpecJSON(b64)
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
