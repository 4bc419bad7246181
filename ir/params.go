package ir

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ParseOverrides reads `-p name=value` flags into a map. The value is
// everything after the first '='.
func ParseOverrides(flags []string) (map[string]string, error) {
	out := make(map[string]string, len(flags))
	for _, f := range flags {
		name, val, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("parameter %q: expected name=value", f)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("parameter %q is set twice", name)
		}
		out[name] = val
	}
	return out, nil
}

// ResolveParams returns every parameter's value: its override (parsed by
// the parameter's type) or its default. An unknown name, a value that does
// not fit the type, or a parameter with neither is an error; all are
// reported at once.
func (p *Pipeline) ResolveParams(overrides map[string]string) (map[string]Value, error) {
	out := make(map[string]Value, len(p.Spec.Params))
	var errs []string
	known := map[string]bool{}
	for _, prm := range p.Spec.Params {
		known[prm.Name] = true
		raw, set := overrides[prm.Name]
		switch {
		case set:
			v, err := ParseValue(raw, prm.typ())
			if err != nil {
				errs = append(errs, fmt.Sprintf("parameter %q: %v", prm.Name, err))
				continue
			}
			out[prm.Name] = v
		case prm.Default != nil:
			out[prm.Name] = *prm.Default
		default:
			errs = append(errs, fmt.Sprintf("parameter %q has no default: set it with -p %s=VALUE", prm.Name, prm.Name))
		}
	}
	var unknown []string
	for name := range overrides {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		errs = append(errs, fmt.Sprintf("unknown parameter %q", name))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

// ParseValue reads command-line text as a value of type t: int, float and
// bool by their Go syntax, list and object as JSON, string as is.
func ParseValue(s string, t ParamType) (Value, error) {
	switch t {
	case TypeString, "":
		return NewValue(s), nil
	case TypeInt:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%q is not an int", s)
		}
		return NewValue(json.Number(strconv.FormatInt(i, 10))), nil // "+5", "007": JSON has neither
	case TypeFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return Value{}, fmt.Errorf("%q is not a float", s)
		}
		if !json.Valid([]byte(s)) {
			return NewValue(json.Number(strconv.FormatFloat(f, 'g', -1, 64))), nil
		}
		return NewValue(json.Number(s)), nil
	case TypeBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return Value{}, fmt.Errorf("%q is not a bool (true or false)", s)
		}
		return NewValue(b), nil
	case TypeList, TypeObject:
		var v Value
		if err := v.UnmarshalJSON([]byte(s)); err != nil {
			return Value{}, fmt.Errorf("not JSON: %v", err)
		}
		if v.Type() != t {
			return Value{}, fmt.Errorf("%s is not a JSON %s", truncate(s, 40), t)
		}
		return v, nil
	}
	return Value{}, fmt.Errorf("unknown type %q", t)
}
