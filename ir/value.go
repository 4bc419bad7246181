package ir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Value is a JSON value from the pipeline file: a parameter's default or
// override, forEach items. Numbers keep their literal text (json.Number), so
// a value round-trips exactly.
type Value struct {
	v any // nil, bool, json.Number, string, []any, map[string]any
}

// NewValue wraps a Go value made of nil, bool, json.Number, string, []any
// and map[string]any. Other numbers are converted to json.Number. Lists
// and maps are copied, so the Value shares nothing with v.
func NewValue(v any) Value { return Value{v: normalize(v)} }

func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return json.Number(strconv.Itoa(x))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case float64:
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

// Interface returns the Go value: nil, bool, json.Number, string, []any or
// map[string]any.
func (v Value) Interface() any { return v.v }

// IsString reports whether the value is a JSON string.
func (v Value) IsString() bool { _, ok := v.v.(string); return ok }

// List returns the elements of a list value.
func (v Value) List() ([]Value, bool) {
	l, ok := v.v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]Value, len(l))
	for i, e := range l {
		out[i] = Value{v: e}
	}
	return out, true
}

// Field returns the field of an object value.
func (v Value) Field(name string) (Value, bool) {
	m, ok := v.v.(map[string]any)
	if !ok {
		return Value{}, false
	}
	e, ok := m[name]
	return Value{v: e}, ok
}

// ItemText is the text ${{ item }} (field "") or ${{ item.FIELD }}
// expands to when v is the loop's item; an error for a field the item
// does not have.
func (v Value) ItemText(field string) (string, error) {
	if field == "" {
		return v.String(), nil
	}
	f, ok := v.Field(field)
	if !ok {
		s := v.String()
		if len(s) > 60 {
			s = s[:60] + "…"
		}
		return "", fmt.Errorf("the item %s has no field %q", s, field)
	}
	return f.String(), nil
}

// String is the text a placeholder expands to: a string as is, anything
// else as compact JSON (numbers as written, true/false, lists and objects).
func (v Value) String() string {
	if s, ok := v.v.(string); ok {
		return s
	}
	if n, ok := v.v.(json.Number); ok {
		return string(n)
	}
	b, err := marshalCompact(v.v)
	if err != nil {
		return fmt.Sprint(v.v)
	}
	return string(b)
}

// MarshalJSON writes the value as JSON.
func (v Value) MarshalJSON() ([]byte, error) { return marshalCompact(v.v) }

// UnmarshalJSON reads any JSON value, keeping numbers as written.
func (v *Value) UnmarshalJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return err
	}
	end := d.InputOffset()
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("invalid JSON: unexpected text after the value at offset %d", end)
	}
	v.v = x
	return nil
}

// marshalCompact encodes without HTML escaping, so values stay readable
// and byte-identical to what the user wrote.
func marshalCompact(x any) ([]byte, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(x); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Type reports which ParamType the value has; numbers with no fraction
// or exponent are int.
func (v Value) Type() ParamType {
	switch x := v.v.(type) {
	case string:
		return TypeString
	case bool:
		return TypeBool
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return TypeInt
		}
		return TypeFloat
	case []any:
		return TypeList
	case map[string]any:
		return TypeObject
	}
	return ""
}
