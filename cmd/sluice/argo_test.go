package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
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
	"k8s.io/apimachinery/pkg/runtime"
	kfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/kube"
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
	failed := false
	f.wf.PrependReactor("create", "workflows", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if !failed {
			failed = true
			return true, nil, apierrors.NewInternalError(context.DeadlineExceeded)
		}
		w := a.(k8stesting.CreateAction).GetObject().(*wfv1.Workflow)
		w.Name = w.GenerateName + "x7k2p"
		go f.play(t, w.Namespace, w.Name, final, hold)
		return false, nil, nil
	})
	for id, pod := range map[string]string{"gen": "cli-x7k2p-gen-1", "total": "cli-x7k2p-total-2"} {
		_, _ = f.kube.CoreV1().Pods("ml").Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: pod, Namespace: "ml",
			Labels:      map[string]string{"workflows.argoproj.io/workflow": "cli-x7k2p"},
			Annotations: map[string]string{"workflows.argoproj.io/node-id": id},
		}}, metav1.CreateOptions{})
	}
	argoRuns = func(c *connFlags) (argo.Runs, *argo.Client, string, error) {
		cl := &argo.Client{Workflows: f.wf, Kube: f.kube, Namespace: "ml",
			Backoff: kube.Backoff{Sleep: func(context.Context, time.Duration) error { return nil }}}
		return cl, cl, "ml", nil
	}
	return f
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

func restoreArgoRuns(t *testing.T) {
	saved := argoRuns
	t.Cleanup(func() { argoRuns = saved })
}

func TestSubmitArgoWait(t *testing.T) {
	for _, tc := range []struct {
		phase wfv1.WorkflowPhase
		code  int
	}{{wfv1.WorkflowSucceeded, exitOK}, {wfv1.WorkflowFailed, exitFailure}} {
		t.Run(string(tc.phase), func(t *testing.T) {
			restoreArgoRuns(t)
			newFakeArgo(t, tc.phase, false)
			file := pipelineFile(t, argoPipeline)
			junit := filepath.Join(t.TempDir(), "report.xml")
			code, stdout, stderr := sluice(t, append([]string{"submit", "-t", "argo", file, "-n", "ml", "--wait", "--junit", junit}, argoCacheFlags...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stderr, "submitted ml/cli-x7k2p") {
				t.Errorf("stderr does not name the run:\n%s", stderr)
			}
			for _, want := range []string{"gen", "Cached", "total", string(tc.phase), "cli: " + string(tc.phase)} {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			data, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			var suites struct {
				Tests    int `xml:"tests,attr"`
				Failures int `xml:"failures,attr"`
			}
			if err := xml.Unmarshal(data, &suites); err != nil || suites.Tests != 2 {
				t.Errorf("junit: %v, %d tests\n%s", err, suites.Tests, data)
			}
			if tc.code != exitOK && !strings.Contains(stderr, "step total failed") {
				t.Errorf("stderr does not say which step failed:\n%s", stderr)
			}
		})
	}
}

func TestSubmitArgoNoWait(t *testing.T) {
	restoreArgoRuns(t)
	newFakeArgo(t, wfv1.WorkflowSucceeded, true)
	file := pipelineFile(t, argoPipeline)
	code, stdout, stderr := sluice(t, append([]string{"submit", "-t", "argo", file}, argoCacheFlags...)...)
	if code != exitOK || stdout != "cli-x7k2p\n" {
		t.Errorf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
}

// TestSubmitArgoInterrupt: Ctrl-C leaves the run going and says how to
// follow or stop it, or with --cancel-on-interrupt stops it.
func TestSubmitArgoInterrupt(t *testing.T) {
	for _, cancelRun := range []bool{false, true} {
		t.Run(map[bool]string{false: "detach", true: "cancel"}[cancelRun], func(t *testing.T) {
			restoreArgoRuns(t)
			f := newFakeArgo(t, wfv1.WorkflowSucceeded, true)
			file := pipelineFile(t, argoPipeline)
			args := append([]string{"submit", "-t", "argo", file, "--wait"}, argoCacheFlags...)
			if cancelRun {
				args = append(args, "--cancel-on-interrupt")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			var out, errOut strings.Builder
			code := execute(ctx, args, &out, &errOut)
			if code != exitStopped {
				t.Fatalf("exit %d, want %d\n%s", code, exitStopped, errOut.String())
			}
			w, err := f.wf.ArgoprojV1alpha1().Workflows("ml").Get(context.Background(), "cli-x7k2p", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if cancelRun {
				if w.Spec.Shutdown != wfv1.ShutdownStrategyStop || !strings.Contains(errOut.String(), "stopping run ml/cli-x7k2p") {
					t.Errorf("shutdown %q; stderr:\n%s", w.Spec.Shutdown, errOut.String())
				}
				return
			}
			if w.Spec.Shutdown != "" {
				t.Errorf("detached, yet the run was stopped")
			}
			for _, want := range []string{"sluice status cli-x7k2p -n ml --wait", "argo stop cli-x7k2p -n ml"} {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
				}
			}
		})
	}
}

func TestStatusAndLogsArgo(t *testing.T) {
	restoreArgoRuns(t)
	f := newFakeArgo(t, wfv1.WorkflowFailed, false)
	file := pipelineFile(t, argoPipeline)
	if code, _, stderr := sluice(t, append([]string{"submit", "-t", "argo", file, "--wait"}, argoCacheFlags...)...); code != exitFailure {
		t.Fatalf("submit: exit %d: %s", code, stderr)
	}
	_ = f
	code, stdout, stderr := sluice(t, "status", "cli-x7k2p", "-n", "ml")
	if code != exitFailure {
		t.Errorf("status of a failed run: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"ml/cli-x7k2p (pipeline cli): Failed", "gen", "Cached", "total", "Failed", "exit code 1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = sluice(t, "status", "cli-x7k2p", "-o", "json")
	var sum struct {
		Status string
		Steps  []struct{ Name, State string }
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.Status != "Failed" || len(sum.Steps) != 2 {
		t.Errorf("status -o json: exit %d, %v: %s", code, err, stdout)
	}

	code, stdout, stderr = sluice(t, "logs", "cli-x7k2p", "gen", "--runs-dir", t.TempDir())
	if code != exitOK || stdout != "fake logs" {
		t.Errorf("logs of a step: exit %d, %q, %s", code, stdout, stderr)
	}
	code, stdout, _ = sluice(t, "logs", "-t", "argo", "cli-x7k2p")
	if code != exitOK || !strings.Contains(stdout, "==> gen (Cached) <==\nfake logs") || !strings.Contains(stdout, "==> total (Failed) <==") {
		t.Errorf("logs of a run: exit %d:\n%s", code, stdout)
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
