package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/ir"
)

// wantErrors renders what ir.Load reports for a file, one problem a line.
func wantErrors(t *testing.T, file string) string {
	t.Helper()
	_, err := ir.Load(file)
	fes := ir.Errors(err)
	if len(fes) < 2 {
		t.Fatalf("ir.Load(%s) = %v, want several field errors", file, err)
	}
	var b strings.Builder
	for _, fe := range fes {
		b.WriteString(fe.Error() + "\n")
	}
	return b.String()
}

func TestValidate(t *testing.T) {
	const good, bad = "testdata/valid.yaml", "testdata/invalid.yaml"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{
			name:       "valid",
			args:       []string{good},
			wantCode:   exitOK,
			wantStdout: good + ": ok\n",
		},
		{
			name:       "invalid",
			args:       []string{bad},
			wantCode:   exitFailure,
			wantStderr: wantErrors(t, bad),
		},
		{
			name:       "every file is checked",
			args:       []string{bad, good, "testdata/graph/basic.yaml"},
			wantCode:   exitFailure,
			wantStdout: good + ": ok\ntestdata/graph/basic.yaml: ok\n",
			wantStderr: wantErrors(t, bad),
		},
		{
			name:       "missing file",
			args:       []string{"testdata/missing.yaml", good},
			wantCode:   exitFailure,
			wantStdout: good + ": ok\n",
			wantStderr: "open testdata/missing.yaml: no such file or directory\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := sluice(t, append([]string{"validate"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantStdout, stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStderr, stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	const good, bad = "testdata/valid.yaml", "testdata/invalid.yaml"
	code, stdout, stderr := sluice(t, "validate", "-o", "json", good, bad)
	if code != exitFailure || stderr != "" {
		t.Fatalf("exit code %d, stderr %q; want 1 and nothing on stderr", code, stderr)
	}
	var got []fileResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not a JSON list of results: %v\n%s", err, stdout)
	}
	_, err := ir.Load(bad)
	var badErrs []fileError
	for _, fe := range ir.Errors(err) {
		badErrs = append(badErrs, fileError{File: bad, Line: fe.Pos.Line, Col: fe.Pos.Col, Path: string(fe.Path), Message: fe.Msg})
	}
	want := []fileResult{
		{File: good, Errors: []fileError{}},
		{File: bad, Errors: badErrs},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for _, e := range got[1].Errors {
		if e.Line == 0 || e.Col == 0 || e.Path == "" {
			t.Errorf("%+v: want a line, a column and a path", e)
		}
	}
	// Valid files only: exit 0, and the list still says so.
	code, stdout, _ = sluice(t, "validate", "-o", "json", good)
	if code != exitOK || !json.Valid([]byte(stdout)) {
		t.Errorf("exit code %d, stdout %q; want 0 and JSON", code, stdout)
	}
}
