package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wffake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kfake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/kube/kubetest"
)

var argoCacheFlags = []string{"--cache", "s3://sluice/cache?endpoint=minio.ml:9000", "--cache-secret", "minio"}

func pipelineFile(t *testing.T, src string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestCompileArgo(t *testing.T) {
	file := pipelineFile(t, argoPipeline)
	code, stdout, stderr := sluice(t, append([]string{"compile", "-t", "argo", file, "-p", "n=7", "-n", "ml",
		"--service-account", "runner", "--launcher-image", "registry.local/sluice-exec:dev"}, argoCacheFlags...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict([]byte(stdout), &wf); err != nil {
		t.Fatalf("output is not a Workflow: %v\n%s", err, stdout)
	}
	if wf.Namespace != "ml" || wf.Spec.ServiceAccountName != "runner" || wf.Spec.Arguments.Parameters[0].Value.String() != "7" {
		t.Errorf("namespace %q, service account %q, n=%s", wf.Namespace, wf.Spec.ServiceAccountName, wf.Spec.Arguments.Parameters[0].Value)
	}
	d := wf.Spec.TemplateDefaults
	if d.InitContainers[0].Image != "registry.local/sluice-exec:dev" ||
		d.Container.Env[0].Value != "s3://sluice/cache?endpoint=minio.ml:9000&credentials="+argo.CredentialsDir {
		t.Errorf("launcher image %s, store %s", d.InitContainers[0].Image, d.Container.Env[0].Value)
	}

	code, stdout, _ = sluice(t, append([]string{"compile", "-t", "argo", file, "-o", "json"}, argoCacheFlags...)...)
	if code != exitOK || json.Unmarshal([]byte(stdout), &wf) != nil || wf.Kind != "Workflow" {
		t.Errorf("-o json: exit %d, %.80s", code, stdout)
	}

	code, _, stderr = sluice(t, append([]string{"compile", "-t", "argo", file, "--max-bytes", "2Ki"}, argoCacheFlags...)...)
	if code != exitFailure || !strings.Contains(stderr, "over the limit of 2048 bytes") {
		t.Errorf("--max-bytes 2Ki: exit %d, %s", code, stderr)
	}
	code, _, stderr = sluice(t, append([]string{"compile", "-t", "argo", file, "--max-bytes", "lots"}, argoCacheFlags...)...)
	if code != exitUsage {
		t.Errorf("--max-bytes lots: exit %d, %s", code, stderr)
	}
	code, _, stderr = sluice(t, "compile", "-t", "argo", file)
	if code != exitFailure || !strings.Contains(stderr, "no cache store") {
		t.Errorf("without --cache: exit %d, %s", code, stderr)
	}
	code, _, stderr = sluice(t, "compile", file)
	if code != exitUsage || !strings.Contains(stderr, "-t is required") {
		t.Errorf("without -t: exit %d, %s", code, stderr)
	}
}

const argoPipeline = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: cli}
spec:
  params: [{name: n, type: int, default: 3}]
  defaults: {image: busybox:1.36}
  steps:
    - name: gen
      command: [sh, -c, 'seq 1 ${{ params.n }} > ${{ outputs.artifacts.nums }}']
      outputs: {artifacts: [{name: nums}]}
    - name: total
      command: [sh, -c, 'wc -l < ${{ steps.gen.outputs.artifacts.nums }} > ${{ outputs.params.sum }}']
      outputs: {params: [{name: sum, type: int}]}
`

// fakeArgo is a cluster with Argo installed, played by fake clientsets:
// a created Workflow goes through the statuses given, one every few
// milliseconds, and the first create fails with a 500.
type fakeArgo struct {
	wf   *wffake.Clientset
	kube *kfake.Clientset
}

func newFakeArgo(t *testing.T, final wfv1.WorkflowPhase, hold bool) *fakeArgo {
	f := &fakeArgo{wf: wffake.NewSimpleClientset(), kube: kfake.NewSimpleClientset()}
	kubetest.GenerateNames(f.wf, "workflows", "x7k2p", func(w *wfv1.Workflow) { go f.play(t, w.Namespace, w.Name, final, hold) })
	kubetest.Fail(f.wf, "create", "workflows", apierrors.NewInternalError(context.DeadlineExceeded))
	for id, pod := range map[string]string{"gen": "cli-x7k2p-gen-1", "total": "cli-x7k2p-total-2"} {
		_, _ = f.kube.CoreV1().Pods("ml").Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: pod, Namespace: "ml",
			Labels:      map[string]string{"workflows.argoproj.io/workflow": "cli-x7k2p"},
			Annotations: map[string]string{"workflows.argoproj.io/node-id": id},
		}}, metav1.CreateOptions{})
	}
	restore(t, &argoRuns)
	argoRuns = func(c *connFlags) (argo.Runs, *argo.Client, string, error) {
		cl := &argo.Client{Workflows: f.wf, Kube: f.kube, Namespace: "ml", Backoff: kubetest.Backoff}
		return cl, cl, "ml", nil
	}
	return f
}

// startArgo plays Argo for clusterCase, with no Tekton run.
func startArgo(t *testing.T, ok, hold bool) (stopped func() bool) {
	final := wfv1.WorkflowSucceeded
	if !ok {
		final = wfv1.WorkflowFailed
	}
	f := newFakeArgo(t, final, hold)
	kubetest.Fail(f.wf, "patch", "workflows", apierrors.NewConflict(schema.GroupResource{Group: "argoproj.io", Resource: "workflows"}, "cli-x7k2p", context.Canceled))
	newFakeTekton(t, nil)
	return func() bool {
		w, err := f.wf.ArgoprojV1alpha1().Workflows("ml").Get(context.Background(), "cli-x7k2p", metav1.GetOptions{})
		return err == nil && w.Spec.Shutdown == wfv1.ShutdownStrategyStop
	}
}

func statuses(name string, final wfv1.WorkflowPhase) []wfv1.WorkflowStatus {
	t0 := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	at := func(s int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(s) * time.Second)) }
	gen := wfv1.NodeStatus{ID: "gen", Name: name + ".gen", DisplayName: "gen", Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded,
		StartedAt: at(1), FinishedAt: at(2), Outputs: &wfv1.Outputs{Parameters: []wfv1.Parameter{
			{Name: "nums", Value: wfv1.AnyStringPtr("cas://sha256/00?kind=file&size=6")},
			{Name: argo.OutputCached, Value: wfv1.AnyStringPtr("true")}}}}
	total := wfv1.NodeStatus{ID: "total", Name: name + ".total", DisplayName: "total", Type: wfv1.NodeTypePod, Phase: wfv1.NodeRunning, StartedAt: at(3)}
	end := total
	end.FinishedAt = at(5)
	end.Phase = wfv1.NodeSucceeded
	if final != wfv1.WorkflowSucceeded {
		end.Phase, end.Message = wfv1.NodeFailed, "Error (exit code 1)"
	}
	return []wfv1.WorkflowStatus{
		{Phase: wfv1.WorkflowRunning, StartedAt: t0, Nodes: wfv1.Nodes{"gen": gen}},
		{Phase: wfv1.WorkflowRunning, StartedAt: t0, Nodes: wfv1.Nodes{"gen": gen, "total": total}},
		{Phase: final, StartedAt: t0, FinishedAt: at(6), Nodes: wfv1.Nodes{"gen": gen, "total": end}},
	}
}

func (f *fakeArgo) play(t *testing.T, ns, name string, final wfv1.WorkflowPhase, hold bool) {
	states := statuses(name, final)
	if hold {
		states = states[:2]
	}
	for _, st := range states {
		time.Sleep(20 * time.Millisecond)
		w, err := f.wf.ArgoprojV1alpha1().Workflows(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("controller: %v", err)
			return
		}
		w.Status = st
		if _, err := f.wf.ArgoprojV1alpha1().Workflows(ns).Update(context.Background(), w, metav1.UpdateOptions{}); err != nil {
			t.Errorf("controller: %v", err)
			return
		}
	}
}

// TestSubmitArgoServer: submission through the Argo Server's REST API,
// with the token from $ARGO_TOKEN.
func TestSubmitArgoServer(t *testing.T) {
	var got wfv1.Workflow
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0k3n" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/workflows/ml":
			var body struct{ Workflow wfv1.Workflow }
			_ = json.NewDecoder(r.Body).Decode(&body)
			got = body.Workflow
			got.Name = got.GenerateName + "srv01"
			_ = json.NewEncoder(w).Encode(got)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/workflows/ml/cli-srv01":
			st := statuses("cli-srv01", wfv1.WorkflowSucceeded)
			got.Status = st[len(st)-1]
			_ = json.NewEncoder(w).Encode(got)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	t.Setenv(argo.TokenEnv, "t0k3n")
	file := pipelineFile(t, argoPipeline)
	code, stdout, stderr := sluice(t, append([]string{"submit", "-t", "argo", file, "-n", "ml", "--argo-server", srv.URL, "--wait"}, argoCacheFlags...)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if got.Namespace != "ml" || len(got.Spec.Templates) == 0 || !strings.Contains(stdout, "cli: Succeeded") {
		t.Errorf("server got %s/%s; stdout:\n%s", got.Namespace, got.Name, stdout)
	}
	code, _, stderr = sluice(t, append([]string{"submit", "-t", "argo", file, "--argo-server", srv.URL, "--logs"}, argoCacheFlags...)...)
	if code != exitUsage || !strings.Contains(stderr, "--logs needs Kubernetes access") {
		t.Errorf("--logs through the server: exit %d: %s", code, stderr)
	}
}
