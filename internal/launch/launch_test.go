package launch

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
)

// MustParse parses a pipeline and returns its steps by name.
func MustParse(t *testing.T, yaml string) map[string]ir.Step {
	t.Helper()
	p, err := ir.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	steps := map[string]ir.Step{}
	for _, s := range p.Spec.Steps {
		steps[s.Name] = s
	}
	return steps
}

const pipe = `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: p}
spec:
  defaults: {image: busybox:1.36, cache: {salt: v2, ttl: 168h}}
  steps:
    - name: train
      command: [python, train.py, --lr, '${{ item.lr }}', --in, '${{ inputs.artifacts.data }}', '{{workflow.name}} $(params.x)']
      inputs:
        params: [{name: n, value: '${{ item }}'}]
        artifacts: [{name: data, from: '${{ steps.gen.outputs.artifacts.raw }}'}]
      env: [{name: TOKEN, secret: {name: creds, key: token, version: "3"}}]
      forEach: {items: [{lr: 0.1}, {lr: 0.01}]}
      timeout: 90m
      retry: {limit: 2}
      outputs: {params: [{name: rmse, type: float}]}
    - name: gen
      command: [sh, -c, 'seq 3 > ${{ outputs.artifacts.raw }}']
      outputs: {artifacts: [{name: raw}]}
`

func TestSpecRoundTrip(t *testing.T) {
	for name, st := range MustParse(t, pipe) {
		t.Run(name, func(t *testing.T) {
			in := &Spec{Pipeline: "p", Step: st}
			b64, err := in.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b64, "{{") || strings.Contains(b64, "$(") {
				t.Errorf("encoded spec holds engine template syntax: %s", b64)
			}
			out, err := Decode(b64)
			if err != nil {
				t.Fatal(err)
			}
			again, err := out.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if again != b64 {
				t.Errorf("decode then encode changed the spec:\n%s\n%s", b64, again)
			}
			// The step binds to the same key before and after the trip.
			vals, err := ParseBindings([]string{
				"item={\"lr\":0.1}",
				"steps.gen.outputs.artifacts.raw=cas://sha256/" + strings.Repeat("ab", 32) + "?kind=file&size=6",
			})
			if err != nil {
				t.Fatal(err)
			}
			k1 := bind(t, &in.Step, vals).Key()
			k2 := bind(t, &out.Step, vals).Key()
			if k1 != k2 {
				t.Errorf("keys differ after the round trip: %s, %s", k1, k2)
			}
		})
	}
}

func bind(t *testing.T, s *ir.Step, v step.Values) *step.Task {
	t.Helper()
	task, err := step.Bind(s, "p", "run", "", v)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestDecodeRejects(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for name, in := range map[string]string{
		"not base64":         "{{not base64}}",
		"not JSON":           b64("pipeline: p"),
		"unknown field":      b64(`{"pipeline":"p","step":{"name":"s","command":["x"]},"extra":1}`),
		"unknown step field": b64(`{"pipeline":"p","step":{"name":"s","command":["x"],"comand":["y"]}}`),
		"trailing data":      b64(`{"pipeline":"p","step":{"name":"s","command":["x"]}} {}`),
		"no name":            b64(`{"pipeline":"p","step":{"command":["x"]}}`),
		"no command":         b64(`{"pipeline":"p","step":{"name":"s"}}`),
		"group":              b64(`{"pipeline":"p","step":{"name":"g","group":{"steps":[{"name":"s","command":["x"]}]}}}`),
	} {
		if _, err := Decode(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestBindingsValue(t *testing.T) {
	b, err := ParseBindings([]string{
		`item={"lr":0.01,"name":"a b","nested":{"x":[1,2]}}`,
		"item.name=explicit",
		"params.rows=1000",
		"steps.s.outputs.params.v=a=b=c",
		"pipeline.status=Succeeded",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref  string
		want string
		ok   bool
	}{
		{"item.lr", "0.01", true},
		{"item.nested", `{"x":[1,2]}`, true},
		{"item.name", "explicit", true}, // given itself, it wins
		{"item", `{"lr":0.01,"name":"a b","nested":{"x":[1,2]}}`, true},
		{"params.rows", "1000", true},
		{"steps.s.outputs.params.v", "a=b=c", true},
		{"pipeline.status", "Succeeded", true},
		{"item.missing", "", false},
		{"params.other", "", false},
		{"pipeline.runId", "", false},
	}
	for _, tt := range tests {
		ref, err := ir.ParseRef(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Value(ref)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Value(%s) = %q, %v; want %q, ok %v", tt.ref, got, err, tt.want, tt.ok)
		}
	}
	// A scalar item has no fields.
	b, _ = ParseBindings([]string{"item=0.1"})
	if _, err := b.Value(ir.Ref{Kind: ir.RefItem, Name: "lr"}); err == nil {
		t.Error("item.lr of a scalar item: no error")
	}
}

func TestParseBindingsRejects(t *testing.T) {
	for _, arg := range []string{
		"params.rows",              // no =
		"rows=1",                   // not a placeholder
		"inputs.params.x=1",        // the launcher's to resolve
		"outputs.artifacts.x=/tmp", // a path
		"inputs.artifacts.x=cas://sha256/" + strings.Repeat("0", 64) + "?kind=file&size=1",
		"steps.a.outputs.artifacts.x=/tmp/x",                         // not a URI
		"steps.a.outputs.params.x=cas://sha256/zz?kind=value&size=1", // a broken value ref
	} {
		if _, err := ParseBindings([]string{arg}); err == nil {
			t.Errorf("--in %s: no error", arg)
		}
	}
	if _, err := ParseBindings([]string{"params.a=1", "params.a=2"}); err == nil {
		t.Error("a key given twice: no error")
	}
}

func TestInline(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"", true},
		{"plain", true},
		{`{"a":[1,2]}`, true},
		{"two\nlines", true},
		{"${HOME} $HOME {x} $ (", true},
		{"${{ params.x }}", false}, // holds {{
		{strings.Repeat("a", 100), true},
		{strings.Repeat("a", 101), false},
		{"trailing\n", false},
		{"{{workflow.name}}", false},
		{"$(params.x)", false},
		{"cas://sha256/whatever", false},
		{"\xff\xfe", false},
		{"bell\a", false}, // Argo cannot carry it through its JSON quoting
		{"del\x7f", false},
		{"tab\tand\r\nmore", true},
		{"émoji 😀", true},
		// Tekton would read a custom task's result of these as an array.
		{`["a"]`, false},
		{` ["a", "b"] `, false},
		{`[null]`, false},
		{`[]`, true},
		{`[1, 2]`, true},
		{`[{"a": 1}]`, true},
		{`["a"`, true},
	}
	for _, tt := range tests {
		if got := Inline(tt.v, 100); got != tt.want {
			t.Errorf("Inline(%q, 100) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestValueRefs(t *testing.T) {
	ctx := context.Background()
	s, err := cache.NewFS(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	v := "{{x}}\n" + strings.Repeat("é", 3000)
	ref, err := PutValue(ctx, s, v)
	if err != nil {
		t.Fatal(err)
	}
	if !IsValueRef(ref) || !strings.HasSuffix(ref, "?kind=value&size=6006") {
		t.Errorf("ref %q", ref)
	}
	got, err := GetValue(ctx, s, ref)
	if err != nil || got != v {
		t.Errorf("GetValue = %d bytes, %v; want the value back", len(got), err)
	}
	wrongSize := strings.Replace(ref, "size=6006", "size=6005", 1)
	if _, err := GetValue(ctx, s, wrongSize); err == nil {
		t.Error("a ref with the wrong size: no error")
	}
	for _, notRef := range []string{"cas://sha256/" + strings.Repeat("0", 64) + "?kind=file&size=1", "value", "s3://x?kind=value"} {
		if IsValueRef(notRef) {
			t.Errorf("IsValueRef(%q) = true", notRef)
		}
	}
}

func TestRenderLimits(t *testing.T) {
	ctx := context.Background()
	s, err := cache.NewFS(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	outs := ir.Outputs{
		Params:    []ir.OutputParam{{Name: "a"}, {Name: "b"}, {Name: "c"}},
		Artifacts: []ir.OutputArtifact{{Name: "x"}},
	}
	art := cache.ArtifactRef{Kind: cache.KindFile, Size: 1}
	res := &step.Result{
		Params:    map[string]string{"a": strings.Repeat("a", 400), "b": strings.Repeat("b", 300), "c": "c"},
		Artifacts: map[string]cache.ArtifactRef{"x": art},
	}
	tests := []struct {
		name   string
		lim    Limits
		inline []string
	}{
		{"all fit", Limits{MaxValue: 1000}, []string{"a", "b", "c"}},
		{"per value", Limits{MaxValue: 350}, []string{"b", "c"}},
		{"total: the largest goes first", Limits{MaxValue: 1000, MaxTotal: 600}, []string{"b", "c"}},
		{"total: both large ones go", Limits{MaxValue: 1000, MaxTotal: 300}, []string{"c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			texts, err := render(ctx, s, outs, res, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			var inline []string
			total := 0
			for _, p := range outs.Params {
				text := texts["params."+p.Name]
				total += len(text)
				if text == res.Params[p.Name] {
					inline = append(inline, p.Name)
				} else if got, err := GetValue(ctx, s, text); err != nil || got != res.Params[p.Name] {
					t.Errorf("params.%s: %q is neither the value nor a ref to it (%v)", p.Name, text, err)
				}
			}
			total += len(texts["artifacts.x"])
			if diff := cmp.Diff(tt.inline, inline); diff != "" {
				t.Errorf("inline values (-want +got):\n%s", diff)
			}
			if texts["artifacts.x"] != art.URI() {
				t.Errorf("artifacts.x = %q, want %q", texts["artifacts.x"], art.URI())
			}
			if tt.lim.MaxTotal > 0 && total > tt.lim.MaxTotal {
				t.Errorf("total %d over the bound %d", total, tt.lim.MaxTotal)
			}
		})
	}
	if _, err := render(ctx, s, outs, res, Limits{MaxValue: 1000, MaxTotal: 50}); err == nil {
		t.Error("a bound below the artifact URIs' size: no error")
	}
}

func TestEnvSecrets(t *testing.T) {
	st := MustParse(t, pipe)["train"]
	secrets := envSecrets(&st, []string{"PATH=/bin", "TOKEN=s3cret=with=equals"})
	got, err := secrets(ir.SecretRef{Name: "creds", Key: "token", Version: "3"})
	if err != nil || got != "s3cret=with=equals" {
		t.Errorf("secret = %q, %v", got, err)
	}
	if _, err := envSecrets(&st, []string{"PATH=/bin"})(ir.SecretRef{Name: "creds", Key: "token", Version: "3"}); err == nil {
		t.Error("no TOKEN in the environment: no error")
	}
	if _, err := secrets(ir.SecretRef{Name: "other", Key: "k"}); err == nil {
		t.Error("a secret no variable takes: no error")
	}
}

// TestSpecEncoding pins the form adapters generate and the launcher
// reads: the canonical JSON, compressed with the spec dictionary when
// that is shorter, in base64, and read back exactly.
func TestSpecEncoding(t *testing.T) {
	s := &Spec{Pipeline: "p", Step: ir.Step{Name: "s", Image: "busybox:1.36", Command: []string{"echo", "{{x}} $(y) <&>"}}}
	b64, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	got, err := SpecJSON(b64)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"pipeline":"p","step":{"name":"s","image":"busybox:1.36","command":["echo","{{x}} $(y) <&>"]}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("encoded spec (-want +got):\n%s", diff)
	}
	if raw[0] != 0x78 || len(raw) >= len(want) {
		t.Errorf("spec of %d bytes encoded as %d bytes, starting %#x: want zlib, shorter", len(want), len(raw), raw[0])
	}
	// Plain JSON (what Encode writes when compression gains nothing)
	// decodes too.
	if back, err := Decode(base64.StdEncoding.EncodeToString([]byte(want))); err != nil || back.Step.Name != "s" {
		t.Errorf("Decode(plain JSON) = %v, %v", back, err)
	}
	// A stream made with another dictionary is refused, not misread.
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevelDict(&z, zlib.BestCompression, []byte("another dictionary"))
	_, _ = w.Write([]byte(want))
	_ = w.Close()
	if _, err := Decode(base64.StdEncoding.EncodeToString(z.Bytes())); err == nil {
		t.Error("a spec compressed with another dictionary: no error")
	}
}

// TestSpecBomb: a compressed spec that inflates past the bound is
// refused without inflating it all.
func TestSpecBomb(t *testing.T) {
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevelDict(&z, zlib.BestCompression, []byte(specDict))
	chunk := bytes.Repeat([]byte{' '}, 1<<20)
	for range maxSpec>>20 + 2 {
		_, _ = w.Write(chunk)
	}
	_ = w.Close()
	if _, err := Decode(base64.StdEncoding.EncodeToString(z.Bytes())); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("bomb: err = %v, want a bound", err)
	}
}
