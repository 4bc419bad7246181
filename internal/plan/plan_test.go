package plan_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/ir"
)

func refs(t *testing.T, texts ...string) []ir.Ref {
	t.Helper()
	var out []ir.Ref
	for _, s := range texts {
		r, err := ir.ParseRef(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestNeeds(t *testing.T) {
	s := &ir.Step{
		Name:    "s",
		Command: []string{"echo", "${{ params.b }} ${{ item.k }} ${{ outputs.params.o }}"},
		Args:    []string{"${{ steps.x.outputs.artifacts.a }}", "$${{ params.literal }}"},
		Env: []ir.EnvVar{
			{Name: "A", Value: "${{ pipeline.runId }}"},
			{Name: "B", Secret: &ir.SecretRef{Name: "s", Key: "k"}},
		},
		Inputs: &ir.Inputs{
			Params:    []ir.InputParam{{Name: "p", From: "${{ steps.y.outputs.params.v }}"}, {Name: "q", Value: "${{ params.a }}-${{ params.b }}"}},
			Artifacts: []ir.InputArtifact{{Name: "f", From: "${{ steps.x.outputs.artifacts.a }}"}},
		},
		When: "${{ params.w }} == 1",
	}
	want := refs(t, "item", "params.a", "params.b", "pipeline.runId", "steps.x.outputs.artifacts.a", "steps.y.outputs.params.v")
	if diff := cmp.Diff(want, plan.Needs(s)); diff != "" {
		t.Errorf("Needs (-want +got):\n%s", diff)
	}
	w, err := plan.WhenNeeds(s.When)
	if err != nil || len(w) != 1 || w[0].String() != "params.w" {
		t.Errorf("WhenNeeds = %v, %v", w, err)
	}
	items := ir.NewValue("${{ steps.z.outputs.params.l }}")
	if got := plan.ItemsNeeds(&ir.ForEach{Items: &items}); len(got) != 1 || got[0].Step != "z" {
		t.Errorf("ItemsNeeds = %v", got)
	}
}

func TestFold(t *testing.T) {
	item := ir.NewValue(map[string]any{"k": 2})
	c := plan.Consts{
		Pipeline: "p",
		Params:   map[string]ir.Value{"n": ir.NewValue(3), "mode": ir.NewValue("fast")},
		Item:     &item,
	}
	tests := []struct {
		when           string
		value, decided bool
		err            bool
	}{
		{when: `${{ params.n }} > 2`, value: true, decided: true},
		{when: `${{ params.n }} == 3.0`, value: true, decided: true}, // numbers compare as numbers
		{when: `${{ params.mode }} == "full"`, decided: true},
		{when: `${{ item.k }} >= 2 && "${{ pipeline.name }}" == "p"`, value: true, decided: true},
		{when: `${{ steps.s.outputs.params.v }} > 1`},
		{when: `${{ params.mode }} == "full" && ${{ steps.s.outputs.params.v }} > 1`, decided: true}, // && decides
		{when: `${{ params.n }} > 1 || ${{ pipeline.runId }} == "x"`, value: true, decided: true},
		{when: `${{ pipeline.status }} == "Failed"`},
		{when: `${{ params.mode }}`, err: true},    // not true or false, wherever it runs
		{when: `${{ item.nope }} == 1`, err: true}, // no such field
	}
	for _, tt := range tests {
		v, decided, err := plan.Fold(tt.when, c)
		if v != tt.value || decided != tt.decided || (err != nil) != tt.err {
			t.Errorf("Fold(%s) = %v, %v, %v; want %v, %v, error %v", tt.when, v, decided, err, tt.value, tt.decided, tt.err)
		}
	}
	c.Status = ir.StatusFailed
	if v, decided, _ := plan.Fold(`${{ pipeline.status }} == "Failed"`, c); !v || !decided {
		t.Errorf("a known status does not decide")
	}
}

func TestItems(t *testing.T) {
	grid := ir.NewValue([]any{1, "a"})
	c := plan.Consts{Params: map[string]ir.Value{"grid": grid}}
	for _, tt := range []struct {
		items any
		n     int
		known bool
	}{
		{[]any{1, 2, 3}, 3, true},
		{"${{ params.grid }}", 2, true},
		{"${{ steps.s.outputs.params.l }}", 0, false},
	} {
		v := ir.NewValue(tt.items)
		got, known, err := plan.Items(&ir.ForEach{Items: &v}, c)
		if err != nil || known != tt.known || len(got) != tt.n {
			t.Errorf("Items(%v) = %v, %v, %v", tt.items, got, known, err)
		}
	}
}

func TestLiteral(t *testing.T) {
	for _, tt := range []struct {
		v   string
		b64 bool
	}{
		{"plain text, quotes \" ' and newlines\n", false},
		{"{{workflow.name}}", false}, // Argo's, not Tekton's
		{"$(params.x)", true},
		{"cas://sha256/" + strings.Repeat("0", 64) + "?kind=value&size=1", true},
		{"nul\x00", true},
		{"\xff", true},
	} {
		got := plan.Literal("params.p", tt.v, "$(")
		if got.B64 != tt.b64 {
			t.Errorf("Literal(%q).B64 = %v, want %v", tt.v, got.B64, tt.b64)
		}
		text := got.Text
		if got.B64 {
			b, _ := base64.StdEncoding.DecodeString(text)
			text = string(b)
		}
		if text != tt.v {
			t.Errorf("Literal(%q) carries %q", tt.v, text)
		}
	}
}

func TestRunArgs(t *testing.T) {
	r := plan.Run{
		Spec:     "U1BFQw==",
		Cache:    "s3://b/p",
		In:       []plan.Value{{Key: "params.p", Text: "1"}, {Key: "item", Text: "JCg=", B64: true}},
		Lists:    []plan.List{{Key: "steps.l.outputs.params.v", Type: ir.TypeInt, Count: "2", Elems: []string{"$(params.l[*])"}}},
		Out:      []plan.Out{{Name: "params.o", Path: "/out/o"}},
		MaxValue: 100,
	}
	want := []string{"run", "--spec-b64=U1BFQw==", "--cache=s3://b/p", "--in=params.p=1", "--in-b64=item=JCg=",
		"--out=params.o=/out/o", "--max-value-bytes=100", "--in-list=steps.l.outputs.params.v=int:2", "--", "$(params.l[*])"}
	if diff := cmp.Diff(want, r.Args()); diff != "" {
		t.Errorf("Run.Args (-want +got):\n%s", diff)
	}
	w := plan.When{Spec: "U1BFQw==", OutWhen: "/r/w", OutItems: "/r/i"}
	if diff := cmp.Diff([]string{"when", "--spec-b64=U1BFQw==", "--out=when=/r/w", "--out=items=/r/i"}, w.Args()); diff != "" {
		t.Errorf("When.Args (-want +got):\n%s", diff)
	}
	// An iteration of a matrix: its index, or its item with it; a reader
	// of lists whose elements are followed by their iterations' indexes.
	r = plan.Run{
		Spec: "U1BFQw==",
		In:   []plan.Value{{Key: "item", Text: "$(params.i)", Indexed: true}},
		Lists: []plan.List{
			{Key: "steps.a.outputs.params.v", Type: ir.TypeInt, Count: "$(params.n)", Elems: []string{"$(params.a[*])"}, Index: []string{"$(params.ai[*])"}},
			{Key: "steps.b.outputs.params.w", Count: "2", Elems: []string{"x", "y"}},
		},
	}
	want = []string{"run", "--spec-b64=U1BFQw==", "--in-item=$(params.i)",
		"--in-list=steps.a.outputs.params.v=int:$(params.n)", "--in-list-index=steps.a.outputs.params.v", "--in-list=steps.b.outputs.params.w=string:2",
		"--", "$(params.a[*])", "$(params.ai[*])", "x", "y"}
	if diff := cmp.Diff(want, r.Args()); diff != "" {
		t.Errorf("Run.Args (-want +got):\n%s", diff)
	}
	r = plan.Run{Spec: "U1BFQw==", In: []plan.Value{{Key: "item", Text: "$(params.i)"}}, Index: "$(params.x)", Out: []plan.Out{{Name: "index", Path: "/r/x"}}}
	want = []string{"run", "--spec-b64=U1BFQw==", "--in=item=$(params.i)", "--index=$(params.x)", "--out=index=/r/x"}
	if diff := cmp.Diff(want, r.Args()); diff != "" {
		t.Errorf("Run.Args (-want +got):\n%s", diff)
	}
	w = plan.When{Spec: "U1BFQw==", OutWhen: "/r/w", OutKept: "/r/k", OutRuns: "/r/r"}
	if diff := cmp.Diff([]string{"when", "--spec-b64=U1BFQw==", "--out=when=/r/w", "--out=kept=/r/k", "--out=runs=/r/r"}, w.Args()); diff != "" {
		t.Errorf("When.Args (-want +got):\n%s", diff)
	}
	l := plan.JSONList{Key: "steps.l.outputs.params.v", Type: ir.TypeInt, Depth: 2, Text: "{{x}}"}
	if got, want := l.Arg(), "--in-json-list=steps.l.outputs.params.v=int:2:{{x}}"; got != want {
		t.Errorf("JSONList.Arg = %q, want %q", got, want)
	}
}

func TestConditionSpec(t *testing.T) {
	items := ir.NewValue("${{ params.l }}")
	s := &ir.Step{Name: "s", Image: "i", Command: []string{"c"}, When: "${{ item }} > 1", ForEach: &ir.ForEach{Items: &items, Parallelism: 2}}
	for _, loop := range []bool{false, true} {
		b64, err := plan.ConditionSpec("p", s, loop)
		if err != nil {
			t.Fatal(err)
		}
		got, err := launch.DecodeCondition(b64)
		if err != nil {
			t.Fatal(err)
		}
		want := ir.Step{Name: "s", When: s.When}
		if loop {
			want.ForEach = s.ForEach
		}
		if diff := cmp.Diff(want, got.Step, cmp.AllowUnexported(ir.Value{})); diff != "" {
			t.Errorf("loop %v: condition spec (-want +got):\n%s", loop, diff)
		}
	}
}

func TestSpec(t *testing.T) {
	s := &ir.Step{Name: "s", Description: "d", Image: "i", Command: []string{"c"}, When: "true", After: []string{"x"},
		Retry: &ir.Retry{Limit: 2}, NodeSelector: map[string]string{"a": "b"}}
	b64, err := plan.Spec("p", s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := launch.Decode(b64)
	if err != nil {
		t.Fatal(err)
	}
	want := ir.Step{Name: "s", Image: "i", Command: []string{"c"}}
	if diff := cmp.Diff(want, got.Step); diff != "" || got.Pipeline != "p" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}
