package main

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/adapters/local"
	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/ir"
)

// withDir puts dir wherever a pipeline says @DIR@.
func withDir(yaml, dir string) string { return strings.ReplaceAll(yaml, "@DIR@", dir) }

const genPipeline = `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: hits}
spec:
  params: [{name: rows, type: int, default: 3}]
  steps:
    - name: gen
      image: busybox:1.36
      command: [sh, -c]
      args:
        - |
          echo ran >> @DIR@/side
          seq 1 ${{ params.rows }} > ${{ outputs.artifacts.raw }}
          echo "${{ params.rows }} rows" > ${{ outputs.params.msg }}
          echo ${{ params.rows }} > ${{ outputs.params.n }}
          echo to-stdout
          echo to-stderr >&2
      outputs:
        params: [{name: msg}, {name: n, type: int}]
        artifacts: [{name: raw}]
`

func TestMissThenHit(t *testing.T) {
	dir := t.TempDir()
	spec := pipeline(t, withDir(genPipeline, dir))["gen"]
	url, store := storeURL(t)
	run := func(runID, out string, rows int) result {
		return launcher(t, nil, "run", "--spec-b64", spec, "--cache", url,
			"--in", "params.rows="+strconv.Itoa(rows), "--run", runID,
			"--out", "params.msg="+filepath.Join(out, "msg"),
			"--out", "artifacts.raw="+filepath.Join(out, "nested", "raw.uri"),
			"--out", "cached="+filepath.Join(out, "cached"),
			"--out-dir", filepath.Join(out, "all"))
	}

	miss := run("r1", filepath.Join(dir, "1"), 3)
	if miss.code != 0 || miss.stdout != "to-stdout\n" || miss.stderr != "to-stderr\n" {
		t.Fatalf("miss: exit %d, stdout %q, stderr %q; want 0 and the command's own output only", miss.code, miss.stdout, miss.stderr)
	}
	es := entries(t, store)
	if len(es) != 1 || es[0].Run != "r1" || es[0].Pipeline != "hits" || es[0].Step != "gen" {
		t.Fatalf("entries after the miss: %+v, want one from run r1 of hits/gen", es)
	}
	first := readDir(t, filepath.Join(dir, "1", "all"))
	raw, err := cache.ParseArtifactURI(first["artifacts.raw"])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"params.msg": "3 rows", "params.n": "3", "artifacts.raw": raw.URI(), "sluice-cached": "false"}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("--out-dir after the miss (-want +got):\n%s", diff)
	}
	if got := readFile(t, filepath.Join(dir, "1", "msg")); got != "3 rows" {
		t.Errorf("--out params.msg = %q, want %q", got, "3 rows")
	}
	if got := readFile(t, filepath.Join(dir, "1", "nested", "raw.uri")); got != raw.URI() {
		t.Errorf("--out artifacts.raw = %q, want %q", got, raw.URI())
	}
	blob := filepath.Join(store.Dir(), "cas", "sha256", raw.Digest.Hex())
	if got := readFile(t, blob); got != "1\n2\n3\n" {
		t.Errorf("stored artifact = %q", got)
	}

	hit := run("r2", filepath.Join(dir, "2"), 3)
	wantLine := "sluice-exec: cache hit " + es[0].Key.String() + " (run r1)\n"
	if hit.code != 0 || hit.stdout != "" || hit.stderr != wantLine {
		t.Errorf("hit: exit %d, stdout %q, stderr %q; want 0, nothing, %q", hit.code, hit.stdout, hit.stderr, wantLine)
	}
	if got := readFile(t, filepath.Join(dir, "side")); got != "ran\n" {
		t.Errorf("side effects after the hit: %q, want the command to have run once", got)
	}
	first["sluice-cached"] = "true" // the only difference: it says it was a hit
	if diff := cmp.Diff(first, readDir(t, filepath.Join(dir, "2", "all"))); diff != "" {
		t.Errorf("outputs of the hit differ from the miss's (-miss +hit):\n%s", diff)
	}
	if got := readFile(t, filepath.Join(dir, "2", "msg")); got != "3 rows" {
		t.Errorf("hit: --out params.msg = %q", got)
	}
	for run, want := range map[string]string{"1": "false", "2": "true"} {
		if got := readFile(t, filepath.Join(dir, run, "cached")); got != want {
			t.Errorf("run %s: --out cached = %q, want %q", run, got, want)
		}
	}

	// Another input value is another key.
	if r := run("r3", filepath.Join(dir, "3"), 4); r.code != 0 || strings.Contains(r.stderr, "cache hit") {
		t.Errorf("rows=4: exit %d, stderr %q; want a miss", r.code, r.stderr)
	}
	if got := readFile(t, filepath.Join(dir, "side")); got != "ran\nran\n" {
		t.Errorf("side effects: %q, want two runs", got)
	}
}

// TestLocalRunThenLauncherHit: a step the local runner cached is a hit for
// the launcher, because both bind it with the same code.
func TestLocalRunThenLauncherHit(t *testing.T) {
	dir := t.TempDir()
	yaml := withDir(genPipeline, dir)
	p, err := ir.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	url, store := storeURL(t)
	params, err := p.ResolveParams(map[string]string{"rows": "5"})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := local.Run(context.Background(), p, params, local.Options{Store: store, RunsDir: filepath.Join(dir, "runs"), RunID: "local-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "side")); got != "ran\n" {
		t.Fatalf("local run: side effects %q, summary %+v", got, sum)
	}
	r := launcher(t, nil, "run", "--spec-b64", pipeline(t, yaml)["gen"], "--cache", url,
		"--in", "params.rows=5", "--out-dir", filepath.Join(dir, "out"))
	if r.code != 0 || !strings.HasPrefix(r.stderr, "sluice-exec: cache hit ") || !strings.HasSuffix(r.stderr, " (run local-1)\n") {
		t.Fatalf("launcher after a local run: exit %d, stderr %q; want a hit on run local-1", r.code, r.stderr)
	}
	if got := readFile(t, filepath.Join(dir, "out", "params.msg")); got != "5 rows" {
		t.Errorf("params.msg = %q", got)
	}
}

// literal holds what engines and shells would each like to interpret.
const literal = "{{workflow.name}} {{=sprig.trim(x)}} $(params.x) $(tasks.a.results.b) ${{ params.rows }} $${{ x }} " +
	"$HOME ${HOME} `id` 'single' \"double\" back\\slash\nsecond line\n\ttabbed\r\nünïcödé\n"

func TestLiteralValuesReachTheProcess(t *testing.T) {
	dir := t.TempDir()
	specs := pipeline(t, withDir(`
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: literal}
spec:
  defaults: {image: busybox:1.36}
  steps:
    - name: up
      command: ["true"]
      outputs: {params: [{name: v}]}
    - name: use
      command: [sh, -c, 'printf %s "$1" > @DIR@/arg; printf %s "$V" > @DIR@/env; printf %s "$2" > @DIR@/item', sh]
      args: ['${{ steps.up.outputs.params.v }}', '${{ item.k }}']
      env: [{name: V, value: '${{ steps.up.outputs.params.v }}'}]
      forEach: {items: [{k: a}]}
`, dir))
	url, _ := storeURL(t)
	item := `{"k":` + strconv.Quote(literal) + `,"n":1}`
	r := launcher(t, nil, "run", "--spec-b64", specs["use"], "--cache", url,
		"--in", "steps.up.outputs.params.v="+literal, "--in", "item="+item)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, f := range []string{"arg", "env", "item"} {
		if got := readFile(t, filepath.Join(dir, f)); got != literal {
			t.Errorf("%s: the process got %q, want %q", f, got, literal)
		}
	}
}

func TestArtifacts(t *testing.T) {
	dir := t.TempDir()
	specs := pipeline(t, withDir(`
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: arts}
spec:
  defaults: {image: busybox:1.36}
  steps:
    - name: a
      command: [sh, -c]
      args:
        - |
          printf 'hello\n' > ${{ outputs.artifacts.file }}
          mkdir -p ${{ outputs.artifacts.tree }}/sub
          echo one > ${{ outputs.artifacts.tree }}/one.txt
          echo two > ${{ outputs.artifacts.tree }}/sub/two.sh
          chmod 755 ${{ outputs.artifacts.tree }}/sub/two.sh
      outputs: {artifacts: [{name: file}, {name: tree}]}
    - name: b
      command: [sh, -c]
      args:
        - |
          echo ran >> @DIR@/side-b
          cp ${{ inputs.artifacts.f }} @DIR@/got-file
          cp -Rp ${{ steps.a.outputs.artifacts.tree }} @DIR@/got-tree
          cat ${{ inputs.artifacts.f }} ${{ steps.a.outputs.artifacts.tree }}/sub/two.sh > ${{ outputs.artifacts.joined }}
      inputs: {artifacts: [{name: f, from: '${{ steps.a.outputs.artifacts.file }}'}]}
      outputs: {artifacts: [{name: joined}]}
`, dir))
	url, store := storeURL(t)
	a := launcher(t, nil, "run", "--spec-b64", specs["a"], "--cache", url, "--out-dir", filepath.Join(dir, "a"))
	if a.code != 0 {
		t.Fatalf("a: exit %d, stderr %q", a.code, a.stderr)
	}
	outA := readDir(t, filepath.Join(dir, "a"))
	file, err := cache.ParseArtifactURI(outA["artifacts.file"])
	if err != nil || file.Kind != cache.KindFile {
		t.Fatalf("artifacts.file = %q (%v), want a file URI", outA["artifacts.file"], err)
	}
	tree, err := cache.ParseArtifactURI(outA["artifacts.tree"])
	if err != nil || tree.Kind != cache.KindDir {
		t.Fatalf("artifacts.tree = %q (%v), want a dir URI", outA["artifacts.tree"], err)
	}

	runB := func(out string) result {
		return launcher(t, nil, "run", "--spec-b64", specs["b"], "--cache", url,
			"--in", "steps.a.outputs.artifacts.file="+file.URI(),
			"--in", "steps.a.outputs.artifacts.tree="+tree.URI(),
			"--out-dir", filepath.Join(dir, out))
	}
	if b := runB("b1"); b.code != 0 {
		t.Fatalf("b: exit %d, stderr %q", b.code, b.stderr)
	}
	if got := readFile(t, filepath.Join(dir, "got-file")); got != "hello\n" {
		t.Errorf("input file artifact = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "got-tree", "one.txt")); got != "one\n" {
		t.Errorf("input tree one.txt = %q", got)
	}
	fi, err := os.Stat(filepath.Join(dir, "got-tree", "sub", "two.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("input tree sub/two.sh: %v, %v; want mode 0755", fi, err)
	}
	joined, err := cache.ParseArtifactURI(readFile(t, filepath.Join(dir, "b1", "artifacts.joined")))
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(store.Dir(), "cas", "sha256", joined.Digest.Hex())); got != "hello\ntwo\n" {
		t.Errorf("b's output = %q", got)
	}
	// The key covers the input digests, so b hits with the same inputs.
	if b := runB("b2"); b.code != 0 || !strings.Contains(b.stderr, "cache hit") {
		t.Errorf("b again: exit %d, stderr %q; want a hit", b.code, b.stderr)
	}
	if got := readFile(t, filepath.Join(dir, "side-b")); got != "ran\n" {
		t.Errorf("b ran %d times, want once", strings.Count(got, "ran"))
	}
}

func TestFailureKeepsExitCode(t *testing.T) {
	dir := t.TempDir()
	spec := pipeline(t, withDir(`
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: fails}
spec:
  defaults: {image: busybox:1.36}
  steps:
    - name: fail
      command: [sh, -c, 'echo ran >> @DIR@/side; echo partial > ${{ outputs.params.x }}; echo boom >&2; exit 7']
      outputs: {params: [{name: x}]}
`, dir))["fail"]
	url, store := storeURL(t)
	for i := 1; i <= 2; i++ {
		r := launcher(t, nil, "run", "--spec-b64", spec, "--cache", url,
			"--out", "params.x="+filepath.Join(dir, "x"), "--out-dir", filepath.Join(dir, "out"))
		if r.code != 7 || r.stderr != "boom\n" {
			t.Errorf("run %d: exit %d, stderr %q; want 7 and the command's output only", i, r.code, r.stderr)
		}
		if es := entries(t, store); len(es) != 0 {
			t.Errorf("run %d: %d cache entries, want none", i, len(es))
		}
		mustNotExist(t, filepath.Join(dir, "x"))
		mustNotExist(t, filepath.Join(dir, "out"))
	}
	if got := readFile(t, filepath.Join(dir, "side")); got != "ran\nran\n" {
		t.Errorf("side effects %q: want the failed step to run again", got)
	}
}

func TestLauncherFailures(t *testing.T) {
	dir := t.TempDir()
	specs := pipeline(t, withDir(`
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: failures}
spec:
  defaults: {image: busybox:1.36}
  steps:
    - name: slow
      command: [sleep, "30"]
      timeout: 1s
    - name: missing
      command: [no-such-command-sluice]
    - name: no-output
      command: ["true"]
      outputs: {params: [{name: x}]}
`, dir))
	url, store := storeURL(t)
	tests := []struct {
		step string
		code int
	}{
		{"slow", launch.ExitTimeout},
		{"missing", launch.ExitNotRun},
		{"no-output", launch.ExitOutputs},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			r := launcher(t, nil, "run", "--spec-b64", specs[tt.step], "--cache", url, "--out-dir", filepath.Join(dir, tt.step))
			if r.code != tt.code || ownError(r.stderr) == "" {
				t.Errorf("exit %d, stderr %q; want %d and a sluice-exec: error: line", r.code, r.stderr, tt.code)
			}
			mustNotExist(t, filepath.Join(dir, tt.step))
		})
	}
	if es := entries(t, store); len(es) != 0 {
		t.Errorf("%d cache entries, want none", len(es))
	}
}

func TestSignalStopsTheProcessGroup(t *testing.T) {
	dir := t.TempDir()
	spec := pipeline(t, withDir(`
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: killed}
spec:
  defaults: {image: busybox:1.36}
  steps:
    - name: slow
      command: [sh, -c, 'echo $$ > @DIR@/pid; sleep 60 & echo $! > @DIR@/child; wait']
      outputs: {params: [{name: x}]}
`, dir))["slow"]
	url, store := storeURL(t)
	cmd := exec.Command(bin, "run", "--spec-b64", spec, "--cache", url, "--out-dir", filepath.Join(dir, "out"))
	cmd.Env = testEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for deadline := time.Now().Add(10 * time.Second); len(pids) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the command did not start; stderr %q", stderr.String())
		}
		pids = pids[:0]
		for _, f := range []string{"pid", "child"} {
			b, _ := os.ReadFile(filepath.Join(dir, f))
			if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				pids = append(pids, n)
			}
		}
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	elapsed := time.Since(sent)
	code := cmd.ProcessState.ExitCode()
	if code != 128+int(syscall.SIGTERM) || ownError(stderr.String()) == "" {
		t.Errorf("exit %d (%v), stderr %q; want 143 and a sluice-exec: error: line", code, err, stderr.String())
	}
	t.Logf("SIGTERM to exit: %s", elapsed)
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var left []int
		for _, pid := range pids {
			if alive(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("processes %v of the step's group outlived the launcher", left)
		}
	}
	if es := entries(t, store); len(es) != 0 {
		t.Errorf("%d cache entries, want none", len(es))
	}
	mustNotExist(t, filepath.Join(dir, "out"))
}

func TestLargeValues(t *testing.T) {
	dir := t.TempDir()
	specs := pipeline(t, withDir(`
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: large}
spec:
  defaults: {image: busybox:1.36}
  steps:
    - name: p
      command: [sh, -c]
      args:
        - |
          head -c 5000 /dev/zero | tr '\0' a > ${{ outputs.params.big }}
          printf small > ${{ outputs.params.small }}
          printf '{{x}} $(y)' > ${{ outputs.params.tmpl }}
          printf 'ends\n\n' > ${{ outputs.params.nl }}
          printf 'cas://sha256/not-a-ref?kind=value' > ${{ outputs.params.lookalike }}
      outputs: {params: [{name: big}, {name: small}, {name: tmpl}, {name: nl}, {name: lookalike}]}
    - name: c
      command: [sh, -c, 'for f in big small tmpl nl lookalike; do eval "printf %s \"\$$f\"" > @DIR@/got-$f; done']
      env:
        - {name: big, value: '${{ steps.p.outputs.params.big }}'}
        - {name: small, value: '${{ steps.p.outputs.params.small }}'}
        - {name: tmpl, value: '${{ steps.p.outputs.params.tmpl }}'}
        - {name: nl, value: '${{ steps.p.outputs.params.nl }}'}
        - {name: lookalike, value: '${{ steps.p.outputs.params.lookalike }}'}
`, dir))
	want := map[string]string{
		"big":       strings.Repeat("a", 5000),
		"small":     "small",
		"tmpl":      "{{x}} $(y)",
		"nl":        "ends\n",
		"lookalike": "cas://sha256/not-a-ref?kind=value",
	}
	tests := []struct {
		name   string
		flags  []string
		inline []string // outputs written as they are
	}{
		{"default bound", nil, []string{"small"}},
		{"larger bound", []string{"--max-value-bytes", "10000"}, []string{"big", "small"}},
		{"total bound", []string{"--max-value-bytes", "10000", "--max-total-bytes", "1000"}, []string{"small"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, _ := storeURL(t)
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"run", "--spec-b64", specs["p"], "--cache", url, "--out-dir", out}, tt.flags...)
			if r := launcher(t, nil, args...); r.code != 0 {
				t.Fatalf("producer: exit %d, stderr %q", r.code, r.stderr)
			}
			texts := readDir(t, out)
			var inline []string
			for name, v := range want {
				text := texts["params."+name]
				switch {
				case text == v:
					inline = append(inline, name)
				case !launch.IsValueRef(text):
					t.Errorf("params.%s written as %q: neither the value nor a value ref", name, text)
				case !strings.HasSuffix(text, "&size="+strconv.Itoa(len(v))):
					t.Errorf("params.%s: ref %q does not give the size %d", name, text, len(v))
				}
			}
			sort.Strings(inline)
			if diff := cmp.Diff(tt.inline, inline); diff != "" {
				t.Errorf("values written inline (-want +got):\n%s", diff)
			}
			args = []string{"run", "--spec-b64", specs["c"], "--cache", url}
			for name := range want {
				args = append(args, "--in", "steps.p.outputs.params."+name+"="+texts["params."+name])
			}
			if r := launcher(t, nil, args...); r.code != 0 {
				t.Fatalf("consumer: exit %d, stderr %q", r.code, r.stderr)
			}
			for name, v := range want {
				if got := readFile(t, filepath.Join(dir, "got-"+name)); got != v {
					t.Errorf("consumer got %s = %q, want %q", name, abbrev(got), abbrev(v))
				}
			}
		})
	}
}

func abbrev(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func TestBadInvocations(t *testing.T) {
	dir := t.TempDir()
	specs := pipeline(t, `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: bad}
spec:
  defaults: {image: busybox:1.36}
  params: [{name: rows, type: int, default: 3}]
  steps:
    - name: a
      command: [sh, -c, 'echo ${{ params.rows }} > ${{ outputs.artifacts.x }}']
      outputs: {artifacts: [{name: x}]}
    - name: b
      command: [cat, '${{ steps.a.outputs.artifacts.x }}']
`)
	url, _ := storeURL(t)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	zero := "cas://sha256/" + strings.Repeat("0", 64)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, launch.ExitUsage},
		{"unknown command", []string{"frob"}, launch.ExitUsage},
		{"no spec", []string{"run", "--cache", url}, launch.ExitUsage},
		{"bad base64", []string{"run", "--spec-b64", "not base64!", "--cache", url}, launch.ExitUsage},
		{"spec not JSON", []string{"run", "--spec-b64", b64("pipeline: x"), "--cache", url}, launch.ExitUsage},
		{"unknown spec field", []string{"run", "--spec-b64", b64(`{"pipeline":"p","step":{"name":"s","command":["true"],"bogus":1}}`), "--cache", url}, launch.ExitUsage},
		{"group step", []string{"run", "--spec-b64", b64(`{"pipeline":"p","step":{"name":"g","group":{"steps":[]}}}`), "--cache", url}, launch.ExitUsage},
		{"two specs", []string{"run", "--spec-b64", specs["a"], "--spec", "x.json", "--cache", url}, launch.ExitUsage},
		{"no store", []string{"run", "--spec-b64", specs["a"], "--in", "params.rows=1"}, launch.ExitUsage},
		{"unknown flag", []string{"run", "--spec-b64", specs["a"], "--cache", url, "--bogus"}, launch.ExitUsage},
		{"argument", []string{"run", "--spec-b64", specs["a"], "--cache", url, "echo"}, launch.ExitUsage},
		{"unknown --in key", []string{"run", "--spec-b64", specs["a"], "--cache", url, "--in", "params.rows=1", "--in", "foo.bar=1"}, launch.ExitUsage},
		{"--in for a path", []string{"run", "--spec-b64", specs["a"], "--cache", url, "--in", "params.rows=1", "--in", "outputs.artifacts.x=/tmp/x"}, launch.ExitUsage},
		{"--in without =", []string{"run", "--spec-b64", specs["a"], "--cache", url, "--in", "params.rows"}, launch.ExitUsage},
		{"--in twice", []string{"run", "--spec-b64", specs["a"], "--cache", url, "--in", "params.rows=1", "--in", "params.rows=2"}, launch.ExitUsage},
		{"--in bad artifact URI", []string{"run", "--spec-b64", specs["b"], "--cache", url, "--in", "steps.a.outputs.artifacts.x=s3://bucket/x"}, launch.ExitUsage},
		{"--in bad value ref", []string{"run", "--spec-b64", specs["a"], "--cache", url, "--in", "params.rows=cas://sha256/abc?kind=value&size=1"}, launch.ExitUsage},
		{"missing --in", []string{"run", "--spec-b64", specs["a"], "--cache", url}, launch.ExitUsage},
		{"missing artifact --in", []string{"run", "--spec-b64", specs["b"], "--cache", url}, launch.ExitUsage},
		{"undeclared --out", []string{"run", "--spec-b64", specs["a"], "--cache", url, "--in", "params.rows=1", "--out", "params.y=" + filepath.Join(dir, "y")}, launch.ExitUsage},
		{"--out without path", []string{"run", "--spec-b64", specs["a"], "--cache", url, "--in", "params.rows=1", "--out", "artifacts.x"}, launch.ExitUsage},
		{"zero --max-value-bytes", []string{"run", "--spec-b64", specs["a"], "--cache", url, "--in", "params.rows=1", "--max-value-bytes", "0"}, launch.ExitUsage},
		{"unknown store scheme", []string{"run", "--spec-b64", specs["a"], "--cache", "gopher://cache", "--in", "params.rows=1"}, launch.ExitUnavailable},
		{"value ref not in the store", []string{"run", "--spec-b64", specs["a"], "--cache", url, "--in", "params.rows=" + zero + "?kind=value&size=1"}, launch.ExitUnavailable},
		{"artifact not in the store", []string{"run", "--spec-b64", specs["b"], "--cache", url, "--in", "steps.a.outputs.artifacts.x=" + zero + "?kind=file&size=1"}, launch.ExitUnavailable},
		{"cp without DST", []string{"cp", bin}, launch.ExitUsage},
		{"version with an argument", []string{"version", "x"}, launch.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := launcher(t, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if ownError(r.stderr) == "" {
				t.Errorf("stderr has no sluice-exec: error: line:\n%s", r.stderr)
			}
		})
	}
}

func TestSpecAndStoreFromEnv(t *testing.T) {
	dir := t.TempDir()
	spec := pipeline(t, genPipeline)["gen"]
	url, _ := storeURL(t)
	env := append(testEnv(), launch.SpecEnv+"="+spec, launch.CacheEnv+"="+url)
	// The step sees neither variable: it runs in the container's
	// environment less the launcher's own.
	r := launcher(t, env, "run", "--in", "params.rows=2", "--out-dir", filepath.Join(dir, "out"))
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	// --spec FILE, as JSON.
	data, err := launch.SpecJSON(spec)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r = launcher(t, nil, "run", "--spec", file, "--cache", url, "--in", "params.rows=2")
	if r.code != 0 || !strings.Contains(r.stderr, "cache hit") {
		t.Errorf("--spec FILE: exit %d, stderr %q; want a hit on the same step", r.code, r.stderr)
	}
}

func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	spec := pipeline(t, withDir(`
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: env}
spec:
  defaults: {image: busybox:1.36}
  steps:
    - name: e
      command: [sh, -c, 'env > @DIR@/env']
      env:
        - {name: MODE, value: fast}
        - {name: TOKEN, secret: {name: creds, key: token}}
`, dir))["e"]
	url, _ := storeURL(t)
	env := append(testEnv(), "IMAGE_VAR=from-image", "TOKEN=s3cret", launch.CacheEnv+"="+url, launch.SpecEnv+"="+spec)
	if r := launcher(t, env, "run"); r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	got := map[string]bool{}
	for _, l := range strings.Split(readFile(t, filepath.Join(dir, "env")), "\n") {
		got[l] = true
	}
	for _, kv := range []string{"IMAGE_VAR=from-image", "MODE=fast", "TOKEN=s3cret"} {
		if !got[kv] {
			t.Errorf("the step's environment lacks %s", kv)
		}
	}
	for kv := range got {
		if strings.HasPrefix(kv, launch.SpecEnv+"=") || strings.HasPrefix(kv, launch.CacheEnv+"=") {
			t.Errorf("the step sees the launcher's variable %.20s…", kv)
		}
	}
	// Without the secret's variable the step cannot run (a new store: the
	// secret's value is no part of the key, so the old one would hit).
	url, _ = storeURL(t)
	if r := launcher(t, append(testEnv(), launch.CacheEnv+"="+url, launch.SpecEnv+"="+spec), "run"); r.code != launch.ExitUnavailable || ownError(r.stderr) == "" {
		t.Errorf("without TOKEN: exit %d, stderr %q; want %d", r.code, r.stderr, launch.ExitUnavailable)
	}
}

// TestHitLatency measures a cache hit from process start to exit, with the
// filesystem store.
func TestHitLatency(t *testing.T) {
	dir := t.TempDir()
	spec := pipeline(t, withDir(genPipeline, dir))["gen"]
	url, _ := storeURL(t)
	args := []string{"run", "--spec-b64", spec, "--cache", url, "--in", "params.rows=3", "--out-dir", filepath.Join(dir, "out")}
	if r := launcher(t, nil, args...); r.code != 0 {
		t.Fatalf("miss: exit %d, stderr %q", r.code, r.stderr)
	}
	const n = 20
	var times []time.Duration
	for range n {
		r := launcher(t, nil, args...)
		if r.code != 0 || !strings.Contains(r.stderr, "cache hit") {
			t.Fatalf("exit %d, stderr %q; want a hit", r.code, r.stderr)
		}
		times = append(times, r.elapsed)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	t.Logf("cache hit, start to exit, %d runs: min %s, median %s, max %s", n, times[0], times[n/2], times[n-1])
	if times[n/2] > 500*time.Millisecond {
		t.Errorf("median hit time %s: far over the 50ms goal", times[n/2])
	}
}

func TestCp(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "sluice", "bin", "sluice-exec")
	if r := launcher(t, nil, "cp", bin, dst); r.code != 0 {
		t.Fatalf("cp: exit %d, stderr %q", r.code, r.stderr)
	}
	fi, err := os.Stat(dst)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("copy: %v, %v; want mode 0755", fi, err)
	}
	des, _ := os.ReadDir(filepath.Dir(dst))
	if len(des) != 1 {
		t.Errorf("%d files next to the copy, want no temporary left", len(des))
	}
	out, err := exec.Command(dst, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "sluice-exec ") {
		t.Errorf("the copy's version: %q, %v", out, err)
	}
	if r := launcher(t, nil, "cp", filepath.Join(t.TempDir(), "absent"), dst+"2"); r.code != launch.ExitOutputs || ownError(r.stderr) == "" {
		t.Errorf("cp of a missing file: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestIterationIndex: an iteration of a loop writes its item's index with
// its outputs (--out index, DIR/sluice-index), from --index or with its
// item (--in-item); the index is no part of the step, so another
// iteration with the same item is a cache hit, and writes its own index.
func TestIterationIndex(t *testing.T) {
	dir := t.TempDir()
	spec := pipeline(t, withDir(`
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: index}
spec:
  steps:
    - name: sq
      image: busybox:1.36
      forEach: {items: [3, 3]}
      command: [sh, -c, 'echo ran >> @DIR@/side; printf %s $(( ${{ item }} * ${{ item }} )) > ${{ outputs.params.v }}']
      outputs: {params: [{name: v, type: int}]}
`, dir))["sq"]
	url, _ := storeURL(t)
	for i, iteration := range [][]string{{"--index", "0", "--in", "item=3"}, {"--in-item", "12:" + b64("3")}} {
		out := filepath.Join(dir, strconv.Itoa(i))
		args := append([]string{"run", "--spec-b64", spec, "--cache", url,
			"--out", "params.v=" + filepath.Join(out, "v"), "--out", "index=" + filepath.Join(out, "index"),
			"--out-dir", filepath.Join(out, "all")}, iteration...)
		r := launcher(t, nil, args...)
		if r.code != 0 {
			t.Fatalf("%q: exit %d, stderr %q", iteration, r.code, r.stderr)
		}
		want := []string{"0", "12"}[i]
		for _, f := range []string{filepath.Join(out, "index"), filepath.Join(out, "all", launch.IndexFile)} {
			if got := readFile(t, f); got != want {
				t.Errorf("%q: %s = %q, want %q", iteration, f, got, want)
			}
		}
		if got := readFile(t, filepath.Join(out, "v")); got != "9" {
			t.Errorf("%q: v = %q, want 9", iteration, got)
		}
	}
	if got := readFile(t, filepath.Join(dir, "side")); got != "ran\n" {
		t.Errorf("the command ran %d times, want once: the second iteration is a hit", strings.Count(got, "ran"))
	}
	for _, bad := range [][]string{
		{"--in", "item=3", "--out", "index=" + filepath.Join(dir, "x")}, // no index to write
		{"--index", "x", "--in", "item=3"},
		{"--index", "1", "--in-item", "1:" + b64("3")},
		{"--in-item", "1:" + b64("3"), "--in", "item=3"},
	} {
		r := launcher(t, nil, append([]string{"run", "--spec-b64", spec, "--cache", url}, bad...)...)
		if r.code != launch.ExitUsage || ownError(r.stderr) == "" {
			t.Errorf("%q: exit %d, stderr %q; want %d", bad, r.code, r.stderr, launch.ExitUsage)
		}
	}
}
