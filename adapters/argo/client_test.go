package argo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wffake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	kfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

var wfGR = schema.GroupResource{Group: "argoproj.io", Resource: "workflows"}

// fastBackoff retries without waiting.
var fastBackoff = kube.Backoff{Attempts: 6, Sleep: func(context.Context, time.Duration) error { return nil }}

const runPipeline = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: run}
spec:
  defaults: {image: busybox}
  steps:
    - name: prep
      command: [sh, -c, 'echo 3 > ${{ outputs.params.n }}']
      outputs: {params: [{name: n, type: int}]}
    - name: train
      forEach: {items: [a, b]}
      command: [echo, '${{ item }}', '${{ steps.prep.outputs.params.n }}']
      retry: {limit: 2}
    - name: gate
      when: '${{ steps.prep.outputs.params.n }} > 5'
      command: [sh, -c, 'echo gated > ${{ outputs.params.x }}']
      outputs: {params: [{name: x}]}
    - name: after-gate
      command: [echo, '${{ steps.gate.outputs.params.x }}']
    - name: report
      group:
        steps:
          - {name: plot, command: [echo, plot]}
`

func mustPipeline(t testing.TB, src string) *ir.Pipeline {
	t.Helper()
	p, err := ir.Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runStates are a run's Workflow as a controller would move it along:
// the node statuses at each step, for the pipeline above.
func runStates(name string) []wfv1.WorkflowStatus {
	t0 := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	at := func(s int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(s) * time.Second)) }
	out := func(kv ...string) *wfv1.Outputs {
		o := &wfv1.Outputs{}
		for i := 0; i < len(kv); i += 2 {
			o.Parameters = append(o.Parameters, wfv1.Parameter{Name: kv[i], Value: wfv1.AnyStringPtr(kv[i+1])})
		}
		return o
	}
	node := func(id, fullName, display string, typ wfv1.NodeType, phase wfv1.NodePhase, start, end int, o *wfv1.Outputs, children ...string) wfv1.NodeStatus {
		n := wfv1.NodeStatus{ID: id, Name: name + fullName, DisplayName: display, Type: typ, Phase: phase,
			StartedAt: at(start), Outputs: o, Children: children}
		if end > 0 {
			n.FinishedAt = at(end)
		}
		return n
	}
	running := wfv1.Nodes{
		"prep": node("prep", ".prep", "prep", wfv1.NodeTypePod, wfv1.NodeRunning, 1, 0, nil),
	}
	mid := wfv1.Nodes{
		"prep":   node("prep", ".prep", "prep", wfv1.NodeTypePod, wfv1.NodeSucceeded, 1, 3, out("n", "3", "sluice-cached", "true")),
		"t0":     node("t0", ".train(0:a)", "train(0:a)", wfv1.NodeTypeRetry, wfv1.NodeRunning, 4, 0, nil, "t0a1", "t0a2"),
		"t0a1":   node("t0a1", ".train(0:a)(0)", "train(0:a)(0)", wfv1.NodeTypePod, wfv1.NodeFailed, 4, 6, nil),
		"t0a2":   node("t0a2", ".train(0:a)(1)", "train(0:a)(1)", wfv1.NodeTypePod, wfv1.NodeRunning, 7, 0, nil),
		"t1":     node("t1", ".train(1:b)", "train(1:b)", wfv1.NodeTypeRetry, wfv1.NodeRunning, 4, 0, nil, "t1a1"),
		"t1a1":   node("t1a1", ".train(1:b)(0)", "train(1:b)(0)", wfv1.NodeTypePod, wfv1.NodeFailed, 4, 5, nil),
		"w":      node("w", ".sluice-when-gate", "sluice-when-gate", wfv1.NodeTypePod, wfv1.NodeSucceeded, 4, 5, out("sluice-when", "false")),
		"gate":   node("gate", ".gate", "gate", wfv1.NodeTypeSkipped, wfv1.NodeSkipped, 5, 5, nil),
		"report": node("report", ".report", "report", wfv1.NodeTypeDAG, wfv1.NodeRunning, 4, 0, nil, "plot"),
		"plot":   node("plot", ".report.plot", "plot", wfv1.NodeTypePod, wfv1.NodeSucceeded, 4, 6, out("sluice-cached", "false")),
	}
	done := wfv1.Nodes{}
	for k, v := range mid {
		done[k] = v
	}
	done["t0a2"] = node("t0a2", ".train(0:a)(1)", "train(0:a)(1)", wfv1.NodeTypePod, wfv1.NodeSucceeded, 7, 9, out("sluice-cached", "false"))
	done["t0"] = node("t0", ".train(0:a)", "train(0:a)", wfv1.NodeTypeRetry, wfv1.NodeSucceeded, 4, 9, nil, "t0a1", "t0a2")
	done["t1a2"] = node("t1a2", ".train(1:b)(1)", "train(1:b)(1)", wfv1.NodeTypePod, wfv1.NodeFailed, 6, 8, nil)
	done["t1a2"] = func(n wfv1.NodeStatus) wfv1.NodeStatus { n.Message = "Error (exit code 69)"; return n }(done["t1a2"])
	done["t1"] = node("t1", ".train(1:b)", "train(1:b)", wfv1.NodeTypeRetry, wfv1.NodeFailed, 4, 8, nil, "t1a1", "t1a2")
	done["after"] = node("after", ".after-gate", "after-gate", wfv1.NodeTypeSkipped, wfv1.NodeOmitted, 5, 5, nil)
	return []wfv1.WorkflowStatus{
		{Phase: wfv1.WorkflowRunning, StartedAt: t0, Nodes: running},
		{Phase: wfv1.WorkflowRunning, StartedAt: t0, Nodes: mid},
		{Phase: wfv1.WorkflowFailed, StartedAt: t0, FinishedAt: at(10), Nodes: done, Message: "child failed"},
	}
}

func TestTracker(t *testing.T) {
	p := mustPipeline(t, runPipeline)
	tr := argo.NewTracker(p)
	var got []string
	for _, st := range runStates("run-1") {
		wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "run-1"}, Status: st}
		for _, e := range tr.Update(wf) {
			s := e.Step + " " + string(e.State)
			if e.Attempt > 0 {
				s += " #" + string(rune('0'+e.Attempt))
			}
			if e.Message != "" {
				s += ": " + e.Message
			}
			got = append(got, s)
		}
	}
	want := []string{
		"prep Pending", "gate Pending", "after-gate Pending", "plot Pending",
		"prep Running #1",
		"prep Cached #1",
		"train[0] Running #2", "gate Skipped: when is false", "train[1] Retrying #1", "plot Succeeded #1",
		"after-gate Skipped: not run: it needs a step that was skipped or failed",
		"train[1] Failed #2: Error (exit code 69): the store could not be opened, or an input not fetched",
		"train[0] Succeeded #2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "run-1"}, Status: runStates("run-1")[2]}
	sum := argo.Summarize(p, wf)
	if sum.Status != report.Failed || sum.Run != "run-1" || sum.Backend != "argo" {
		t.Errorf("summary: %s %s %s", sum.Status, sum.Run, sum.Backend)
	}
	if r := sum.Step("prep"); r == nil || !r.Cached || r.Outputs["n"] != "3" {
		t.Errorf("prep: %+v", r)
	}
	if r := sum.Step("train[0]"); r == nil || r.Attempts != 2 {
		t.Errorf("train[0]: %+v", r)
	}
}

// TestPipelineOf: the steps read back from a compiled Workflow are the
// pipeline's, with groups and loops, and their launcher specs.
func TestPipelineOf(t *testing.T) {
	p := mustPipeline(t, runPipeline)
	wf, err := argo.Compile(p, nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	back := argo.PipelineOf(wf)
	names := func(p *ir.Pipeline) []string {
		var out []string
		for _, n := range p.Graph().All() {
			s := n.Name()
			if n.Step.ForEach != nil {
				s += " (loop)"
			}
			if n.Step.IsGroup() {
				s += " (group)"
			}
			out = append(out, s)
		}
		return out
	}
	if diff := cmp.Diff(names(p), names(back)); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if got := back.Spec.Steps[0].Command; len(got) != 3 || got[0] != "sh" {
		t.Errorf("prep's command from its spec: %q", got)
	}
}

// fakeCluster is Argo's fake clientset with the API server's generateName
// and a controller that moves a created Workflow through states.
type fakeCluster struct {
	wf     *wffake.Clientset
	kube   *kfake.Clientset
	states []wfv1.WorkflowStatus
}

func newFakeCluster(t *testing.T, states []wfv1.WorkflowStatus) *fakeCluster {
	f := &fakeCluster{wf: wffake.NewSimpleClientset(), kube: kfake.NewSimpleClientset(), states: states}
	f.wf.PrependReactor("create", "workflows", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if c, ok := a.(k8stesting.CreateAction); ok {
			if w := c.GetObject().(*wfv1.Workflow); w.Name == "" {
				w.Name = w.GenerateName + "x7k2p"
			}
		}
		return false, nil, nil
	})
	return f
}

// count is how many calls with verb the API saw, failed ones included.
func (f *fakeCluster) count(verb string) int {
	n := 0
	for _, a := range f.wf.Actions() {
		if a.GetVerb() == verb {
			n++
		}
	}
	return n
}

// advance plays the controller: each state, a little apart.
func (f *fakeCluster) advance(t *testing.T, ns, name string) {
	go func() {
		for _, st := range f.states {
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
	}()
}

func (f *fakeCluster) client() *argo.Client {
	return &argo.Client{Workflows: f.wf, Kube: f.kube, Namespace: "ml", Backoff: fastBackoff}
}

// TestSubmitAndWatch: API faults on create (500, 429, a taken generated
// name) and on get are retried; a watch that drops is reopened; the run's
// events reach the observer and the final state is the Workflow's.
func TestSubmitAndWatch(t *testing.T) {
	p := mustPipeline(t, runPipeline)
	wf, err := argo.Compile(p, nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeCluster(t, runStates("run-x7k2p"))
	faults := []error{
		apierrors.NewInternalError(errors.New("etcd leader changed")),
		apierrors.NewTooManyRequests("slow down", 0),
		apierrors.NewGenerateNameConflict(wfGR, "run-x7k2p", 1),
	}
	f.wf.PrependReactor("create", "workflows", func(k8stesting.Action) (bool, runtime.Object, error) {
		if len(faults) > 0 {
			err := faults[0]
			faults = faults[1:]
			return true, nil, err
		}
		return false, nil, nil
	})
	getFaults := 1
	f.wf.PrependReactor("get", "workflows", func(k8stesting.Action) (bool, runtime.Object, error) {
		if getFaults > 0 {
			getFaults--
			return true, nil, apierrors.NewServiceUnavailable("apiserver restarting")
		}
		return false, nil, nil
	})
	// The first watch drops after one event.
	watches := 0
	f.wf.PrependWatchReactor("workflows", func(a k8stesting.Action) (bool, watch.Interface, error) {
		watches++
		if watches > 1 {
			return false, nil, nil
		}
		w := watch.NewRaceFreeFake()
		go func() {
			time.Sleep(30 * time.Millisecond)
			w.Stop()
		}()
		return true, w, nil
	})
	c := f.client()
	created, err := c.Submit(context.Background(), wf)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if created.Name != "run-x7k2p" || created.Namespace != "ml" {
		t.Fatalf("created %s/%s", created.Namespace, created.Name)
	}
	if n := f.count("create"); n != 4 {
		t.Errorf("%d creates, want 4 (three faults)", n)
	}
	f.advance(t, "ml", created.Name)
	col := report.NewCollector()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	final, err := argo.Watch(ctx, c, p, created.Name, col)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if final.Status.Phase != wfv1.WorkflowFailed {
		t.Errorf("final phase %s", final.Status.Phase)
	}
	if watches < 2 {
		t.Errorf("%d watches opened, want the dropped one reopened", watches)
	}
	states := map[string]report.State{}
	for _, r := range col.Results() {
		states[r.Name] = r.State
	}
	want := map[string]report.State{
		"prep": report.Cached, "train[0]": report.Succeeded, "train[1]": report.Failed,
		"gate": report.Skipped, "after-gate": report.Skipped, "plot": report.Succeeded,
	}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestStop(t *testing.T) {
	f := newFakeCluster(t, nil)
	c := f.client()
	_, err := f.wf.ArgoprojV1alpha1().Workflows("ml").Create(context.Background(),
		&wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "ml"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conflicts := 1
	f.wf.PrependReactor("patch", "workflows", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(wfGR, "w", errors.New("modified"))
		}
		return false, nil, nil
	})
	if err := c.Stop(context.Background(), "w"); err != nil {
		t.Fatal(err)
	}
	w, _ := f.wf.ArgoprojV1alpha1().Workflows("ml").Get(context.Background(), "w", metav1.GetOptions{})
	if w.Spec.Shutdown != wfv1.ShutdownStrategyStop {
		t.Errorf("shutdown %q, want Stop", w.Spec.Shutdown)
	}
}

func TestLogs(t *testing.T) {
	p := mustPipeline(t, runPipeline)
	f := newFakeCluster(t, nil)
	for id, name := range map[string]string{"prep": "run-1-prep-1", "t0a1": "run-1-train-2", "t0a2": "run-1-train-3"} {
		_, err := f.kube.CoreV1().Pods("ml").Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ml",
			Labels:      map[string]string{"workflows.argoproj.io/workflow": "run-1"},
			Annotations: map[string]string{"workflows.argoproj.io/node-id": id},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "run-1"}, Status: runStates("run-1")[2]}
	var buf bytes.Buffer
	if err := f.client().Logs(context.Background(), p, wf, "prep", false, &buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "fake logs" {
		t.Errorf("one step: %q", buf.String())
	}
	buf.Reset()
	if err := f.client().Logs(context.Background(), p, wf, "train[0]", false, &buf); err != nil {
		t.Fatal(err)
	}
	want := "==> train[0] attempt 1 (Succeeded) <==\nfake logs==> train[0] attempt 2 (Succeeded) <==\nfake logs"
	if buf.String() != want {
		t.Errorf("retried step:\n%s\nwant:\n%s", buf.String(), want)
	}
	if err := f.client().Logs(context.Background(), p, wf, "nope", false, io.Discard); err == nil {
		t.Error("no error for an unknown step")
	}
}

// TestServer: submission and following through the Argo Server's REST
// API, with the token, a passing 503 and a lasting 403.
func TestServer(t *testing.T) {
	p := mustPipeline(t, runPipeline)
	wf, err := argo.Compile(p, nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var stored *wfv1.Workflow
	gets, unavailable := 0, 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer s3cr3t" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":16,"message":"token not valid"}`)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/workflows/ml":
			if unavailable > 0 {
				unavailable--
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			var body struct {
				Namespace string        `json:"namespace"`
				Workflow  wfv1.Workflow `json:"workflow"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Namespace != "ml" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			stored = &body.Workflow
			stored.Name = stored.GenerateName + "abcde"
			_ = json.NewEncoder(w).Encode(stored)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/workflows/ml/run-abcde":
			gets++
			st := runStates("run-abcde")
			stored.Status = st[min(gets-1, len(st)-1)]
			_ = json.NewEncoder(w).Encode(stored)
		case r.Method == http.MethodPut && r.URL.Path == "/api/v1/workflows/ml/run-abcde/stop":
			stored.Spec.Shutdown = wfv1.ShutdownStrategyStop
			_ = json.NewEncoder(w).Encode(stored)
		default:
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"code":7,"message":"forbidden"}`)
		}
	}))
	defer srv.Close()
	s := &argo.Server{URL: srv.URL + "/", Token: "s3cr3t", Namespace: "ml", Interval: time.Millisecond, Backoff: fastBackoff}
	created, err := s.Submit(context.Background(), wf)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if created.Name != "run-abcde" || len(created.Spec.Templates) != len(wf.Spec.Templates) {
		t.Fatalf("created %s with %d templates", created.Name, len(created.Spec.Templates))
	}
	col := report.NewCollector()
	final, err := argo.Watch(context.Background(), s, p, created.Name, col)
	if err != nil || final.Status.Phase != wfv1.WorkflowFailed {
		t.Fatalf("Watch: %v, phase %s", err, final.Status.Phase)
	}
	if err := s.Stop(context.Background(), created.Name); err != nil || stored.Spec.Shutdown != wfv1.ShutdownStrategyStop {
		t.Errorf("Stop: %v", err)
	}
	_, err = s.Get(context.Background(), "other")
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("Get of a forbidden run: %v", err)
	}
	bad := &argo.Server{URL: srv.URL, Token: "Bearer wrong", Namespace: "ml", Backoff: fastBackoff}
	if _, err := bad.Get(context.Background(), "run-abcde"); !apierrors.IsUnauthorized(err) || !strings.Contains(err.Error(), "token not valid") {
		t.Errorf("wrong token: %v", err)
	}
}
