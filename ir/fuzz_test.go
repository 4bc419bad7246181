package ir_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-dev/sluice/ir"
)

// housing is the example of IR.md, with its group filled in.
const housing = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata:
  name: housing
  labels: {team: ml}
spec:
  params:
    - name: rows
      type: int
      default: 1000
      description: rows to generate
    - {name: grid, type: list, default: [0.1, 0.01]}
  defaults:
    image: busybox:1.36
    cache: {enabled: true}
  steps:
    - name: ingest
      command: [sh, -c]
      args:
        - seq 1 ${{ params.rows }} > ${{ outputs.artifacts.raw }}
      outputs:
        artifacts: [{name: raw}]
    - name: stats
      command: [sh, -c, 'wc -l < ${{ inputs.artifacts.data }} > ${{ outputs.params.count }}']
      inputs:
        artifacts: [{name: data, from: '${{ steps.ingest.outputs.artifacts.raw }}'}]
      outputs:
        params: [{name: count, type: int}]
    - name: train
      image: python:3.11
      command: [python, train.py, --lr, '${{ item }}', --in, '${{ steps.ingest.outputs.artifacts.raw }}']
      forEach: {items: [0.1, 0.01, 0.001], parallelism: 2}
      when: '${{ steps.stats.outputs.params.count }} > 100'
      env:
        - {name: MODE, value: fast}
        - {name: TOKEN, secret: {name: creds, key: token}}
      resources:
        requests: {cpu: "1", memory: 2Gi}
        limits: {memory: 4Gi}
        gpus: {count: 1, resource: nvidia.com/gpu}
      nodeSelector: {pool: gpu}
      tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]
      volumes: [{name: scratch, emptyDir: {}, mountPath: /scratch}]
      retry: {limit: 3, backoff: {duration: 10s, factor: 2, max: 5m}}
      timeout: 30m
      cache: {enabled: true, salt: v2, ttl: 168h}
      after: [stats]
      outputs:
        params: [{name: loss, type: float}]
    - name: report
      forEach: {items: '${{ params.grid }}'}
      group:
        steps:
          - name: plot
            command: [sh, -c, 'echo ${{ item }} ${{ steps.train.outputs.params.loss }} > ${{ outputs.artifacts.png }}']
            outputs: {artifacts: [{name: png}]}
          - name: publish
            command: [sh, -c, 'cp ${{ inputs.artifacts.png }} /out && echo $${{ not a placeholder }}']
            inputs: {artifacts: [{name: png, from: '${{ steps.plot.outputs.artifacts.png }}'}]}
  onExit:
    - name: notify
      command: [sh, -c, 'echo pipeline ${{ pipeline.name }} ${{ pipeline.runId }} ${{ pipeline.status }}']
`

func TestHousing(t *testing.T) {
	p := mustParse(t, housing)
	b, err := ir.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	p2 := mustParse(t, string(b))
	b2, err := ir.Encode(p2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Errorf("canonical encoding is not stable:\n%s\n%s", b, b2)
	}
}

// TestRoundTripEmptyLists: an empty list is written as nothing, so it must
// mean nothing, also where spec.defaults would fill it.
func TestRoundTripEmptyLists(t *testing.T) {
	checkRoundTrip(t, []byte(head+`  defaults: {image: busybox, command: [sh], args: [x], nodeSelector: {a: b}}
  steps:
    - {name: a, args: [], nodeSelector: {}}
`))
}

func FuzzParse(f *testing.F) {
	examples, _ := filepath.Glob("../examples/*.yaml")
	for _, file := range append(examples, "testdata/many-errors.yaml") {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		f.Add(data)
	}
	for _, s := range []string{
		housing,
		head + oneStep,
		head + "  params: [{name: n, type: int, default: 0x10}]\n" + oneStep,
		head + "  steps:\n    - &s {name: a, image: i, command: [c]}\n    - {<<: *s, name: b, after: [a]}\n",
		graphYAML,
		paramsYAML,
		`{"apiVersion":"sluice.dev/v1alpha1","kind":"Pipeline","metadata":{"name":"p"},"spec":{"steps":[{"name":"a","image":"i","command":["c"]}]}}`,
		head + "  steps: [{name: a, image: \"i\\x85\\x7f\\ufffe\", command: [c]}]\n",
		"",
		"a: [",
		"---\n---\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ir.Parse("fuzz.yaml", data)
		if err != nil {
			if len(ir.Errors(err)) == 0 {
				t.Fatalf("error carries no field errors: %v", err)
			}
			return
		}
		checkRoundTrip(t, data)
		// What a backend does with a valid pipeline must not panic.
		p.Graph().All()
		_, _ = p.ResolveParams(nil)
		for _, n := range p.Graph().All() {
			if n.Step.When == "" {
				continue
			}
			w, err := ir.ParseWhen(n.Step.When)
			if err != nil {
				t.Fatalf("step %s: valid when does not parse: %v", n.Name(), err)
			}
			_, _ = w.Eval(func(ir.Ref) (string, error) { return "1", nil })
		}
	})
}

// checkRoundTrip parses data, which must be valid, and checks that the
// canonical encoding parses back to the same encoding.
func checkRoundTrip(t *testing.T, data []byte) {
	t.Helper()
	p, err := ir.Parse("x", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	b, err := ir.Encode(p)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	p2, err := ir.Parse("x", b)
	if err != nil {
		t.Fatalf("Parse(Encode(p)): %v\nencoding: %s", err, b)
	}
	b2, err := ir.Encode(p2)
	if err != nil {
		t.Fatalf("Encode(Parse(Encode(p))): %v", err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatalf("encoding changed by a round trip:\n%s\n%s", b, b2)
	}
}
