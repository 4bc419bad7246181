package ir_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/ir"
)

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []fieldErr
		is   error // a sentinel every error wraps, or nil
	}{{
		name: "unknown fields",
		yaml: head + `  steps:
    - name: a
      imgae: busybox
      comand: [sh]
      imagePullPolicy: Always
  stpes: []
specs: {}
`,
		want: []fieldErr{
			fe("8:7", "spec.steps[0].imgae", `unknown field "imgae" (did you mean "image"?)`),
			fe("9:7", "spec.steps[0].comand", `unknown field "comand" (did you mean "command"?)`),
			fe("10:7", "spec.steps[0].imagePullPolicy", `unknown field "imagePullPolicy"`),
			fe("11:3", "spec.stpes", `unknown field "stpes" (did you mean "steps"?)`),
			fe("12:1", "specs", `unknown field "specs" (did you mean "spec"?)`),
		},
	}, {
		name: "wrong kinds",
		yaml: head + `  steps:
    - name: a
      image: [busybox]
      command: sh
      env: {A: b}
      forEach: {items: [1], parallelism: two}
      cache: {enabled: yes}
      timeout: 30
      retry: {limit: 1.5, backoff: {duration: 10 minutes, factor: fast, max: -1s}}
      nodeSelector: [a]
      resources: {gpus: {count: 3000000000}}
    - name
  params: {name: x}
metadata: [a]
`,
		want: []fieldErr{
			fe("8:14", "spec.steps[0].image", "expected a string, got a list"),
			fe("9:16", "spec.steps[0].command", "expected a list, got a string"),
			fe("10:12", "spec.steps[0].env", "expected a list, got a mapping"),
			fe("11:42", "spec.steps[0].forEach.parallelism", "expected an integer, got a string"),
			fe("12:24", "spec.steps[0].cache.enabled", "expected true or false, got a string"),
			fe("13:16", "spec.steps[0].timeout", `expected a duration such as "90s" or "1h30m", got an integer`),
			fe("14:22", "spec.steps[0].retry.limit", "expected an integer, got a number"),
			fe("14:47", "spec.steps[0].retry.backoff.duration", `"10 minutes" is not a duration such as "90s" or "1h30m"`),
			fe("14:67", "spec.steps[0].retry.backoff.factor", "expected a number, got a string"),
			fe("14:78", "spec.steps[0].retry.backoff.max", `duration "-1s" is negative`),
			fe("15:21", "spec.steps[0].nodeSelector", "expected a mapping, got a list"),
			fe("16:33", "spec.steps[0].resources.gpus.count", "integer 3000000000 is out of range"),
			fe("17:7", "spec.steps[1]", "expected a mapping, got a string"),
			fe("18:11", "spec.params", "expected a list, got a mapping"),
			fe("19:1", "metadata", `field "metadata" is set twice`),
		},
	}, {
		name: "duplicate keys",
		yaml: head + `  params:
    - name: a
      type: object
      default: {k: 1, k: 2}
  steps:
    - name: a
      image: busybox
      image: alpine
      nodeSelector: {pool: a, pool: b}
`,
		want: []fieldErr{
			fe("9:23", `spec.params[0].default["k"]`, `duplicate key "k"`),
			fe("13:7", "spec.steps[0].image", `field "image" is set twice`),
			fe("14:31", `spec.steps[0].nodeSelector["pool"]`, `duplicate key "pool"`),
		},
	}, {
		name: "keys that are not strings",
		yaml: head + `  steps:
    - {[a]: b}
    - {name: a, nodeSelector: {[a]: b}}
`,
		want: []fieldErr{
			fe("7:8", "spec.steps[0]", "expected a field name, got a list"),
			fe("8:32", "spec.steps[1].nodeSelector", "expected a string key, got a list"),
		},
	}, {
		name: "values that are not JSON",
		yaml: head + `  params:
    - {name: a, type: float, default: .inf}
    - {name: b, type: list, default: [1, .nan]}
  steps:
    - name: a
      image: busybox
      command: [sh]
      retry: {limit: 1, backoff: {factor: !!float inf}}
      cache: {enabled: !!bool yes}
`,
		want: []fieldErr{
			fe("7:39", "spec.params[0].default", `".inf" is not a JSON number`),
			fe("8:42", "spec.params[1].default[1]", `".nan" is not a JSON number`),
			fe("13:43", "spec.steps[0].retry.backoff.factor", `"inf" is not a finite number`),
			fe("14:24", "spec.steps[0].cache.enabled", `expected true or false, got "yes"`),
		},
	}, {
		name: "more than one document",
		yaml: head + oneStep + "---\n" + head + oneStep,
		want: []fieldErr{fe("10:1", "", "more than one YAML document: a file holds one Pipeline")},
	}, {
		name: "not a mapping",
		yaml: "- apiVersion: sluice.dev/v1alpha1\n",
		want: []fieldErr{fe("1:1", "", "expected a mapping (apiVersion, kind, metadata, spec)")},
	}, {
		name: "null document",
		yaml: "---\n",
		want: []fieldErr{fe("2:1", "", "expected a mapping (apiVersion, kind, metadata, spec)")},
	}, {
		name: "syntax error with a line",
		yaml: "apiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata:\n\tname: p\n",
		want: []fieldErr{fe("4:1", "", "invalid YAML: found character that cannot start any token")},
		is:   ir.ErrSyntax,
	}, {
		name: "syntax error without a line",
		yaml: "apiVersion: &a x\nkind: *b\n",
		want: []fieldErr{fe("", "", "invalid YAML: unknown anchor 'b' referenced")},
		is:   ir.ErrSyntax,
	}, {
		name: "empty",
		yaml: " \n\t\n",
		want: []fieldErr{fe("", "", "empty file: expected a Pipeline (apiVersion: sluice.dev/v1alpha1)")},
	}, {
		name: "comments only",
		yaml: "# nothing here\n",
		want: []fieldErr{fe("", "", "empty file: expected a Pipeline (apiVersion: sluice.dev/v1alpha1)")},
	}, {
		name: "binary",
		yaml: "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
		want: []fieldErr{fe("", "", "binary file: expected a YAML or JSON Pipeline")},
		is:   ir.ErrSyntax,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ir.Decode(testFile, []byte(tc.yaml))
			if err == nil {
				t.Fatalf("Decode: no error; got %+v", p)
			}
			if diff := cmp.Diff(tc.want, fieldErrs(err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nfull error:\n%v", diff, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(err, %v) = false", tc.is)
			}
			// Parse reports the same: decoding stops before validation.
			if _, perr := ir.Parse(testFile, []byte(tc.yaml)); perr == nil || perr.Error() != err.Error() {
				t.Errorf("Parse error differs from Decode error:\n%v\n%v", perr, err)
			}
		})
	}
}

func TestDecodeAnchorsAndMergeKeys(t *testing.T) {
	p := mustParse(t, head+`  steps:
    - &base
      name: a
      image: busybox
      command: &cmd [sh, -c]
      env: [{name: A, value: x}]
    - name: b
      <<: *base
    - <<: [*base, {image: alpine, workingDir: /w}]
      name: c
      args: *cmd
`)
	type got struct {
		Name, Image, WorkingDir string
		Command, Args           []string
		Env                     []ir.EnvVar
	}
	var gots []got
	for _, s := range p.Spec.Steps {
		gots = append(gots, got{s.Name, s.Image, s.WorkingDir, s.Command, s.Args, s.Env})
	}
	env := []ir.EnvVar{{Name: "A", Value: "x"}}
	want := []got{
		{"a", "busybox", "", []string{"sh", "-c"}, nil, env},
		{"b", "busybox", "", []string{"sh", "-c"}, nil, env},
		{"c", "alpine", "/w", []string{"sh", "-c"}, []string{"sh", "-c"}, env},
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	// What an alias brings in is placed at the alias; what a step writes,
	// inline merges included, where it is written.
	for path, want := range map[ir.Path]string{
		"spec.steps[0].image":      "9:14",
		"spec.steps[1].name":       "12:13",
		"spec.steps[1].image":      "12:7",
		"spec.steps[1].env[0]":     "12:7",
		"spec.steps[2].image":      "14:27",
		"spec.steps[2].workingDir": "14:47",
		"spec.steps[2].command":    "14:7",
		"spec.steps[2].args":       "16:13",
		"spec.steps[2].args[1]":    "16:13",
	} {
		if got := p.Pos(path).String(); got != testFile+":"+want {
			t.Errorf("Pos(%s) = %s, want %s", path, got, want)
		}
	}
	// Aliased lists are decoded into distinct slices.
	p.Spec.Steps[0].Command[0] = "bash"
	if p.Spec.Steps[1].Command[0] != "sh" {
		t.Errorf("steps share the aliased command slice")
	}
}

func TestDecodeNumbers(t *testing.T) {
	p := mustParse(t, head+`  params:
    - {name: a, type: int, default: 0x1F}
    - {name: b, type: int, default: 1_000}
    - {name: c, type: int, default: +5}
    - {name: d, type: int, default: 007}
    - {name: e, type: float, default: 1e5}
    - {name: f, type: float, default: -.5}
    - {name: g, type: float, default: 12345678901234567890}
    - {name: h, type: list, default: [1.0, 0o17, 2.50]}
`+oneStep)
	var got []string
	for _, prm := range p.Spec.Params {
		got = append(got, prm.Default.String())
	}
	want := []string{"31", "1000", "5", "7", "1e5", "-0.5", "12345678901234567890", "[1.0,15,2.50]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestDecodePositions(t *testing.T) {
	p := mustParse(t, `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata:
  name: p
  labels: {team: ml, app.kubernetes.io/name: x}
spec:
  params:
    - name: grid
      type: list
      default:
        - 1
        - {k: v}
  steps:
    - name: g
      group:
        steps:
          - name: a
            image: busybox
            command: [sh, -c]
            args:
              - one
              - two
`)
	tests := []struct {
		path ir.Path
		want string
	}{
		{"apiVersion", "1:13"},
		{"metadata", "4:3"},
		{`metadata.labels["team"]`, "5:18"},
		{`metadata.labels["app.kubernetes.io/name"]`, "5:46"},
		{"spec.params[0].default[1]", "12:11"},
		{`spec.params[0].default[1]["k"]`, "12:15"},
		{"spec.steps[0].group.steps[0].command[1]", "19:27"},
		{"spec.steps[0].group.steps[0].args[1]", "22:17"},
		// Unset fields fall back to the nearest node that is set.
		{"spec.steps[0].group.steps[0].timeout", "17:13"},
		{"spec.steps[0].group.steps[0].args[7]", "21:15"},
		{`metadata.labels["nope.x/y"]`, "5:11"},
	}
	for _, tc := range tests {
		if got, want := p.Pos(tc.path).String(), testFile+":"+tc.want; got != want {
			t.Errorf("Pos(%s) = %s, want %s", tc.path, got, want)
		}
	}
	if got := p.Pos("nope").String(); got != testFile {
		t.Errorf("Pos(nope) = %s, want %s", got, testFile)
	}
	if got := p.File(); got != testFile {
		t.Errorf("File() = %q", got)
	}
}

func TestDecodeDefaults(t *testing.T) {
	p := mustParse(t, head+`  defaults:
    image: busybox
    command: [sh, -c]
    env: [{name: FROM_DEFAULTS, value: x}]
    resources: {requests: {cpu: 100m}, limits: {memory: 1Gi}}
    retry: {limit: 3, backoff: {duration: 10s}}
    cache: {enabled: false, ttl: 1h}
  steps:
    - name: a
      cache: {salt: v2}
      env: [{name: OWN, value: y}]
      resources: {limits: {memory: 2Gi}}
      retry: {backoff: {factor: 3}}
      args: []
    - name: b
      image: alpine
      cache: {enabled: true}
    - name: g
      group:
        steps: [{name: c}]
`)
	enabled, disabled := true, false
	factor := 3.0
	want := []ir.Step{{
		Name:    "a",
		Image:   "busybox",
		Command: []string{"sh", "-c"},
		Args:    []string{},
		Env:     []ir.EnvVar{{Name: "OWN", Value: "y"}},
		Resources: &ir.Resources{
			Requests: map[string]string{"cpu": "100m"},
			Limits:   map[string]string{"memory": "2Gi"},
		},
		Retry: &ir.Retry{Limit: 3, Backoff: &ir.Backoff{Duration: dur("10s"), Factor: &factor}},
		Cache: &ir.Cache{Enabled: &disabled, Salt: "v2", TTL: dur("1h")},
	}, {
		Name:      "b",
		Image:     "alpine",
		Command:   []string{"sh", "-c"},
		Env:       []ir.EnvVar{{Name: "FROM_DEFAULTS", Value: "x"}},
		Resources: &ir.Resources{Requests: map[string]string{"cpu": "100m"}, Limits: map[string]string{"memory": "1Gi"}},
		Retry:     &ir.Retry{Limit: 3, Backoff: &ir.Backoff{Duration: dur("10s")}},
		Cache:     &ir.Cache{Enabled: &enabled, TTL: dur("1h")},
	}, {
		// Groups take no defaults.
		Name:  "g",
		Group: &ir.Group{Steps: []ir.Step{{Name: "c", Image: "busybox", Command: []string{"sh", "-c"}, Env: []ir.EnvVar{{Name: "FROM_DEFAULTS", Value: "x"}}, Resources: &ir.Resources{Requests: map[string]string{"cpu": "100m"}, Limits: map[string]string{"memory": "1Gi"}}, Retry: &ir.Retry{Limit: 3, Backoff: &ir.Backoff{Duration: dur("10s")}}, Cache: &ir.Cache{Enabled: &disabled, TTL: dur("1h")}}}},
	}}
	if diff := cmp.Diff(want, p.Spec.Steps, cmp.Comparer(func(a, b ir.Value) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}

	// Steps own what they were given: nothing is shared with the defaults
	// or with each other.
	p.Spec.Steps[1].Command[0] = "bash"
	p.Spec.Steps[1].Resources.Requests["cpu"] = "2"
	*p.Spec.Steps[1].Retry.Backoff.Duration = *dur("1s")
	if d := p.Spec.Defaults; d.Command[0] != "sh" || d.Resources.Requests["cpu"] != "100m" || d.Retry.Backoff.Duration.String() != "10s" {
		t.Errorf("a step shares memory with spec.defaults: %+v", d)
	}
	if s := p.Spec.Steps[2].Group.Steps[0]; s.Command[0] != "sh" || s.Resources.Requests["cpu"] != "100m" {
		t.Errorf("steps share memory: %+v", s)
	}

	// A defaulted field is placed at the defaults; a field the step wrote
	// keeps its own place.
	for path, want := range map[ir.Path]string{
		"spec.steps[0].cache.enabled":                   "12:22",
		"spec.steps[0].cache.salt":                      "15:21",
		"spec.steps[0].cache.ttl":                       "12:34",
		`spec.steps[0].resources.requests["cpu"]`:       "10:33",
		`spec.steps[0].resources.limits["memory"]`:      "17:36",
		"spec.steps[0].env[0].name":                     "16:20",
		"spec.steps[1].image":                           "21:14",
		"spec.steps[1].command[1]":                      "8:19",
		"spec.steps[2].group.steps[0].retry.limit":      "11:20",
		"spec.steps[2].group.steps[0].env[0].value":     "9:40",
		"spec.steps[2].group.steps[0].retry.backoff":    "11:32",
		"spec.steps[2].group.steps[0].cache.enabled":    "12:22",
		"spec.steps[0].retry.backoff.duration":          "11:43",
		"spec.steps[0].retry.backoff.factor":            "18:33",
		"spec.steps[2].group.steps[0].resources.limits": "10:48",
	} {
		if got := p.Pos(path).String(); got != testFile+":"+want {
			t.Errorf("Pos(%s) = %s, want %s", path, got, want)
		}
	}
}

// TestApplyDefaultsInCode applies defaults to a pipeline built without a
// file.
func TestApplyDefaultsInCode(t *testing.T) {
	p := &ir.Pipeline{Spec: ir.Spec{
		Defaults: &ir.Step{Image: "busybox", Cache: &ir.Cache{Salt: "s"}},
		Steps:    []ir.Step{{Name: "a", Cache: &ir.Cache{TTL: dur("1h")}}},
	}}
	p.ApplyDefaults()
	p.ApplyDefaults() // idempotent
	want := ir.Step{Name: "a", Image: "busybox", Cache: &ir.Cache{Salt: "s", TTL: dur("1h")}}
	if diff := cmp.Diff(want, p.Spec.Steps[0]); diff != "" {
		t.Errorf("step (-want +got):\n%s", diff)
	}
	if got := p.Pos("spec.steps[0].image"); got != (ir.Pos{}) {
		t.Errorf("Pos = %v, want none", got)
	}
}

func dur(s string) *ir.Duration {
	var d ir.Duration
	if err := d.UnmarshalJSON([]byte(`"` + s + `"`)); err != nil {
		panic(err)
	}
	return &d
}
