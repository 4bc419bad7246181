package ir_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/ir"
)

const paramsYAML = head + `  params:
    - {name: s, default: x}
    - {name: i, type: int, default: 1}
    - {name: f, type: float, default: 1.5}
    - {name: b, type: bool, default: false}
    - {name: l, type: list, default: [1]}
    - {name: o, type: object, default: {a: 1}}
    - {name: req}
    - {name: req2, type: int}
` + oneStep

// typed is a value as a test compares it: its type and canonical text.
type typed struct {
	Type ir.ParamType
	Text string
}

func typedValues(m map[string]ir.Value) map[string]typed {
	out := map[string]typed{}
	for k, v := range m {
		out[k] = typed{v.Type(), v.String()}
	}
	return out
}

func TestResolveParams(t *testing.T) {
	p := mustParse(t, paramsYAML)
	tests := []struct {
		name      string
		overrides map[string]string
		want      map[string]typed
	}{{
		name:      "defaults",
		overrides: map[string]string{"req": "r", "req2": "2"},
		want: map[string]typed{
			"s": {ir.TypeString, "x"}, "i": {ir.TypeInt, "1"}, "f": {ir.TypeFloat, "1.5"}, "b": {ir.TypeBool, "false"},
			"l": {ir.TypeList, "[1]"}, "o": {ir.TypeObject, `{"a":1}`}, "req": {ir.TypeString, "r"}, "req2": {ir.TypeInt, "2"},
		},
	}, {
		name: "every type overridden",
		overrides: map[string]string{
			"s": "hello world", "i": "-42", "f": "2.5e3", "b": "true",
			"l": `[1, "a", {"k": null}]`, "o": ` {"x": [1], "y": "<b>"} `, "req": "", "req2": "+7",
		},
		want: map[string]typed{
			"s": {ir.TypeString, "hello world"}, "i": {ir.TypeInt, "-42"}, "f": {ir.TypeFloat, "2.5e3"}, "b": {ir.TypeBool, "true"},
			"l": {ir.TypeList, `[1,"a",{"k":null}]`}, "o": {ir.TypeObject, `{"x":[1],"y":"<b>"}`}, "req": {ir.TypeString, ""}, "req2": {ir.TypeInt, "7"},
		},
	}, {
		name:      "numbers JSON does not write as given",
		overrides: map[string]string{"i": "007", "f": "1.", "req": "r", "req2": "-0"},
		want: map[string]typed{
			"s": {ir.TypeString, "x"}, "i": {ir.TypeInt, "7"}, "f": {ir.TypeInt, "1"}, "b": {ir.TypeBool, "false"},
			"l": {ir.TypeList, "[1]"}, "o": {ir.TypeObject, `{"a":1}`}, "req": {ir.TypeString, "r"}, "req2": {ir.TypeInt, "0"},
		},
	}, {
		name:      "an int is a float",
		overrides: map[string]string{"f": "3", "req": "r", "req2": "0"},
		want: map[string]typed{
			"s": {ir.TypeString, "x"}, "i": {ir.TypeInt, "1"}, "f": {ir.TypeInt, "3"}, "b": {ir.TypeBool, "false"},
			"l": {ir.TypeList, "[1]"}, "o": {ir.TypeObject, `{"a":1}`}, "req": {ir.TypeString, "r"}, "req2": {ir.TypeInt, "0"},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.ResolveParams(tc.overrides)
			if err != nil {
				t.Fatalf("ResolveParams: %v", err)
			}
			if diff := cmp.Diff(tc.want, typedValues(got)); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			// Every value encodes as JSON.
			for k, v := range got {
				if _, err := v.MarshalJSON(); err != nil {
					t.Errorf("%s: MarshalJSON: %v", k, err)
				}
			}
		})
	}
}

func TestResolveParamsErrors(t *testing.T) {
	p := mustParse(t, paramsYAML)
	tests := []struct {
		name      string
		overrides map[string]string
		want      string
	}{{
		name:      "missing defaults",
		overrides: nil,
		want: `parameter "req" has no default: set it with -p req=VALUE
parameter "req2" has no default: set it with -p req2=VALUE`,
	}, {
		name: "every error at once",
		overrides: map[string]string{
			"i": "4.2", "f": "NaN", "b": "yes", "l": "{}", "o": "[1] x", "req2": "0x10",
			"zeta": "1", "alpha": "2",
		},
		want: `parameter "i": "4.2" is not an int
parameter "f": "NaN" is not a float
parameter "b": "yes" is not a bool (true or false)
parameter "l": {} is not a JSON list
parameter "o": not JSON: invalid JSON: unexpected text after the value at offset 3
parameter "req" has no default: set it with -p req=VALUE
parameter "req2": "0x10" is not an int
unknown parameter "alpha"
unknown parameter "zeta"`,
	}, {
		name:      "float out of range",
		overrides: map[string]string{"f": "1e400", "o": `{"a":`, "req": "", "req2": "99999999999999999999"},
		want: `parameter "f": "1e400" is not a float
parameter "o": not JSON: unexpected EOF
parameter "req2": "99999999999999999999" is not an int`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.ResolveParams(tc.overrides)
			if err == nil {
				t.Fatalf("ResolveParams: no error; got %v", got)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestParseOverrides(t *testing.T) {
	got, err := ir.ParseOverrides([]string{"rows=5000", "expr=a=b", "empty="})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"rows": "5000", "expr": "a=b", "empty": ""}, got); diff != "" {
		t.Errorf("overrides (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"rows"}, `parameter "rows": expected name=value`},
		{[]string{"=5"}, `parameter "=5": expected name=value`},
		{[]string{"a=1", "a=2"}, `parameter "a" is set twice`},
	} {
		if _, err := ir.ParseOverrides(tc.flags); err == nil || err.Error() != tc.want {
			t.Errorf("ParseOverrides(%q) error = %v, want %s", tc.flags, err, tc.want)
		}
	}
}

func TestParseValue(t *testing.T) {
	tests := []struct {
		in   string
		typ  ir.ParamType
		want typed
	}{
		{"abc", "", typed{ir.TypeString, "abc"}},
		{"12", ir.TypeString, typed{ir.TypeString, "12"}},
		{"12", ir.TypeInt, typed{ir.TypeInt, "12"}},
		{"1e3", ir.TypeFloat, typed{ir.TypeFloat, "1e3"}},
		{".5", ir.TypeFloat, typed{ir.TypeFloat, "0.5"}},
		{"1", ir.TypeBool, typed{ir.TypeBool, "true"}},
		{"F", ir.TypeBool, typed{ir.TypeBool, "false"}},
		{"[]", ir.TypeList, typed{ir.TypeList, "[]"}},
		{`{"n": 1.50}`, ir.TypeObject, typed{ir.TypeObject, `{"n":1.50}`}},
	}
	for _, tc := range tests {
		t.Run(string(tc.typ)+"/"+tc.in, func(t *testing.T) {
			v, err := ir.ParseValue(tc.in, tc.typ)
			if err != nil {
				t.Fatalf("ParseValue(%q, %s): %v", tc.in, tc.typ, err)
			}
			if got := (typed{v.Type(), v.String()}); got != tc.want {
				t.Errorf("ParseValue(%q, %s) = %v, want %v", tc.in, tc.typ, got, tc.want)
			}
		})
	}
	if _, err := ir.ParseValue("x", "blob"); err == nil || err.Error() != `unknown type "blob"` {
		t.Errorf("ParseValue of an unknown type: %v", err)
	}
}
