package main

import (
	"encoding/json"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"
)

var tektonCacheFlags = []string{"--cache", "s3://sluice/cache?endpoint=minio.ml:9000", "--cache-secret", "minio"}

const tektonPipeline = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: hello}
spec:
  params: [{name: n, type: int, default: 1}]
  defaults: {image: busybox:1.36}
  steps:
    - name: greet
      command: [sh, -c, 'echo ${{ params.n }} > ${{ outputs.params.greeting }}']
      outputs: {params: [{name: greeting}]}
      nodeSelector: {pool: cpu}
    - name: shout
      when: '${{ steps.greet.outputs.params.greeting }} > 3'
      command: [echo, '${{ steps.greet.outputs.params.greeting }}']
`

// lastArgs returns the arguments of a pipeline task's last step.
func lastArgs(pt v1.PipelineTask) []string {
	steps := pt.TaskSpec.Steps
	return steps[len(steps)-1].Args
}

func TestCompileTekton(t *testing.T) {
	file := pipelineFile(t, tektonPipeline)
	code, stdout, stderr := sluice(t, append([]string{"compile", "-t", "tekton", file, "-p", "n=7", "-n", "ml",
		"--service-account", "runner", "--launcher-image", "registry.local/sluice-exec:dev"}, tektonCacheFlags...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var pr v1.PipelineRun
	if err := yaml.UnmarshalStrict([]byte(stdout), &pr); err != nil {
		t.Fatalf("output is not a PipelineRun: %v\n%s", err, stdout)
	}
	if pr.Namespace != "ml" || pr.Spec.TaskRunTemplate.ServiceAccountName != "runner" || pr.GenerateName != "hello-" {
		t.Errorf("namespace %q, service account %q, generateName %q", pr.Namespace, pr.Spec.TaskRunTemplate.ServiceAccountName, pr.GenerateName)
	}
	tasks := pr.Spec.PipelineSpec.Tasks
	if len(tasks) != 3 || tasks[0].Name != "greet" || tasks[1].Name != "shout-when" || tasks[2].Name != "shout" {
		t.Fatalf("tasks %v, want greet, shout-when, shout", tasks)
	}
	if greet := strings.Join(lastArgs(tasks[0]), " "); !strings.Contains(greet, "--in=params.n=7") {
		t.Errorf("greet's launcher: %s; want --in=params.n=7", greet)
	}
	pt := pr.Spec.TaskRunTemplate.PodTemplate
	if pt == nil || len(pt.Env) != 1 || pt.Env[0].Name != "SLUICE_CACHE" ||
		pt.Env[0].Value != "s3://sluice/cache?endpoint=minio.ml:9000&credentials=/sluice/cache-credentials" ||
		len(pt.Volumes) != 1 || pt.Volumes[0].Secret.SecretName != "minio" {
		t.Errorf("pod template %+v: want the store in SLUICE_CACHE and its Secret as a volume", pt)
	}
	if img := tasks[0].TaskSpec.Steps[0].Image; img != "registry.local/sluice-exec:dev" {
		t.Errorf("launcher image %s", img)
	}
	if len(pr.Spec.TaskRunSpecs) != 1 || pr.Spec.TaskRunSpecs[0].PodTemplate.NodeSelector["pool"] != "cpu" {
		t.Errorf("taskRunSpecs %+v", pr.Spec.TaskRunSpecs)
	}

	// -o json: one object.
	code, stdout, _ = sluice(t, append([]string{"compile", "-t", "tekton", file, "-o", "json"}, tektonCacheFlags...)...)
	if code != exitOK {
		t.Fatalf("-o json: exit %d", code)
	}
	if err := json.Unmarshal([]byte(stdout), &pr); err != nil || pr.Kind != "PipelineRun" {
		t.Errorf("-o json: %v, kind %q", err, pr.Kind)
	}
}

func TestCompileTektonEmitPipeline(t *testing.T) {
	file := pipelineFile(t, tektonPipeline)
	code, stdout, stderr := sluice(t, append([]string{"compile", "-t", "tekton", file, "--emit", "pipeline"}, tektonCacheFlags...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var kinds []string
	for _, doc := range strings.Split(stdout, "\n---\n") {
		var m struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, m.Kind+"/"+m.Metadata.Name)
	}
	want := "Task/hello-greet Task/hello-shout-when Task/hello-shout Pipeline/hello PipelineRun/"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("objects %s, want %s", got, want)
	}

	// -o json: a List of them.
	code, stdout, _ = sluice(t, append([]string{"compile", "-t", "tekton", file, "--emit", "pipeline", "-o", "json"}, tektonCacheFlags...)...)
	var list struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if code != exitOK || json.Unmarshal([]byte(stdout), &list) != nil || list.Kind != "List" || len(list.Items) != 5 {
		t.Errorf("-o json: exit %d, kind %q, %d items", code, list.Kind, len(list.Items))
	}
}

func TestCompileTektonErrors(t *testing.T) {
	file := pipelineFile(t, tektonPipeline)
	if code, _, stderr := sluice(t, "compile", "-t", "tekton", file, "--emit", "tasks"); code != exitUsage {
		t.Errorf("--emit tasks: exit %d, want %d: %s", code, exitUsage, stderr)
	}
	// What Tekton cannot express fails with the place in the file.
	bad := pipelineFile(t, `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: bad}
spec:
  defaults: {image: busybox}
  steps:
    - name: a
      command: [sh, -c, 'echo [1] > ${{ outputs.params.l }}']
      outputs: {params: [{name: l, type: list}]}
    - name: b
      forEach: {items: '${{ steps.a.outputs.params.l }}'}
      group:
        steps: [{name: c, command: [echo, '${{ item }}']}]
`)
	code, stdout, stderr := sluice(t, "compile", "-t", "tekton", bad)
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "p.yaml:11:") || !strings.Contains(stderr, "not supported on Tekton") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and the place", code, stdout, stderr)
	}
}
