package ir

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// schemaTypes walks the pipeline's types from Pipeline, as Schema does, and
// returns every struct type reachable through json-tagged fields.
func schemaTypes() []reflect.Type {
	var out []reflect.Type
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || t == valueType || t == durationType {
			return
		}
		seen[t] = true
		out = append(out, t)
		for _, f := range jsonFields(t) {
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[Pipeline]())
	return out
}

func jsonFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "" && name != "-" {
			f.Name = name
			out = append(out, f)
		}
	}
	return out
}

func mustSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := Schema()
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	if !json.Valid(b) {
		t.Fatalf("Schema is not valid JSON:\n%s", b)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func defOf(t *testing.T, s map[string]any, name string) map[string]any {
	t.Helper()
	d, ok := s["$defs"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("$defs has no %s", name)
	}
	return d
}

func TestSchemaFields(t *testing.T) {
	s := mustSchema(t)
	if got := s["$schema"]; got != SchemaDialect {
		t.Errorf("$schema = %v, want %s", got, SchemaDialect)
	}
	if got := s["$ref"]; got != "#/$defs/Pipeline" {
		t.Errorf("$ref = %v, want #/$defs/Pipeline", got)
	}
	for _, typ := range schemaTypes() {
		def := defOf(t, s, typ.Name())
		if def["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties = %v, want false", typ.Name(), def["additionalProperties"])
		}
		props, _ := def["properties"].(map[string]any)
		var want, got []string
		for _, f := range jsonFields(typ) {
			want = append(want, f.Name)
		}
		for name := range props {
			got = append(got, name)
		}
		slices.Sort(want)
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s properties (-want +got):\n%s", typ.Name(), diff)
		}
	}
}

// TestSchemaKeyOrder checks that properties come in field order, as the
// docs and the canonical encoding give them.
func TestSchemaKeyOrder(t *testing.T) {
	b, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		Defs map[string]struct {
			Properties json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	for _, typ := range schemaTypes() {
		dec := json.NewDecoder(bytes.NewReader(def.Defs[typ.Name()].Properties))
		var got []string
		depth := 0
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			switch tok := tok.(type) {
			case json.Delim:
				if tok == '{' || tok == '[' {
					depth++
				} else {
					depth--
				}
			case string:
				if depth == 1 {
					got = append(got, tok)
					// Skip the property's value.
					var skip json.RawMessage
					if err := dec.Decode(&skip); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		var want []string
		for _, f := range jsonFields(typ) {
			want = append(want, f.Name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s property order (-want +got):\n%s", typ.Name(), diff)
		}
	}
}

func TestSchemaRequired(t *testing.T) {
	s := mustSchema(t)
	required := func(def map[string]any) []string {
		var out []string
		for _, r := range def["required"].([]any) {
			out = append(out, r.(string))
		}
		return out
	}
	tests := []struct {
		def  string
		want []string
	}{
		{"Pipeline", []string{"apiVersion", "kind", "metadata", "spec"}},
		{"Metadata", []string{"name"}},
		{"Spec", []string{"steps"}},
		{"ForEach", []string{"items"}},
		{"InputArtifact", []string{"name", "from"}},
		{"Volume", []string{"name", "mountPath"}},
	}
	for _, tt := range tests {
		t.Run(tt.def, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, required(defOf(t, s, tt.def))); diff != "" {
				t.Errorf("required (-want +got):\n%s", diff)
			}
		})
	}
	if _, ok := defOf(t, s, "Step")["required"]; ok {
		t.Errorf("Step: name is required in $defs, want it optional there (spec.defaults has none)")
	}

	spec := defOf(t, s, "Spec")["properties"].(map[string]any)
	group := defOf(t, s, "Group")["properties"].(map[string]any)
	for name, list := range map[string]any{"Spec.steps": spec["steps"], "Spec.onExit": spec["onExit"], "Group.steps": group["steps"]} {
		items := list.(map[string]any)["items"].(map[string]any)
		if diff := cmp.Diff([]any{"name"}, items["required"]); diff != "" {
			t.Errorf("%s items: required (-want +got):\n%s", name, diff)
		}
	}
	forbidden := spec["defaults"].(map[string]any)["properties"].(map[string]any)
	for _, f := range notInDefaults {
		if forbidden[f] != false {
			t.Errorf("Spec.defaults: %s = %v, want false (not allowed in defaults)", f, forbidden[f])
		}
	}
}

// TestSchemaDocs keeps the description table in step with the types: every
// type and field has a description, and every entry names one.
func TestSchemaDocs(t *testing.T) {
	want := map[string]bool{"Value": true, "Duration": true, "ParamType": true}
	for _, typ := range schemaTypes() {
		want[typ.Name()] = true
		for _, f := range jsonFields(typ) {
			want[typ.Name()+"."+f.Name] = true
		}
	}
	for key := range want {
		if strings.TrimSpace(schemaDocs[key]) == "" {
			t.Errorf("schemaDocs[%q] is missing", key)
		}
	}
	for key := range schemaDocs {
		if !want[key] {
			t.Errorf("schemaDocs[%q] names no type or field", key)
		}
	}
	for _, table := range []map[string]bool{keys(schemaConsts), keys(schemaEnums)} {
		for key := range table {
			if !want[key] || !strings.Contains(key, ".") {
				t.Errorf("%q names no field", key)
			}
		}
	}
}

func keys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// TestSchemaDurationPattern checks the pattern against the parser: the
// schema accepts exactly the durations Decode accepts (a "-0" aside).
func TestSchemaDurationPattern(t *testing.T) {
	re := regexp.MustCompile(durationPattern)
	for _, s := range []string{
		"0", "+0", "90s", "1h30m", "1.5h", ".5s", "1.s", "300ms", "2us", "2µs", "2μs", "10ns", "1h2m3s4ms5us6ns", "+5m",
		"", "-5s", "5", "s", "1d", "1 h", "h1", ".s", "1..5s", "1e3s", "00", "1h-2m", " 1s",
	} {
		_, err := parseDuration(s)
		if got, want := re.MatchString(s), err == nil; got != want {
			t.Errorf("%q: pattern matches = %v, parseDuration accepts = %v (%v)", s, got, want, err)
		}
	}
}

func TestSchemaDeterministic(t *testing.T) {
	a, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, err := Schema()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatal("Schema output differs between calls")
		}
	}
}

// TestSchemaCommitted fails when docs/pipeline.schema.json is stale.
func TestSchemaCommitted(t *testing.T) {
	want, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../docs/pipeline.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("docs/pipeline.schema.json is stale; run `go generate ./ir` (or `go run ./cmd/sluice schema > docs/pipeline.schema.json`) (-want +got):\n%s", diff)
	}
}
