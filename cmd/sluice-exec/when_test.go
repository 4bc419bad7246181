package main

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/ir"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// cond is the --spec-b64 of a condition: a step with a when and, when
// items is not "", a forEach over items (a placeholder, or a JSON list).
func cond(t *testing.T, when, items string) string {
	t.Helper()
	step := ir.Step{Name: "s", When: when}
	if items != "" {
		v := ir.NewValue(items)
		if items[0] == '[' {
			var err error
			if v, err = ir.ParseValue(items, ir.TypeList); err != nil {
				t.Fatal(err)
			}
		}
		step.ForEach = &ir.ForEach{Items: &v}
	}
	spec, err := (&launch.Spec{Pipeline: "p", Step: step}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestWhen decides conditions as the local runner does: numbers compare
// as numbers, values are operands, and a value passed base64-encoded or
// as a list (either engine's form) arrives intact.
func TestWhen(t *testing.T) {
	const list = "steps.t.outputs.params.r"
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
		{"pipeline name", `"${{ pipeline.name }}" == "p"`, nil, "true"},
		{"list", `${{ ` + list + ` }} == "[1.5,\"b\"]"`, []string{"--in-list", list + "=float:2", "--", "1.5", `"b"`}, "true"},
		{"string list", `${{ ` + list + ` }} == "[\"x\",\"y z\"]"`, []string{"--in-list", list + "=string:2", "--", "x", "y z"}, "true"},
		{"aggregated strings", `${{ ` + list + ` }} == "[\"x\",\"{{y}}\"]"`, []string{"--in-json-list", list + `=string:1:["x","{{y}}"]`}, "true"},
		{"aggregated numbers", `${{ ` + list + ` }} == "[1,2.5]"`, []string{"--in-json-list", list + `=float:1:["1","2.5"]`}, "true"},
		{"aggregated embedded objects", `${{ ` + list + ` }} == "[{\"a\":1},[2]]"`, []string{"--in-json-list", list + `=object:1:[{"a":1},[2]]`}, "true"},
		{"aggregated two deep", `${{ ` + list + ` }} == "[[\"a\",\"b\"],[]]"`, []string{"--in-json-list", list + `=string:2:[["a","b"],[]]`}, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ok")
			args := append([]string{"when", "--spec-b64", cond(t, tt.expr, ""), "--out", "when=" + out}, tt.args...)
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

// TestWhenItems is a loop's condition: the items that pass, in order,
// each base64-encoded, from a literal list, a step's output or the
// enclosing loop's item; the step runs when one passes.
func TestWhenItems(t *testing.T) {
	tests := []struct {
		name, when, items string
		args              []string
		want              []string
	}{
		{"literal, numbers as numbers", `${{ item }} > 3`, `[1, 5, 10, "2"]`, nil, []string{"5", "10"}},
		{"no when keeps all", "", `${{ steps.a.outputs.params.l }}`, []string{"--in", `steps.a.outputs.params.l=["$(x)",{"k":"v"}]`}, []string{"$(x)", `{"k":"v"}`}},
		{"item fields", `"${{ item.k }}" == "x"`, `${{ params.l }}`, []string{"--in", `params.l=[{"k":"x","n":1},{"k":"y"},{"k":"x","n":3}]`}, []string{`{"k":"x","n":1}`, `{"k":"x","n":3}`}},
		{"enclosing item", `${{ params.min }} <= ${{ item }}`, `${{ item }}`, []string{"--in", "params.min=2", "--in-b64", "item=" + b64("[1,2,3]")}, []string{"2", "3"}},
		{"none pass", `${{ item }} > 100`, `[1, 2]`, nil, []string{}},
		{"aggregated list", "", `${{ steps.t.outputs.params.r }}`, []string{"--in-json-list", `steps.t.outputs.params.r=int:1:["4","2"]`}, []string{"4", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"when", "--spec-b64", cond(t, tt.when, tt.items), "--out-dir", dir}, tt.args...)
			r := launcher(t, nil, args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			var enc []string
			if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, launch.ItemsFile))), &enc); err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, e := range enc {
				b, err := base64.StdEncoding.DecodeString(e)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(b))
			}
			if strconv.Quote(fmtList(got)) != strconv.Quote(fmtList(tt.want)) {
				t.Errorf("items = %q, want %q", got, tt.want)
			}
			// The iterations file holds every item, the same ones marked
			// to run.
			var its []struct{ Run, B64 string }
			if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, launch.IterationsFile))), &its); err != nil {
				t.Fatal(err)
			}
			ran := []string{}
			for _, it := range its {
				b, err := base64.StdEncoding.DecodeString(it.B64)
				if err != nil || (it.Run != "true" && it.Run != "false") {
					t.Fatalf("iteration %+v", it)
				}
				if it.Run == "true" {
					ran = append(ran, string(b))
				}
			}
			if fmtList(ran) != fmtList(tt.want) || len(its) < len(tt.want) {
				t.Errorf("iterations %+v: running %q, want %q", its, ran, tt.want)
			}
			// The kept file is the items that pass, each with its index
			// among all the items: the iterations that run.
			var kept []string
			if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, launch.KeptFile))), &kept); err != nil {
				t.Fatal(err)
			}
			last := -1
			for _, k := range kept {
				i, enc, _ := strings.Cut(k, ":")
				n, err := strconv.Atoi(i)
				if err != nil || n <= last || n >= len(its) || its[n].Run != "true" || its[n].B64 != enc {
					t.Fatalf("kept %q after index %d, iterations %+v", k, last, its)
				}
				last = n
			}
			if len(kept) != len(tt.want) {
				t.Errorf("kept %q, want %d items", kept, len(tt.want))
			}
			if w := readFile(t, filepath.Join(dir, launch.WhenFile)); w != strconv.FormatBool(len(tt.want) > 0) {
				t.Errorf("%s = %q with %d items", launch.WhenFile, w, len(tt.want))
			}
		})
	}
}

func fmtList(l []string) string {
	b, _ := json.Marshal(l)
	return string(b)
}

func TestWhenErrors(t *testing.T) {
	out := "when=" + filepath.Join(t.TempDir(), "ok")
	command, err := (&launch.Spec{Pipeline: "p", Step: ir.Step{Name: "s", Command: []string{"true"}}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"when", "--out", out},                                                                         // no condition
		{"when", "--spec-b64", command, "--out", out},                                                  // a command step
		{"when", "--spec-b64", cond(t, "true", "")},                                                    // nowhere to write
		{"when", "--spec-b64", cond(t, "true", ""), "--out", "items=/x"},                               // not a loop
		{"when", "--spec-b64", cond(t, "1 <", ""), "--out", out},                                       // syntax
		{"when", "--spec-b64", cond(t, "${{ params.x }}", ""), "--out", out, "--in", "params.x=maybe"}, // not a bool
		{"when", "--spec-b64", cond(t, "${{ params.x }} == 1", ""), "--out", out},                      // no value
		{"when", "--spec-b64", cond(t, "true", ""), "--out", out, "--in-list", "steps.a.outputs.params.x=int:3", "--", "1"},
		{"when", "--spec-b64", cond(t, "true", ""), "--out", out, "--in-json-list", "steps.a.outputs.params.x=int:2:[1]"},
		{"when", "--spec-b64", cond(t, "", "${{ params.l }}"), "--out", out, "--in", "params.l=not a list"},
		{"when", "--spec-b64", cond(t, "true", ""), "--out", out, "--index", "1"}, // a condition is no iteration
		{"when", "--spec-b64", cond(t, "true", ""), "--out", "kept=/x"},           // not a loop
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
