package main

import (
	"encoding/base64"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sluice-dev/sluice/internal/launch"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestWhen decides conditions as the local runner does: numbers compare
// as numbers, values are operands, and a value passed base64-encoded or
// as a list arrives intact.
func TestWhen(t *testing.T) {
	tests := []struct {
		name string
		expr string
		args []string
		want string
	}{
		{"numbers as numbers", `${{ steps.a.outputs.params.n }} > 9`, []string{"--in", "steps.a.outputs.params.n=10"}, "true"},
		{"strings as strings", `"${{ params.mode }}-v2" == "full-v2"`, []string{"--in", "params.mode=full"}, "true"},
		{"a value is an operand", `${{ params.x }} == "a"`, []string{"--in", `params.x=x" || "1" == "1`}, "false"},
		{"base64 value", `${{ params.x }} == "{{workflow.name}} $(params.y)"`, []string{"--in-b64", "params.x=" + b64("{{workflow.name}} $(params.y)")}, "true"},
		{"list", `${{ steps.t.outputs.params.r }} == "[1.5,\"b\"]"`, []string{"--in-list", "steps.t.outputs.params.r=float:2", "--", "1.5", `"b"`}, "true"},
		{"string list", `${{ steps.t.outputs.params.r }} == "[\"x\",\"y z\"]"`, []string{"--in-list", "steps.t.outputs.params.r=string:2", "--", "x", "y z"}, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ok")
			args := append([]string{"when", "--when-b64", b64(tt.expr), "--out", out}, tt.args...)
			r := launcher(t, nil, args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if got := readFile(t, out); got != tt.want || r.stdout != tt.want+"\n" {
				t.Errorf("when %s: file %q, stdout %q; want %q", tt.expr, got, r.stdout, tt.want)
			}
		})
	}
}

func TestWhenErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ok")
	for _, args := range [][]string{
		{"when", "--out", out},                           // no condition
		{"when", "--when-b64", b64("1 <"), "--out", out}, // syntax
		{"when", "--when-b64", b64("${{ params.x }}"), "--out", out, "--in", "params.x=maybe"}, // not a bool
		{"when", "--when-b64", b64("${{ params.x }} == 1"), "--out", out},                      // no value
		{"when", "--when-b64", b64("true"), "--out", out, "--in-list", "steps.a.outputs.params.x=int:3", "--", "1"},
	} {
		r := launcher(t, nil, args...)
		if r.code != launch.ExitUsage || ownError(r.stderr) == "" {
			t.Errorf("%q: exit %d, stderr %q; want %d and a sluice-exec: error line", args, r.code, r.stderr, launch.ExitUsage)
		}
	}
}

// TestRunTakesListsAndBase64 passes a loop's outputs and a value an
// engine would rewrite to run: the command sees the local runner's list
// and the exact bytes.
func TestRunTakesListsAndBase64(t *testing.T) {
	dir := t.TempDir()
	specs := pipeline(t, withDir(`
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: lists}
spec:
  params: [{name: p}]
  defaults: {image: busybox:1.36}
  steps:
    - name: loop
      forEach: {items: [1, 2]}
      command: ["true"]
      outputs: {params: [{name: v, type: int}]}
    - name: use
      command: [sh, -c, 'printf %s "$L" > @DIR@/list; printf %s "$P" > @DIR@/p']
      env: [{name: L, value: '${{ steps.loop.outputs.params.v }}'}, {name: P, value: '${{ params.p }}'}]
`, dir))
	url, _ := storeURL(t)
	hostile := "{{workflow.name}} $(params.x) \x01 \"q\"\nline2"
	r := launcher(t, nil, "run", "--spec-b64", specs["use"], "--cache", url,
		"--in-b64", "params.p="+b64(hostile),
		"--in-list", "steps.loop.outputs.params.v=int:"+strconv.Itoa(2), "--", "1", "4")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if got := readFile(t, filepath.Join(dir, "list")); got != "[1,4]" {
		t.Errorf("list = %q, want [1,4]", got)
	}
	if got := readFile(t, filepath.Join(dir, "p")); got != hostile {
		t.Errorf("p = %q, want %q", got, hostile)
	}
}
