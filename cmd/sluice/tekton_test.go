package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tkfake "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kfake "k8s.io/client-go/kubernetes/fake"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/kube/kubetest"
)

// fakeTekton is a cluster with Tekton installed, played by fake
// clientsets. The API fails now and then: the first create of a
// PipelineRun with a 500, the first read of one with a 429; the first
// watch of one drops at once.
type fakeTekton struct {
	tk   *tkfake.Clientset
	kube *kfake.Clientset
}

// tektonState is one state of a run: its TaskRuns, and the PipelineRun's
// condition.
type tektonState struct {
	taskRuns []*v1.TaskRun
	cond     duckv1.Conditions
	end      *metav1.Time
}

// newFakeTekton installs a fake Tekton; a created PipelineRun goes
// through the states that states gives for its name, one every few
// milliseconds.
func newFakeTekton(t *testing.T, states func(run string) []tektonState) *fakeTekton {
	f := &fakeTekton{tk: tkfake.NewSimpleClientset(), kube: kfake.NewSimpleClientset()}
	kubetest.GenerateNames(f.tk, "pipelineruns", "x7k2p", func(pr *v1.PipelineRun) {
		if states != nil {
			go f.play(t, pr.Name, states(pr.Name))
		}
	})
	kubetest.Fail(f.tk, "create", "pipelineruns", apierrors.NewInternalError(context.DeadlineExceeded))
	kubetest.Fail(f.tk, "get", "pipelineruns", apierrors.NewTooManyRequests("slow down", 0))
	kubetest.DropWatches(f.tk, "pipelineruns", 1, 0)
	restore(t, &tektonClient)
	tektonClient = func(*connFlags) (*tekton.Client, string, error) {
		return &tekton.Client{Tekton: f.tk, Kube: f.kube, Namespace: "ml", Backoff: kubetest.Backoff}, "ml", nil
	}
	return f
}

// startTekton plays Tekton for clusterCase, with no Argo run.
func startTekton(t *testing.T, ok, hold bool) (stopped func() bool) {
	f := newFakeTekton(t, func(run string) []tektonState {
		states := tektonStates(run, ok)
		if hold {
			states = states[:2]
		}
		return states
	})
	kubetest.Fail(f.tk, "patch", "pipelineruns", apierrors.NewConflict(schema.GroupResource{Group: "tekton.dev", Resource: "pipelineruns"}, "hello-x7k2p", context.Canceled))
	newFakeArgo(t, "", true)
	return func() bool {
		pr, err := f.tk.TektonV1().PipelineRuns("ml").Get(context.Background(), "hello-x7k2p", metav1.GetOptions{})
		return err == nil && pr.Spec.Status == v1.PipelineRunSpecStatusCancelled
	}
}

func restore[T any](t *testing.T, v *T) {
	saved := *v
	t.Cleanup(func() { *v = saved })
}

func conditions(status corev1.ConditionStatus, reason, msg string) duckv1.Conditions {
	return duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: status, Reason: reason, Message: msg}}
}

// tektonStates are the states of a run of tektonPipeline: greet is a
// cache hit, shout's condition holds, and shout succeeds or fails.
func tektonStates(run string, ok bool) []tektonState {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) *metav1.Time { t := metav1.NewTime(t0.Add(time.Duration(s) * time.Second)); return &t }
	taskRun := func(task string, status corev1.ConditionStatus, reason, msg string, start, end int, results ...string) *v1.TaskRun {
		tr := &v1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: run + "-" + task, Namespace: "ml",
			Labels: map[string]string{pipeline.PipelineRunLabelKey: run, pipeline.PipelineTaskLabelKey: task}}}
		tr.Status.Conditions = conditions(status, reason, msg)
		tr.Status.PodName = tr.Name + "-pod"
		tr.Status.StartTime = at(start)
		if end > 0 {
			tr.Status.CompletionTime = at(end)
		}
		for i := 0; i+1 < len(results); i += 2 {
			tr.Status.Results = append(tr.Status.Results, v1.TaskRunResult{Name: results[i], Type: v1.ResultsTypeString, Value: *v1.NewStructuredValues(results[i+1])})
		}
		return tr
	}
	greet := taskRun("greet", corev1.ConditionTrue, "Succeeded", "", 1, 2, "greeting", "7", "sluice-cached", "true")
	when := taskRun("shout-when", corev1.ConditionTrue, "Succeeded", "", 3, 4, "sluice-when", "true")
	shout := taskRun("shout", corev1.ConditionTrue, "Succeeded", "", 5, 6)
	end := conditions(corev1.ConditionTrue, "Succeeded", "Tasks Completed: 3 (Failed: 0, Cancelled 0), Skipped: 0")
	if !ok {
		shout = taskRun("shout", corev1.ConditionFalse, "Failed", `"step-run" exited with code 1`, 5, 6)
		end = conditions(corev1.ConditionFalse, "Failed", "Tasks Completed: 3 (Failed: 1, Cancelled 0), Skipped: 0")
	}
	running := conditions(corev1.ConditionUnknown, "Running", "")
	return []tektonState{
		{taskRuns: []*v1.TaskRun{taskRun("greet", corev1.ConditionUnknown, "Running", "", 1, 0)}, cond: running},
		{taskRuns: []*v1.TaskRun{greet, when, taskRun("shout", corev1.ConditionUnknown, "Running", "", 5, 0)}, cond: running},
		{taskRuns: []*v1.TaskRun{greet, when, shout}, cond: end, end: at(6)},
	}
}

// play is Tekton's controllers: the TaskRuns of each state, then the
// PipelineRun's status.
func (f *fakeTekton) play(t *testing.T, name string, states []tektonState) {
	ctx := context.Background()
	trs, prs := f.tk.TektonV1().TaskRuns("ml"), f.tk.TektonV1().PipelineRuns("ml")
	for _, st := range states {
		time.Sleep(20 * time.Millisecond)
		for _, tr := range st.taskRuns {
			_, err := trs.Create(ctx, tr.DeepCopy(), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				_, err = trs.UpdateStatus(ctx, tr.DeepCopy(), metav1.UpdateOptions{})
			}
			if err != nil {
				t.Errorf("controller: %v", err)
				return
			}
		}
		pr, err := prs.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsTooManyRequests(err) {
			pr, err = prs.Get(ctx, name, metav1.GetOptions{})
		}
		if err == nil {
			pr.Status.Conditions, pr.Status.CompletionTime = st.cond, st.end
			pr.Status.StartTime = st.taskRuns[0].Status.StartTime
			_, err = prs.UpdateStatus(ctx, pr, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Errorf("controller: %v", err)
			return
		}
	}
}

// TestSubmitTektonRefused: what submit -t tekton cannot do.
func TestSubmitTektonRefused(t *testing.T) {
	startTekton(t, true, true)
	file := pipelineFile(t, tektonPipeline)
	code, _, stderr := sluice(t, append([]string{"submit", "-t", "tekton", file, "--emit", "pipeline"}, tektonCacheFlags...)...)
	if code != exitUsage || !strings.Contains(stderr, "leave out --emit pipeline") {
		t.Errorf("--emit pipeline: exit %d: %s", code, stderr)
	}
	code, _, stderr = sluice(t, append([]string{"submit", "-t", "tekton", file, "--argo-server", "https://argo.example.com"}, tektonCacheFlags...)...)
	if code != exitUsage || !strings.Contains(stderr, "--argo-server is for -t argo") {
		t.Errorf("--argo-server: exit %d: %s", code, stderr)
	}
}
