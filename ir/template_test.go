package ir_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/ir"
)

func ref(kind ir.RefKind, step, name string) *ir.Ref {
	return &ir.Ref{Kind: kind, Step: step, Name: name}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		in   string
		want ir.Template
	}{
		{"", nil},
		{"plain text", ir.Template{{Lit: "plain text"}}},
		{"${{ params.rows }}", ir.Template{{Ref: ref(ir.RefParam, "", "rows")}}},
		{"${{params.rows}}", ir.Template{{Ref: ref(ir.RefParam, "", "rows")}}},
		{"${{\tparams.rows\n}}", ir.Template{{Ref: ref(ir.RefParam, "", "rows")}}},
		{"seq 1 ${{ params.rows }} > ${{ outputs.artifacts.raw }}", ir.Template{
			{Lit: "seq 1 "}, {Ref: ref(ir.RefParam, "", "rows")}, {Lit: " > "}, {Ref: ref(ir.RefOutputArtifact, "", "raw")},
		}},
		{"${{ item }}${{ item.lr }}", ir.Template{{Ref: ref(ir.RefItem, "", "")}, {Ref: ref(ir.RefItem, "", "lr")}}},
		// $${{ writes ${{, and nothing else is special.
		{"$${{ params.rows }}", ir.Template{{Lit: "${{ params.rows }}"}}},
		{"a $${{ x ${{ params.rows }}", ir.Template{{Lit: "a ${{ x "}, {Ref: ref(ir.RefParam, "", "rows")}}},
		{"$$${{ params.rows }}", ir.Template{{Lit: "$${{ params.rows }}"}}},
		{"$$$${{ params.rows }}", ir.Template{{Lit: "$$${{ params.rows }}"}}},
		{"{{inputs.parameters.x}} {{=sprig.x}} $(params.x) $VAR ${VAR} $$ $ ${ {{ }}", ir.Template{
			{Lit: "{{inputs.parameters.x}} {{=sprig.x}} $(params.x) $VAR ${VAR} $$ $ ${ {{ }}"},
		}},
		{"${{ params.a }} }}", ir.Template{{Ref: ref(ir.RefParam, "", "a")}, {Lit: " }}"}}},
		{"trailing $", ir.Template{{Lit: "trailing $"}}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ir.ParseTemplate(tc.in)
			if err != nil {
				t.Errorf("ParseTemplate(%q): %v", tc.in, err)
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseTemplate(%q) (-want +got):\n%s", tc.in, diff)
			}
			// String writes the source back in a form that parses to the same.
			again, err := ir.ParseTemplate(got.String())
			if err != nil {
				t.Errorf("ParseTemplate(%q.String() = %q): %v", tc.in, got.String(), err)
			} else if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("ParseTemplate(%q.String() = %q) (-want +got):\n%s", tc.in, got.String(), diff)
			}
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"${{ params.rows", "unterminated placeholder at offset 0: missing }}"},
		{"abc ${{ params.rows }", "unterminated placeholder at offset 4: missing }}"},
		{"${{}}", "placeholder ${{  }}: empty"},
		{"${{   }}", "placeholder ${{  }}: empty"},
		{"${{ params }}", "placeholder ${{ params }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*"},
		{"${{ params. }}", `placeholder ${{ params. }}: "" is not a valid name`},
		{"${{ params.1x }}", `placeholder ${{ params.1x }}: "1x" is not a valid name`},
		{"${{ params.a.b }}", "placeholder ${{ params.a.b }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*"},
		{"${{ inputs.files.x }}", "placeholder ${{ inputs.files.x }}: expected inputs.params.NAME or inputs.artifacts.NAME"},
		{"${{ outputs.x }}", "placeholder ${{ outputs.x }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*"},
		{"${{ steps.a.outputs.params }}", "placeholder ${{ steps.a.outputs.params }}: expected steps.STEP.outputs.params.NAME or steps.STEP.outputs.artifacts.NAME"},
		{"${{ steps.a.inputs.params.x }}", "placeholder ${{ steps.a.inputs.params.x }}: expected steps.STEP.outputs.params.NAME or steps.STEP.outputs.artifacts.NAME"},
		{"${{ steps.A.outputs.params.x }}", `placeholder ${{ steps.A.outputs.params.x }}: "A" is not a valid step name`},
		{"${{ steps.a.outputs.params.x y }}", `placeholder ${{ steps.a.outputs.params.x y }}: "x y" is not a valid name`},
		{"${{ item.a.b }}", "placeholder ${{ item.a.b }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*"},
		{"${{ item.a b }}", `placeholder ${{ item.a b }}: "a b" is not a valid field name`},
		{"${{ pipeline.uid }}", "placeholder ${{ pipeline.uid }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*"},
		{"${{ Params.x }}", "placeholder ${{ Params.x }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*"},
		{"${{ ${{ params.x }}", "placeholder ${{ ${{ params.x }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*"},
		{"ok ${{ params.a }} then ${{ bad }}", "placeholder ${{ bad }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ir.ParseTemplate(tc.in)
			if err == nil {
				t.Fatalf("ParseTemplate(%q): no error, want %q", tc.in, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("ParseTemplate(%q) error:\n got %q\nwant %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want ir.Ref
		art  bool
	}{
		{"params.rows", ir.Ref{Kind: ir.RefParam, Name: "rows"}, false},
		{"inputs.params.n", ir.Ref{Kind: ir.RefInputParam, Name: "n"}, false},
		{"inputs.artifacts.data", ir.Ref{Kind: ir.RefInputArtifact, Name: "data"}, true},
		{"outputs.params.count", ir.Ref{Kind: ir.RefOutputParam, Name: "count"}, false},
		{"outputs.artifacts.raw", ir.Ref{Kind: ir.RefOutputArtifact, Name: "raw"}, true},
		{"steps.ingest.outputs.params.n", ir.Ref{Kind: ir.RefStepParam, Step: "ingest", Name: "n"}, false},
		{"steps.ingest-2.outputs.artifacts.raw_v2", ir.Ref{Kind: ir.RefStepArtifact, Step: "ingest-2", Name: "raw_v2"}, true},
		{"item", ir.Ref{Kind: ir.RefItem}, false},
		{"item.lr", ir.Ref{Kind: ir.RefItem, Name: "lr"}, false},
		{"pipeline.name", ir.Ref{Kind: ir.RefPipelineName}, false},
		{"pipeline.runId", ir.Ref{Kind: ir.RefPipelineRunID}, false},
		{"pipeline.status", ir.Ref{Kind: ir.RefPipelineStatus}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ir.ParseRef(" " + tc.in + " ")
			if err != nil {
				t.Fatalf("ParseRef(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseRef(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("ParseRef(%q).String() = %q", tc.in, got.String())
			}
			if got.IsArtifact() != tc.art {
				t.Errorf("ParseRef(%q).IsArtifact() = %v", tc.in, got.IsArtifact())
			}
		})
	}
}

func TestTemplateRefsSingleExpand(t *testing.T) {
	tmpl, err := ir.ParseTemplate("--in=${{ steps.a.outputs.artifacts.raw }} --n ${{ params.n }} $${{ params.n }}")
	if err != nil {
		t.Fatal(err)
	}
	wantRefs := []ir.Ref{{Kind: ir.RefStepArtifact, Step: "a", Name: "raw"}, {Kind: ir.RefParam, Name: "n"}}
	if diff := cmp.Diff(wantRefs, tmpl.Refs()); diff != "" {
		t.Errorf("Refs (-want +got):\n%s", diff)
	}
	if _, ok := tmpl.Single(); ok {
		t.Errorf("Single() = true for a template with text")
	}
	values := map[string]string{"steps.a.outputs.artifacts.raw": "/tmp/raw", "params.n": `5 "; rm -rf /`}
	resolve := func(r ir.Ref) (string, error) { return values[r.String()], nil }
	got, err := tmpl.Expand(resolve)
	if err != nil {
		t.Fatal(err)
	}
	// Values are inserted as they are, never parsed again.
	if want := `--in=/tmp/raw --n 5 "; rm -rf / ${{ params.n }}`; got != want {
		t.Errorf("Expand = %q, want %q", got, want)
	}

	for _, in := range []string{"${{ params.n }}", " ${{ params.n }}", "${{ params.n }}${{ params.n }}", ""} {
		tmpl, err := ir.ParseTemplate(in)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := tmpl.Single()
		if want := in == "${{ params.n }}"; ok != want || (ok && r != ir.Ref{Kind: ir.RefParam, Name: "n"}) {
			t.Errorf("ParseTemplate(%q).Single() = %v, %v", in, r, ok)
		}
	}

	errNo := errors.New("no value")
	if _, err := ir.Expand("a ${{ params.x }}", func(ir.Ref) (string, error) { return "", errNo }); !errors.Is(err, errNo) {
		t.Errorf("Expand error = %v, want %v", err, errNo)
	}
	if _, err := ir.Expand("a ${{ params.x", resolve); err == nil {
		t.Errorf("Expand of a malformed template: no error")
	}
	if got, err := ir.Expand("$${{ x }} ${{ params.n }}", resolve); err != nil || got != `${{ x }} 5 "; rm -rf /` {
		t.Errorf("Expand = %q, %v", got, err)
	}
}
