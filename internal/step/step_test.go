package step

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/ir"
)

// vals is a fixed Values source.
type vals map[string]string

func (v vals) Value(ref ir.Ref) (string, error) {
	s, ok := v[ref.String()]
	if !ok {
		return "", errors.New("no value for " + ref.String())
	}
	return s, nil
}

func (v vals) Artifact(ref ir.Ref) (cache.ArtifactRef, error) {
	return cache.ArtifactRef{}, errors.New("no artifacts here")
}

func bind(t *testing.T, step string, v vals) *Task {
	t.Helper()
	p, err := ir.Parse("t.yaml", []byte(`apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: t}
spec:
  params: [{name: a}, {name: b}]
  defaults: {image: busybox:1.36}
  steps:
`+step))
	if err != nil {
		t.Fatal(err)
	}
	task, err := Bind(&p.Spec.Steps[0], "t", "run1", "", v)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// A value can never become a placeholder, whatever it holds: "$" right
// before a path placeholder, "${{", "$${{".
func TestBindKeepsValuesLiteral(t *testing.T) {
	for _, a := range []string{"$", "${{ outputs.params.o }}", "$${{", "}}", "{{workflow.name}}", "$(params.x)"} {
		task := bind(t, `    - name: s
      command: [sh, -c, 'x${{ params.a }}${{ outputs.params.o }}']
      outputs: {params: [{name: o}]}
`, vals{"params.a": a})
		got, err := task.Command[2].Expand(func(ref string) (string, error) { return "<" + ref + ">", nil })
		if err != nil {
			t.Fatal(err)
		}
		if want := "x" + a + "<outputs.params.o>"; got != want {
			t.Errorf("a=%q: got %q, want %q", a, got, want)
		}
	}
}

// The key must not change with the place a step runs, nor with a secret's
// value, and must change with every input.
func TestKeyComponents(t *testing.T) {
	const s = `    - name: s
      command: [sh, -c, 'cat ${{ params.a }} > ${{ outputs.artifacts.f }}']
      env: [{name: T, secret: {name: creds, key: token, version: "3"}}]
      outputs: {artifacts: [{name: f}]}
`
	k1 := bind(t, s, vals{"params.a": "x"}).Key()
	if k2 := bind(t, s, vals{"params.a": "x"}).Key(); k1 != k2 {
		t.Errorf("same inputs, different keys")
	}
	if k2 := bind(t, s, vals{"params.a": "y"}).Key(); k1 == k2 {
		t.Errorf("a different value, the same key")
	}
	c := bind(t, s, vals{"params.a": "x"}).Components()
	if diff := cmp.Diff([]cache.EnvVar{{Name: "T", Secret: "creds/token@3"}}, c.Env); diff != "" {
		t.Errorf("env component (-want +got):\n%s", diff)
	}
}

func newRunner(t *testing.T) (*Runner, string) {
	t.Helper()
	s, err := cache.NewFS(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{Store: s, Exec: Process{}}, t.TempDir()
}

func TestFailureWritesNoEntry(t *testing.T) {
	r, dir := newRunner(t)
	task := bind(t, `    - {name: s, command: [sh, -c, 'echo out > ${{ outputs.params.o }}; exit 7'], outputs: {params: [{name: o}]}}
`, nil)
	var log bytes.Buffer
	_, err := r.Execute(context.Background(), task, filepath.Join(dir, "1"), &log, &log)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 7 {
		t.Fatalf("err = %v, want exit code 7", err)
	}
	if _, err := r.Store.GetEntry(context.Background(), task.Key()); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("an entry was written for a failed step: %v", err)
	}
}

func TestOutputParamTypes(t *testing.T) {
	r, dir := newRunner(t)
	tests := []struct {
		write, typ, want, err string
	}{
		{"42\n", "int", "42", ""},
		{" 42 \n", "int", "42", ""},
		{"4.5\n", "float", "4.5", ""},
		{"true", "bool", "true", ""},
		{"[1, 2]\n", "list", "[1,2]", ""},
		{"text\n\n", "string", "text\n", ""},
		{"abc\n", "int", "", `output params.o: "abc" is not an int`},
	}
	for i, tt := range tests {
		task := bind(t, `    - {name: s, cache: {enabled: false}, command: [sh, -c, 'printf "$V" > ${{ outputs.params.o }}'], env: [{name: V, value: '${{ params.a }}'}], outputs: {params: [{name: o, type: `+tt.typ+`}]}}
`, vals{"params.a": tt.write})
		res, err := r.Execute(context.Background(), task, filepath.Join(dir, string(rune('a'+i))), os.Stderr, os.Stderr)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q as %s: err = %v, want %q", tt.write, tt.typ, err, tt.err)
			}
		case err != nil:
			t.Errorf("%q as %s: %v", tt.write, tt.typ, err)
		case res.Params["o"] != tt.want:
			t.Errorf("%q as %s = %q, want %q", tt.write, tt.typ, res.Params["o"], tt.want)
		}
	}
}

func TestVerifyModeCatchesNondeterminism(t *testing.T) {
	r, dir := newRunner(t)
	task := bind(t, `    - {name: s, command: [sh, -c, 'od -An -N4 -tu4 /dev/urandom > ${{ outputs.params.o }}'], outputs: {params: [{name: o}]}}
`, nil)
	first, err := r.Execute(context.Background(), task, filepath.Join(dir, "1"), os.Stderr, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	r.Verify = true
	_, err = r.Execute(context.Background(), task, filepath.Join(dir, "2"), os.Stderr, os.Stderr)
	var verr *VerifyError
	if !errors.As(err, &verr) {
		t.Fatalf("verify: err = %v, want a VerifyError", err)
	}
	// The entry is the first run's still.
	e, err := r.Store.GetEntry(context.Background(), task.Key())
	if err != nil || e.Params["o"] != first.Params["o"] {
		t.Errorf("entry after verify: %v, %v; want the first run's %q", e, err, first.Params["o"])
	}
}

func TestContainerExecutor(t *testing.T) {
	for _, cli := range []string{"docker", "podman"} {
		t.Run(cli, func(t *testing.T) {
			c := Container{CLI: cli}
			if err := c.Available(context.Background()); err != nil {
				t.Skipf("no %s engine here: %v", cli, err)
			}
			r, dir := newRunner(t)
			r.Exec = c
			task := bind(t, `    - {name: s, image: busybox:1.36, command: [sh, -c, 'echo -n hi > ${{ outputs.params.o }}'], outputs: {params: [{name: o}]}}
`, nil)
			res, err := r.Execute(context.Background(), task, filepath.Join(dir, "1"), os.Stderr, os.Stderr)
			if err != nil || res.Params["o"] != "hi" {
				t.Fatalf("%v %+v", err, res)
			}
		})
	}
}
