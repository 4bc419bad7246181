package ir_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/ir"
)

// validCase is a pipeline that must parse and validate without error.
type validCase struct {
	name string
	yaml string
}

// invalidCase is a pipeline whose errors are known exactly.
type invalidCase struct {
	name string
	yaml string
	want []fieldErr
}

// fe builds a wanted error; pos is "line:col", or "" for a place without a
// line.
func fe(pos, path, msg string) fieldErr {
	if pos != "" {
		pos = testFile + ":" + pos
	} else {
		pos = testFile
	}
	return fieldErr{Pos: pos, Path: path, Msg: msg}
}

func testValid(t *testing.T, cases []validCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ir.Parse(testFile, []byte(tc.yaml)); err != nil {
				t.Errorf("Parse: unexpected error:\n%v", err)
			}
		})
	}
}

func testInvalid(t *testing.T, cases []invalidCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ir.Parse(testFile, []byte(tc.yaml))
			if err == nil {
				t.Fatal("Parse: no error")
			}
			if diff := cmp.Diff(tc.want, fieldErrs(err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nfull error:\n%v", diff, err)
			}
		})
	}
}

// oneStep is a minimal valid body: spec.steps[0] is "a" on line 7.
const oneStep = `  steps:
    - name: a
      image: busybox
      command: [sh]
`

const stepMsgDNS = ": must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)"

func TestValidateAPIVersionAndKind(t *testing.T) {
	testValid(t, []validCase{
		{"both", head + oneStep},
	})
	testInvalid(t, []invalidCase{{
		name: "wrong apiVersion",
		yaml: "apiVersion: sluice.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n" + oneStep,
		want: []fieldErr{fe("1:13", "apiVersion", `must be "sluice.dev/v1alpha1", got "sluice.dev/v1"`)},
	}, {
		name: "wrong kind",
		yaml: "apiVersion: sluice.dev/v1alpha1\nkind: Workflow\nmetadata: {name: p}\nspec:\n" + oneStep,
		want: []fieldErr{fe("2:7", "kind", `must be "Pipeline", got "Workflow"`)},
	}, {
		name: "both missing",
		yaml: "metadata: {name: p}\nspec:\n" + oneStep,
		want: []fieldErr{
			fe("", "apiVersion", `must be "sluice.dev/v1alpha1", got ""`),
			fe("", "kind", `must be "Pipeline", got ""`),
		},
	}})
}

func TestValidateMetadata(t *testing.T) {
	testValid(t, []validCase{
		{"labels", "apiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: my-pipe-2\n  labels: {team: ml, app.kubernetes.io/name: x, empty: ''}\nspec:\n" + oneStep},
		{"63 characters", "apiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: " + strings.Repeat("a", 63) + "\nspec:\n" + oneStep},
	})
	testInvalid(t, []invalidCase{{
		name: "name missing",
		yaml: "apiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata: {}\nspec:\n" + oneStep,
		want: []fieldErr{fe("3:11", "metadata.name", "pipeline name is required")},
	}, {
		name: "name not a label",
		yaml: "apiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: My_Pipe\nspec:\n" + oneStep,
		want: []fieldErr{fe("4:9", "metadata.name", `invalid pipeline name "My_Pipe"`+stepMsgDNS)},
	}, {
		name: "name too long",
		yaml: "apiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: " + strings.Repeat("a", 64) + "\nspec:\n" + oneStep,
		want: []fieldErr{fe("4:9", "metadata.name", `pipeline name "aaaaaaaaaaaaaaaaaaaa…" is longer than 63 characters`)},
	}, {
		name: "labels",
		yaml: "apiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: p\n  labels:\n    -bad: ok\n    good: has space\nspec:\n" + oneStep,
		want: []fieldErr{
			fe("6:11", `metadata.labels["-bad"]`, `invalid label key "-bad"`),
			fe("7:11", `metadata.labels["good"]`, `invalid label value "has space": at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`),
		},
	}})
}

func TestValidateParams(t *testing.T) {
	testValid(t, []validCase{{
		name: "every type",
		yaml: head + `  params:
    - {name: s, default: x}
    - {name: s2, type: string}
    - {name: i, type: int, default: 3}
    - {name: f, type: float, default: 1.5}
    - {name: f2, type: float, default: 2}
    - {name: b, type: bool, default: true}
    - {name: l, type: list, default: [1, a]}
    - {name: o, type: object, default: {k: v}}
    - {name: _under-score, description: no default}
` + oneStep,
	}})
	testInvalid(t, []invalidCase{{
		name: "names",
		yaml: head + `  params:
    - name: 1x
    - name: a
    - name: a
    - name: sluiceRows
    - description: no name
` + oneStep,
		want: []fieldErr{
			fe("7:13", "spec.params[0].name", `invalid parameter name "1x": must match [a-zA-Z_][a-zA-Z0-9_-]*`),
			fe("9:13", "spec.params[2].name", `duplicate parameter "a"`),
			fe("10:13", "spec.params[3].name", `parameter name "sluiceRows" is reserved: names starting with "sluice" are Sluice's own`),
			fe("11:7", "spec.params[4].name", "parameter name is required"),
		},
	}, {
		name: "types",
		yaml: head + `  params:
    - {name: a, type: integer, default: x}
    - {name: b, type: int, default: abc}
    - {name: c, type: int, default: 1.5}
    - {name: d, default: 5}
    - {name: e, type: list, default: {k: v}}
    - {name: f, type: bool, default: "true"}
` + oneStep,
		want: []fieldErr{
			fe("7:23", "spec.params[0].type", `unknown type "integer": expected one of string, int, float, bool, list, object`),
			fe("8:37", "spec.params[1].default", "string value abc does not match type int"),
			fe("9:37", "spec.params[2].default", "float value 1.5 does not match type int"),
			fe("10:26", "spec.params[3].default", "int value 5 does not match type string"),
			fe("11:38", "spec.params[4].default", `object value {"k":"v"} does not match type list`),
			fe("12:38", "spec.params[5].default", "string value true does not match type bool"),
		},
	}})
}

func TestValidateDefaults(t *testing.T) {
	testValid(t, []validCase{{
		name: "every step field that may be defaulted",
		yaml: head + `  defaults:
    description: d
    image: busybox
    command: [sh, -c]
    args: [echo hi]
    workingDir: /w
    env: [{name: A, value: b}]
    resources: {requests: {cpu: 100m}}
    nodeSelector: {pool: x}
    tolerations: [{key: k, operator: Exists}]
    volumes: [{name: v, emptyDir: {}, mountPath: /v}]
    retry: {limit: 1}
    timeout: 1m
    cache: {enabled: false}
  steps:
    - name: a
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "fields of one step",
		yaml: head + `  defaults:
    name: x
    group: {steps: []}
    after: [a]
    when: 'true'
    forEach: {items: [1]}
    inputs: {}
    outputs: {}
` + oneStep,
		want: []fieldErr{
			fe("7:11", "spec.defaults.name", "not allowed in defaults: it belongs to one step"),
			fe("8:12", "spec.defaults.group", "not allowed in defaults: it belongs to one step"),
			fe("9:12", "spec.defaults.after", "not allowed in defaults: it belongs to one step"),
			fe("10:11", "spec.defaults.when", "not allowed in defaults: it belongs to one step"),
			fe("11:14", "spec.defaults.forEach", "not allowed in defaults: it belongs to one step"),
			fe("12:13", "spec.defaults.inputs", "not allowed in defaults: it belongs to one step"),
			fe("13:14", "spec.defaults.outputs", "not allowed in defaults: it belongs to one step"),
		},
	}, {
		name: "errors in defaulted fields point at the defaults",
		yaml: head + `  defaults:
    image: busybox
    timeout: 0s
    resources: {requests: {cpu: lots}}
  steps:
    - name: a
      command: [sh]
    - name: b
      command: [sh]
      timeout: 1m
`,
		want: []fieldErr{
			fe("8:14", "spec.steps[0].timeout", "must be longer than 0s"),
			fe("9:33", `spec.steps[0].resources.requests["cpu"]`, `invalid quantity "lots" (examples: 500m, 2, 4Gi)`),
			fe("9:33", `spec.steps[1].resources.requests["cpu"]`, `invalid quantity "lots" (examples: 500m, 2, 4Gi)`),
		},
	}})
}

func TestValidateSteps(t *testing.T) {
	testValid(t, []validCase{{
		name: "names in groups and onExit",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - name: a
    - name: g
      group:
        steps:
          - name: b
          - name: g2
            group: {steps: [{name: c}]}
  onExit:
    - name: d
`,
	}, {
		name: "63 characters",
		yaml: head + `  steps:
    - name: ` + strings.Repeat("s", 63) + `
      image: busybox
      command: [sh]
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "no steps",
		yaml: head + "  params: []\n",
		want: []fieldErr{fe("6:3", "spec.steps", "a pipeline needs at least one step")},
	}, {
		name: "empty steps with onExit",
		yaml: head + "  steps: []\n  onExit: [{name: a, image: i, command: [c]}]\n",
		want: []fieldErr{fe("6:10", "spec.steps", "a pipeline needs at least one step")},
	}, {
		name: "names",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - name: Bad_Name
    - name: sluice-init
    - name: ` + strings.Repeat("x", 64) + `
    - image: only
    - name: a
    - name: g
      group:
        steps:
          - name: a
  onExit:
    - name: a
`,
		want: []fieldErr{
			fe("8:13", "spec.steps[0].name", `invalid step name "Bad_Name"`+stepMsgDNS),
			fe("9:13", "spec.steps[1].name", `step name "sluice-init" is reserved: names starting with "sluice" are Sluice's own`),
			fe("10:13", "spec.steps[2].name", `step name "xxxxxxxxxxxxxxxxxxxx…" is longer than 63 characters`),
			fe("11:7", "spec.steps[3].name", "step name is required"),
			fe("16:19", "spec.steps[5].group.steps[0].name", `duplicate step name "a" (first at spec.steps[4])`),
			fe("18:13", "spec.onExit[0].name", `duplicate step name "a" (first at spec.steps[4])`),
		},
	}, {
		// The first of two equal names is the one declared first, whatever
		// the order the steps run in.
		name: "duplicate declared before a dependency",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - {name: a, after: [b]}
    - {name: b, after: [c]}
    - {name: a}
    - {name: c}
`,
		want: []fieldErr{fe("10:14", "spec.steps[2].name", `duplicate step name "a" (first at spec.steps[0])`)},
	}, {
		name: "image and command required",
		yaml: head + `  steps:
    - name: a
      args: [x]
`,
		want: []fieldErr{
			fe("7:7", "spec.steps[0].command", "command is required"),
			fe("7:7", "spec.steps[0].image", "image is required (set it here or in spec.defaults)"),
		},
	}})
}

func TestValidateGroups(t *testing.T) {
	testValid(t, []validCase{{
		name: "group with when, forEach and after",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  params: [{name: go, type: bool, default: true}]
  steps:
    - name: first
    - name: g
      description: a group
      after: [first]
      when: '${{ params.go }}'
      forEach: {items: [1, 2]}
      group:
        steps:
          - {name: inner, args: ['${{ item }}']}
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "command fields on a group",
		yaml: head + `  steps:
    - name: g
      image: busybox
      command: [sh]
      args: [x]
      workingDir: /w
      env: [{name: A, value: b}]
      inputs: {}
      outputs: {}
      resources: {}
      nodeSelector: {a: b}
      tolerations: [{operator: Exists}]
      volumes: [{name: v, emptyDir: {}, mountPath: /v}]
      retry: {limit: 1}
      timeout: 1m
      cache: {enabled: false}
      group:
        steps: [{name: a, image: i, command: [c]}]
`,
		want: []fieldErr{
			fe("8:14", "spec.steps[0].image", "not allowed on a group: set it on the group's steps"),
			fe("9:16", "spec.steps[0].command", "not allowed on a group: set it on the group's steps"),
			fe("10:13", "spec.steps[0].args", "not allowed on a group: set it on the group's steps"),
			fe("11:19", "spec.steps[0].workingDir", "not allowed on a group: set it on the group's steps"),
			fe("12:12", "spec.steps[0].env", "not allowed on a group: set it on the group's steps"),
			fe("13:15", "spec.steps[0].inputs", "not allowed on a group: set it on the group's steps"),
			fe("14:16", "spec.steps[0].outputs", "not allowed on a group: set it on the group's steps"),
			fe("15:18", "spec.steps[0].resources", "not allowed on a group: set it on the group's steps"),
			fe("16:21", "spec.steps[0].nodeSelector", "not allowed on a group: set it on the group's steps"),
			fe("17:20", "spec.steps[0].tolerations", "not allowed on a group: set it on the group's steps"),
			fe("18:16", "spec.steps[0].volumes", "not allowed on a group: set it on the group's steps"),
			fe("19:14", "spec.steps[0].retry", "not allowed on a group: set it on the group's steps"),
			fe("20:16", "spec.steps[0].timeout", "not allowed on a group: set it on the group's steps"),
			fe("21:14", "spec.steps[0].cache", "not allowed on a group: set it on the group's steps"),
		},
	}, {
		// Defaults fill command steps only, so they never trip these checks.
		name: "empty group and defaults",
		yaml: head + `  defaults: {image: busybox, command: [sh], timeout: 1m}
  steps:
    - name: g
      group: {steps: []}
`,
		want: []fieldErr{fe("9:22", "spec.steps[0].group.steps", "a group needs at least one step")},
	}, {
		name: "group without steps",
		yaml: head + `  steps:
    - name: g
      group: {}
`,
		want: []fieldErr{fe("8:14", "spec.steps[0].group.steps", "a group needs at least one step")},
	}})
}

func TestValidateEnv(t *testing.T) {
	testValid(t, []validCase{{
		name: "values and secrets",
		yaml: head + `  params: [{name: mode}]
  steps:
    - name: a
      image: busybox
      command: [sh]
      env:
        - {name: MODE, value: '${{ params.mode }}'}
        - {name: _X1, value: ''}
        - {name: TOKEN, secret: {name: creds.v1, key: token, version: '3'}}
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "names and sources",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh]
      env:
        - {name: 1X, value: a}
        - {name: A, value: a}
        - {name: A, value: b}
        - {value: c}
        - {name: B, value: v, secret: {name: s, key: k}}
        - {name: C, secret: {name: Bad_Secret, key: k}}
        - {name: D, secret: {name: s}}
        - {name: E, value: '${{ params.nope }}'}
`,
		want: []fieldErr{
			fe("11:18", "spec.steps[0].env[0].name", `invalid environment variable name "1X"`),
			fe("13:18", "spec.steps[0].env[2].name", `duplicate environment variable "A"`),
			fe("14:11", "spec.steps[0].env[3].name", `invalid environment variable name ""`),
			fe("15:11", "spec.steps[0].env[4]", "set value or secret, not both"),
			fe("16:36", "spec.steps[0].env[5].secret.name", `invalid secret name "Bad_Secret"`),
			fe("17:29", "spec.steps[0].env[6].secret.key", "secret key is required"),
			fe("18:28", "spec.steps[0].env[7].value", `${{ params.nope }}: no parameter "nope" in spec.params`),
		},
	}})
}

func TestValidateInputs(t *testing.T) {
	testValid(t, []validCase{{
		name: "params and artifacts",
		yaml: head + `  params:
    - {name: n, type: int, default: 1}
    - {name: s}
  defaults: {image: busybox, command: [sh]}
  steps:
    - name: a
      outputs:
        params: [{name: count, type: int}, {name: text}]
        artifacts: [{name: raw}]
    - name: b
      inputs:
        params:
          - {name: lit, value: 'x-${{ params.s }}-${{ pipeline.name }}'}
          - {name: typed, type: int, value: '42'}
          - {name: typedf, type: float, value: '4'}
          - {name: js, type: list, value: '[1, 2]'}
          - {name: n, type: int, from: '${{ params.n }}'}
          - {name: nf, type: float, from: '${{ params.n }}'}
          - {name: c, type: int, from: '${{ steps.a.outputs.params.count }}'}
          - {name: t, from: '${{ steps.a.outputs.params.text }}'}
          - {name: run, from: '${{ pipeline.runId }}'}
          - {name: empty}
        artifacts:
          - {name: data, from: '${{ steps.a.outputs.artifacts.raw }}'}
      args: ['${{ inputs.params.lit }}', '${{ inputs.artifacts.data }}']
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "params",
		yaml: head + `  params:
    - {name: s}
  defaults: {image: busybox, command: [sh]}
  steps:
    - name: a
      outputs:
        params: [{name: text}]
        artifacts: [{name: raw}]
    - name: b
      inputs:
        params:
          - {name: 1bad, value: x}
          - {name: dup, value: x}
          - {name: dup, value: y}
          - {name: both, value: x, from: '${{ params.s }}'}
          - {name: notsingle, from: 'x ${{ params.s }}'}
          - {name: art, from: '${{ steps.a.outputs.artifacts.raw }}'}
          - {name: inp, from: '${{ inputs.params.dup }}'}
          - {name: mism, type: int, from: '${{ params.s }}'}
          - {name: mism2, type: int, from: '${{ steps.a.outputs.params.text }}'}
          - {name: lit, type: int, value: abc}
          - {name: badtype, type: number, value: '1'}
          - {name: outref, value: '${{ outputs.params.x }}'}
          - {name: unterminated, value: '${{ params.s'}
`,
		want: []fieldErr{
			fe("17:20", "spec.steps[1].inputs.params[0].name", `invalid input name "1bad": must match [a-zA-Z_][a-zA-Z0-9_-]*`),
			fe("19:20", "spec.steps[1].inputs.params[2].name", `duplicate input "dup"`),
			fe("20:13", "spec.steps[1].inputs.params[3]", "set value or from, not both"),
			fe("21:37", "spec.steps[1].inputs.params[4].from", `must be exactly one placeholder such as ${{ steps.STEP.outputs.params.NAME }}, got "x ${{ params.s }}"`),
			fe("22:31", "spec.steps[1].inputs.params[5].from", "${{ steps.a.outputs.artifacts.raw }} cannot feed an input parameter: use params.*, steps.*.outputs.params.*, item or pipeline.*"),
			fe("23:31", "spec.steps[1].inputs.params[6].from", "${{ inputs.params.dup }} cannot feed an input parameter: use params.*, steps.*.outputs.params.*, item or pipeline.*"),
			fe("24:43", "spec.steps[1].inputs.params[7].from", `type mismatch: input "mism" is int but ${{ params.s }} is string`),
			fe("25:44", "spec.steps[1].inputs.params[8].from", `type mismatch: input "mism2" is int but ${{ steps.a.outputs.params.text }} is string`),
			fe("26:43", "spec.steps[1].inputs.params[9].value", "string value abc does not match type int"),
			fe("27:35", "spec.steps[1].inputs.params[10].type", `unknown type "number": expected one of string, int, float, bool, list, object`),
			fe("28:35", "spec.steps[1].inputs.params[11].value", "${{ outputs.params.x }} cannot be used in an input value"),
			fe("29:41", "spec.steps[1].inputs.params[12].value", "unterminated placeholder at offset 0: missing }}"),
		},
	}, {
		name: "artifacts",
		yaml: head + `  params:
    - {name: s}
  defaults: {image: busybox, command: [sh]}
  steps:
    - name: a
      outputs:
        params: [{name: text}]
        artifacts: [{name: raw}]
    - name: b
      inputs:
        artifacts:
          - {name: nofrom}
          - {name: param, from: '${{ params.s }}'}
          - {name: stepparam, from: '${{ steps.a.outputs.params.text }}'}
          - {name: two, from: '${{ steps.a.outputs.artifacts.raw }}/x'}
          - {name: missing, from: '${{ steps.a.outputs.artifacts.nope }}'}
          - {name: missing, from: '${{ steps.a.outputs.artifacts.raw }}'}
`,
		want: []fieldErr{
			fe("17:13", "spec.steps[1].inputs.artifacts[0].from", "from is required: ${{ steps.STEP.outputs.artifacts.NAME }}"),
			fe("18:33", "spec.steps[1].inputs.artifacts[1].from", "an input artifact comes from ${{ steps.STEP.outputs.artifacts.NAME }}, got ${{ params.s }}"),
			fe("19:37", "spec.steps[1].inputs.artifacts[2].from", "an input artifact comes from ${{ steps.STEP.outputs.artifacts.NAME }}, got ${{ steps.a.outputs.params.text }}"),
			fe("20:31", "spec.steps[1].inputs.artifacts[3].from", `must be exactly one placeholder such as ${{ steps.STEP.outputs.params.NAME }}, got "${{ steps.a.outputs.artifacts.raw }}/x"`),
			fe("21:35", "spec.steps[1].inputs.artifacts[4].from", `${{ steps.a.outputs.artifacts.nope }}: step "a" has no output artifact "nope"`),
			fe("22:20", "spec.steps[1].inputs.artifacts[5].name", `duplicate input artifact "missing"`),
		},
	}})
}

func TestValidateOutputs(t *testing.T) {
	testValid(t, []validCase{{
		name: "every type",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh, -c, 'echo > ${{ outputs.params.s }}; echo > ${{ outputs.artifacts.d }}']
      outputs:
        params: [{name: s}, {name: i, type: int}, {name: o, type: object}]
        artifacts: [{name: d}]
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "names and types",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh]
      outputs:
        params:
          - {name: x}
          - {name: x}
          - {name: 'has space'}
          - {name: y, type: blob}
          - {name: sluice_out}
        artifacts:
          - {name: x}
          - {}
`,
		want: []fieldErr{
			fe("13:20", "spec.steps[0].outputs.params[1].name", `duplicate output "x"`),
			fe("14:20", "spec.steps[0].outputs.params[2].name", `invalid output name "has space": must match [a-zA-Z_][a-zA-Z0-9_-]*`),
			fe("15:29", "spec.steps[0].outputs.params[3].type", `unknown type "blob": expected one of string, int, float, bool, list, object`),
			fe("16:20", "spec.steps[0].outputs.params[4].name", `output name "sluice_out" is reserved: names starting with "sluice" are Sluice's own`),
			fe("18:20", "spec.steps[0].outputs.artifacts[0].name", `duplicate output "x": parameters and artifacts share one namespace`),
			fe("19:13", "spec.steps[0].outputs.artifacts[1].name", "output name is required"),
		},
	}})
}

func TestValidateReferences(t *testing.T) {
	testValid(t, []validCase{{
		name: "every placeholder where it is defined",
		yaml: head + `  params: [{name: p, type: list, default: [1]}]
  defaults: {image: busybox, command: [sh]}
  steps:
    - name: a
      outputs: {params: [{name: o}], artifacts: [{name: art}]}
      args: ['${{ params.p }} ${{ pipeline.name }} ${{ pipeline.runId }} ${{ outputs.params.o }} ${{ outputs.artifacts.art }}']
    - name: loop
      forEach: {items: '${{ params.p }}'}
      args: ['${{ item }}', '${{ item.key }}', '${{ steps.a.outputs.artifacts.art }}']
      outputs: {params: [{name: o}], artifacts: [{name: art}]}
    - name: after-loop
      inputs: {params: [{name: all, type: list, from: '${{ steps.loop.outputs.params.o }}'}]}
    - name: g
      forEach: {items: [1, 2]}
      group:
        steps:
          - name: in-g
            outputs: {artifacts: [{name: art}]}
            args: ['${{ item }}']
          - name: in-g2
            args: ['${{ steps.in-g.outputs.artifacts.art }}', '${{ item }}']
  onExit:
    - name: notify
      args: ['${{ pipeline.status }}']
      outputs: {params: [{name: o}]}
    - name: notify2
      args: ['${{ steps.notify.outputs.params.o }}']
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "unknown names",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - name: a
      outputs: {params: [{name: o}]}
      args:
        - '${{ params.nope }}'
        - '${{ inputs.params.nope }}'
        - '${{ inputs.artifacts.nope }}'
        - '${{ outputs.params.nope }}'
        - '${{ outputs.artifacts.o }}'
        - '${{ steps.nope.outputs.params.o }}'
        - '${{ steps.b.outputs.params.nope }}'
        - '${{ steps.a.outputs.params.o }}'
        - '${{ steps.g.outputs.params.o }}'
        - '${{ item }}'
        - '${{ pipeline.status }}'
        - '${{ bogus }}'
    - name: b
    - name: g
      group: {steps: [{name: c}]}
`,
		want: []fieldErr{
			fe("11:11", "spec.steps[0].args[0]", `${{ params.nope }}: no parameter "nope" in spec.params`),
			fe("12:11", "spec.steps[0].args[1]", `${{ inputs.params.nope }}: step "a" declares no such input`),
			fe("13:11", "spec.steps[0].args[2]", `${{ inputs.artifacts.nope }}: step "a" declares no such input`),
			fe("14:11", "spec.steps[0].args[3]", `${{ outputs.params.nope }}: step "a" declares no such output`),
			fe("15:11", "spec.steps[0].args[4]", `${{ outputs.artifacts.o }}: step "a" declares no such output`),
			fe("16:11", "spec.steps[0].args[5]", `${{ steps.nope.outputs.params.o }}: no step "nope"`),
			fe("17:11", "spec.steps[0].args[6]", `${{ steps.b.outputs.params.nope }}: step "b" has no output parameter "nope"`),
			fe("18:11", "spec.steps[0].args[7]", "${{ steps.a.outputs.params.o }}: a step cannot read its own outputs through steps.a; use outputs.*"),
			fe("19:11", "spec.steps[0].args[8]", `${{ steps.g.outputs.params.o }}: "g" is a group, which has no outputs of its own`),
			fe("20:11", "spec.steps[0].args[9]", "${{ item }} is only defined in a step (or group) with forEach"),
			fe("21:11", "spec.steps[0].args[10]", "${{ pipeline.status }} is only defined in onExit steps"),
			fe("22:11", "spec.steps[0].args[11]", "placeholder ${{ bogus }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*"),
		},
	}, {
		name: "onExit and main steps",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - name: a
      outputs: {params: [{name: o}]}
      args: ['${{ steps.x.outputs.params.o }}']
  onExit:
    - name: x
      outputs: {params: [{name: o}]}
      args: ['${{ steps.a.outputs.params.o }}']
`,
		want: []fieldErr{
			fe("10:14", "spec.steps[0].args[0]", `${{ steps.x.outputs.params.o }}: "x" is an onExit step, which runs after every main step`),
			fe("14:14", "spec.onExit[0].args[0]", "${{ steps.a.outputs.params.o }}: onExit steps cannot read outputs of main steps, which may not have run"),
		},
	}, {
		name: "forEach artifacts from outside the loop",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - name: loop
      forEach: {items: [1, 2]}
      outputs: {artifacts: [{name: art}]}
    - name: g
      forEach: {items: [1, 2]}
      group:
        steps:
          - {name: in-g, outputs: {artifacts: [{name: art}]}}
    - name: b
      args: ['${{ steps.loop.outputs.artifacts.art }}', '${{ steps.in-g.outputs.artifacts.art }}']
`,
		want: []fieldErr{
			fe("17:14", "spec.steps[2].args[0]", `${{ steps.loop.outputs.artifacts.art }}: "loop" repeats with forEach; its artifacts cannot be read from outside the loop`),
			fe("17:57", "spec.steps[2].args[1]", `${{ steps.in-g.outputs.artifacts.art }}: "in-g" repeats with forEach; its artifacts cannot be read from outside the loop`),
		},
	}, {
		// A group's when and forEach are decided before any of its steps
		// runs.
		name: "group reads its own steps",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - name: g
      when: '${{ steps.in-g.outputs.params.o }} == 1'
      forEach: {items: '${{ steps.in-g.outputs.params.o }}'}
      group:
        steps:
          - {name: in-g, outputs: {params: [{name: o}]}}
`,
		want: []fieldErr{
			fe("9:13", "spec.steps[0].when", `${{ steps.in-g.outputs.params.o }}: "in-g" is a step of this group, whose when and forEach are decided before its steps run`),
			fe("10:24", "spec.steps[0].forEach.items", `${{ steps.in-g.outputs.params.o }}: "in-g" is a step of this group, whose when and forEach are decided before its steps run`),
		},
	}})
}

func TestValidateAfter(t *testing.T) {
	testValid(t, []validCase{{
		name: "across scopes",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - name: a
    - name: g
      after: [a]
      group:
        steps:
          - {name: b, after: [a]}
          - {name: c, after: [b]}
    - {name: d, after: [c, g]}
  onExit:
    - name: x
    - {name: y, after: [x]}
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "main steps",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - name: a
      after: [nope, a, b, b, x]
    - name: b
    - name: g
      after: [c]
      group:
        steps:
          - {name: c, after: [g]}
  onExit:
    - {name: x, after: [a]}
`,
		want: []fieldErr{
			fe("9:15", "spec.steps[0].after[0]", `no step "nope"`),
			fe("9:21", "spec.steps[0].after[1]", "a step cannot run after itself"),
			fe("9:27", "spec.steps[0].after[3]", `"b" is listed twice`),
			fe("9:30", "spec.steps[0].after[4]", `"x" is an onExit step, which runs after every main step`),
			fe("12:15", "spec.steps[2].after[0]", `"c" is a step of this group; a group cannot wait for its own steps`),
			fe("15:31", "spec.steps[2].group.steps[0].after[0]", `"g" is the group this step belongs to`),
			fe("17:25", "spec.onExit[0].after[0]", "onExit steps run after every main step already; after may only name other onExit steps"),
		},
	}})
}

func TestValidateForEach(t *testing.T) {
	testValid(t, []validCase{{
		name: "items",
		yaml: head + `  params:
    - {name: grid, type: list, default: [1, 2]}
    - {name: text, default: '[1]'}
  defaults: {image: busybox, command: [sh]}
  steps:
    - {name: a, outputs: {params: [{name: l, type: list}, {name: s}]}}
    - {name: lit, forEach: {items: [], parallelism: 0}}
    - {name: objects, forEach: {items: [{k: 1}, {k: 2}], parallelism: 1}, args: ['${{ item.k }}']}
    - {name: param, forEach: {items: '${{ params.grid }}'}}
    - {name: str, forEach: {items: '${{ params.text }}'}}
    - {name: out, forEach: {items: '${{ steps.a.outputs.params.l }}'}}
    - {name: outs, forEach: {items: '${{ steps.a.outputs.params.s }}'}}
    - name: outer
      forEach: {items: [[1, 2], [3]]}
      group:
        steps:
          - {name: inner, forEach: {items: '${{ item }}'}, args: ['${{ item }}']}
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "items",
		yaml: head + `  params:
    - {name: n, type: int, default: 1}
  defaults: {image: busybox, command: [sh]}
  steps:
    - {name: a, outputs: {params: [{name: i, type: int}], artifacts: [{name: art}]}}
    - {name: missing, forEach: {parallelism: 2}}
    - {name: scalar, forEach: {items: 5}}
    - {name: object, forEach: {items: {a: 1}}}
    - {name: text, forEach: {items: 'a ${{ params.n }}'}}
    - {name: kind, forEach: {items: '${{ pipeline.name }}'}}
    - {name: art, forEach: {items: '${{ steps.a.outputs.artifacts.art }}'}}
    - {name: int, forEach: {items: '${{ params.n }}'}}
    - {name: intout, forEach: {items: '${{ steps.a.outputs.params.i }}'}}
    - {name: item, forEach: {items: '${{ item }}'}}
    - {name: self, forEach: {items: '${{ steps.self.outputs.params.o }}'}, outputs: {params: [{name: o}]}}
    - {name: neg, forEach: {items: [1], parallelism: -1}}
`,
		want: []fieldErr{
			fe("11:32", "spec.steps[1].forEach.items", "items is required: a list, or a placeholder whose value is a list"),
			fe("12:39", "spec.steps[2].forEach.items", "must be a list or a placeholder, got int"),
			fe("13:39", "spec.steps[3].forEach.items", "must be a list or a placeholder, got object"),
			fe("14:37", "spec.steps[4].forEach.items", `must be exactly one placeholder such as ${{ steps.STEP.outputs.params.NAME }}, got "a ${{ params.n }}"`),
			fe("15:37", "spec.steps[5].forEach.items", "${{ pipeline.name }} cannot give forEach items: use params.*, steps.*.outputs.params.* or item"),
			fe("16:36", "spec.steps[6].forEach.items", "${{ steps.a.outputs.artifacts.art }} cannot give forEach items: use params.*, steps.*.outputs.params.* or item"),
			fe("17:36", "spec.steps[7].forEach.items", "type mismatch: forEach.items needs a list, ${{ params.n }} is int"),
			fe("18:39", "spec.steps[8].forEach.items", "type mismatch: forEach.items needs a list, ${{ steps.a.outputs.params.i }} is int"),
			fe("19:37", "spec.steps[9].forEach.items", "${{ item }} in forEach.items needs an enclosing step (or group) with forEach"),
			fe("20:37", "spec.steps[10].forEach.items", "${{ steps.self.outputs.params.o }}: a step cannot read its own outputs through steps.self; use outputs.*"),
			fe("21:54", "spec.steps[11].forEach.parallelism", "must not be negative"),
		},
	}})
}

func TestValidateWhen(t *testing.T) {
	testValid(t, []validCase{{
		name: "conditions",
		yaml: head + `  params: [{name: mode}, {name: go, type: bool, default: true}]
  defaults: {image: busybox, command: [sh]}
  steps:
    - {name: a, outputs: {params: [{name: count, type: int}]}}
    - {name: b, when: '${{ steps.a.outputs.params.count }} > 100'}
    - {name: c, when: '"${{ params.mode }}-v2" == "full-v2" && !(${{ params.go }} || false)'}
    - {name: d, when: '${{ params.go }}'}
    - {name: e, forEach: {items: [1]}, when: '${{ item }} != 2'}
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "syntax and operands",
		yaml: head + `  params: [{name: mode}]
  defaults: {image: busybox, command: [sh]}
  steps:
    - {name: a, outputs: {params: [{name: o}], artifacts: [{name: art}]}}
    - {name: b, when: '${{ params.mode }} = 1'}
    - {name: c, when: 'mode == 1'}
    - {name: d, when: '(${{ params.mode }} == 1'}
    - {name: e, when: '${{ steps.a.outputs.artifacts.art }} == 1'}
    - {name: f, when: '${{ outputs.params.o }} == 1', outputs: {params: [{name: o}]}}
    - {name: g, when: '${{ params.nope }} == 1'}
    - {name: h, when: '"${{ params.mode }}'}
`,
		want: []fieldErr{
			fe("10:23", "spec.steps[1].when", "when: unexpected '=' at offset 19"),
			fe("11:23", "spec.steps[2].when", `when: unexpected "mode" at offset 0: quote strings ("...") and write placeholders as ${{ ... }}`),
			fe("12:23", "spec.steps[3].when", `when: expected ")" at offset 24, got end of condition`),
			fe("13:23", "spec.steps[4].when", "${{ steps.a.outputs.artifacts.art }} cannot be used in when: conditions compare values"),
			fe("14:23", "spec.steps[5].when", "${{ outputs.params.o }} cannot be used in when: conditions compare values"),
			fe("15:23", "spec.steps[6].when", `${{ params.nope }}: no parameter "nope" in spec.params`),
			fe("16:23", "spec.steps[7].when", "when: unterminated string at offset 0"),
		},
	}})
}

func TestValidateResources(t *testing.T) {
	testValid(t, []validCase{{
		name: "quantities",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh]
      resources:
        requests: {cpu: 500m, memory: 2Gi, ephemeral-storage: 1e3, example.com/foo: '1'}
        limits: {cpu: '1.5', memory: 4G}
        gpus: {count: 1}
    - name: b
      image: busybox
      command: [sh]
      resources: {gpus: {count: 2, resource: amd.com/gpu}}
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "quantities, names and gpus",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh]
      resources:
        requests: {cpu: lots, Memory: 1Gi, memory: -1Gi}
        limits: {cpu: 1 core}
        gpus: {count: 0, resource: Nvidia/GPU}
`,
		want: []fieldErr{
			fe("11:25", `spec.steps[0].resources.requests["cpu"]`, `invalid quantity "lots" (examples: 500m, 2, 4Gi)`),
			fe("11:39", `spec.steps[0].resources.requests["Memory"]`, `invalid resource name "Memory"`),
			fe("11:52", `spec.steps[0].resources.requests["memory"]`, `invalid quantity "-1Gi" (examples: 500m, 2, 4Gi)`),
			fe("12:23", `spec.steps[0].resources.limits["cpu"]`, `invalid quantity "1 core" (examples: 500m, 2, 4Gi)`),
			fe("13:23", "spec.steps[0].resources.gpus.count", "must be at least 1"),
			fe("13:36", "spec.steps[0].resources.gpus.resource", `invalid resource name "Nvidia/GPU"`),
		},
	}})
}

func TestValidateTolerations(t *testing.T) {
	testValid(t, []validCase{{
		name: "operators",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh]
      tolerations:
        - {key: gpu, operator: Exists, effect: NoSchedule}
        - {key: pool, operator: Equal, value: x, effect: NoExecute, tolerationSeconds: 60}
        - {key: pool, value: y}
        - {operator: Exists}
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "operators and effects",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh]
      tolerations:
        - {key: gpu, operator: In}
        - {key: gpu, operator: Exists, value: x}
        - {key: gpu, effect: Never}
        - {value: x}
`,
		want: []fieldErr{
			fe("11:32", "spec.steps[0].tolerations[0].operator", `operator must be Exists or Equal, got "In"`),
			fe("12:47", "spec.steps[0].tolerations[1].value", "must be empty when operator is Exists"),
			fe("13:30", "spec.steps[0].tolerations[2].effect", `effect must be NoSchedule, PreferNoSchedule or NoExecute, got "Never"`),
			fe("14:11", "spec.steps[0].tolerations[3].operator", "a toleration without a key must use operator Exists"),
		},
	}})
}

func TestValidateVolumes(t *testing.T) {
	testValid(t, []validCase{{
		name: "every source",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh]
      volumes:
        - {name: scratch, emptyDir: {}, mountPath: /scratch}
        - {name: mem, emptyDir: {medium: Memory, sizeLimit: 1Gi}, mountPath: /mem}
        - {name: creds, secret: {secretName: my.creds}, mountPath: /creds, readOnly: true}
        - {name: conf, configMap: {name: conf}, mountPath: /etc/conf}
        - {name: data, persistentVolumeClaim: {claimName: data}, mountPath: /data}
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "names, paths and sources",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh]
      volumes:
        - {name: Bad, emptyDir: {}, mountPath: /a}
        - {name: v, emptyDir: {}, mountPath: /b}
        - {name: v, emptyDir: {}, mountPath: /c}
        - {name: rel, emptyDir: {}, mountPath: data}
        - {name: none, mountPath: /d}
        - {name: two, emptyDir: {}, configMap: {name: c}, mountPath: /e}
        - {name: sec, secret: {secretName: Bad}, mountPath: /f}
        - {name: cm, configMap: {name: -c}, mountPath: /g}
        - {name: pvc, persistentVolumeClaim: {claimName: ''}, mountPath: /h}
        - {name: size, emptyDir: {sizeLimit: big}, mountPath: /i}
`,
		want: []fieldErr{
			fe("11:18", "spec.steps[0].volumes[0].name", `invalid volume name "Bad": must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)`),
			fe("13:18", "spec.steps[0].volumes[2].name", `duplicate volume "v"`),
			fe("14:48", "spec.steps[0].volumes[3].mountPath", `mountPath must be an absolute path, got "data"`),
			fe("15:11", "spec.steps[0].volumes[4]", "set exactly one of emptyDir, secret, configMap, persistentVolumeClaim"),
			fe("16:11", "spec.steps[0].volumes[5]", "set exactly one of emptyDir, secret, configMap, persistentVolumeClaim"),
			fe("17:44", "spec.steps[0].volumes[6].secret.secretName", `invalid secret name "Bad"`),
			fe("18:40", "spec.steps[0].volumes[7].configMap.name", `invalid configMap name "-c"`),
			fe("19:58", "spec.steps[0].volumes[8].persistentVolumeClaim.claimName", `invalid claim name ""`),
			fe("20:46", "spec.steps[0].volumes[9].emptyDir.sizeLimit", `invalid quantity "big"`),
		},
	}})
}

func TestValidateRetryAndTimeout(t *testing.T) {
	testValid(t, []validCase{{
		name: "limits",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh]
      retry: {limit: 0, backoff: {duration: 1s, factor: 1, max: 1m}}
      timeout: 1ns
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "negative limit, small factor, zero timeout",
		yaml: head + `  steps:
    - name: a
      image: busybox
      command: [sh]
      retry: {limit: -1, backoff: {factor: 0.5}}
      timeout: 0s
`,
		want: []fieldErr{
			fe("10:22", "spec.steps[0].retry.limit", "must not be negative"),
			fe("10:44", "spec.steps[0].retry.backoff.factor", "must be at least 1, got 0.5"),
			fe("11:16", "spec.steps[0].timeout", "must be longer than 0s"),
		},
	}})
}

func TestValidateCycles(t *testing.T) {
	testValid(t, []validCase{{
		name: "diamond",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - {name: d, after: [b, c]}
    - {name: b, after: [a]}
    - {name: c, after: [a]}
    - {name: a}
`,
	}})
	testInvalid(t, []invalidCase{{
		name: "two steps",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - {name: a, after: [b]}
    - {name: b, after: [a]}
`,
		want: []fieldErr{fe("8:14", "spec.steps[0].name", "dependency cycle: a needs b, b needs a")},
	}, {
		name: "three steps through data",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - {name: x}
    - {name: a, args: ['${{ steps.c.outputs.params.o }}'], outputs: {params: [{name: o}]}}
    - {name: b, args: ['${{ steps.a.outputs.params.o }}'], outputs: {params: [{name: o}]}}
    - {name: c, after: [b], outputs: {params: [{name: o}]}}
`,
		want: []fieldErr{fe("9:14", "spec.steps[1].name", "dependency cycle: a needs c, c needs b, b needs a")},
	}, {
		name: "inside a group",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - name: g
      group:
        steps:
          - {name: a, after: [b]}
          - {name: b, after: [a]}
`,
		want: []fieldErr{fe("11:20", "spec.steps[0].group.steps[0].name", "dependency cycle: a needs b, b needs a")},
	}, {
		name: "lifted to groups",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - name: g
      group:
        steps:
          - {name: a, after: [b]}
    - {name: b, after: [a]}
`,
		want: []fieldErr{fe("8:13", "spec.steps[0].name", "dependency cycle: g needs b, b needs g")},
	}, {
		name: "onExit",
		yaml: head + `  defaults: {image: busybox, command: [sh]}
  steps: [{name: m}]
  onExit:
    - {name: a, after: [b]}
    - {name: b, after: [a]}
`,
		want: []fieldErr{fe("9:14", "spec.onExit[0].name", "dependency cycle: a needs b, b needs a")},
	}})
}

// TestValidateBuiltInCode checks a pipeline without positions: errors
// carry paths and no line.
func TestValidateBuiltInCode(t *testing.T) {
	p := &ir.Pipeline{APIVersion: ir.APIVersion, Kind: ir.Kind, Metadata: ir.Metadata{Name: "p"}}
	p.Spec.Steps = []ir.Step{{Name: "a", Image: "busybox"}}
	want := []fieldErr{{Pos: "<input>", Path: "spec.steps[0].command", Msg: "command is required"}}
	if diff := cmp.Diff(want, fieldErrs(p.Validate())); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	p.Spec.Steps[0].Command = []string{"sh"}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
