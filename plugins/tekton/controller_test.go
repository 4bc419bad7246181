package tekton_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	plugin "github.com/sluice-dev/sluice/plugins/tekton"
)

// TestController: the controller, fed by informers, runs a CachedStep
// from its CustomRun's creation to its end, following its TaskRun; it
// leaves other custom tasks alone, and stops when its context ends.
func TestController(t *testing.T) {
	e := newEnv(t)
	other := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Name: "wait", Namespace: ns}}
	other.Spec.CustomRef = &v1beta1.TaskRef{APIVersion: "wait.testing.tekton.dev/v1beta1", Kind: "Wait"}
	if _, err := e.cs.TektonV1beta1().CustomRuns(ns).Create(context.Background(), other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cr := e.customRun("run-1", e.pipelineTask("produce"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := &plugin.Controller{Reconciler: *e.rec, Workers: 2, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	}()
	waitFor(t, "the TaskRun", func() bool { return len(e.taskRuns()) == 1 })
	e.finish("run-1-produce-0", "True", "Succeeded", "", map[string]string{"sluice-cached": "false", "v": "n=3", "l": "[]"})
	waitFor(t, "the CustomRun to succeed", func() bool { return e.get(cr.Name).IsSuccessful() })
	if got := e.get("wait"); len(got.Status.Conditions) != 0 {
		t.Errorf("another custom task's CustomRun was touched: %+v", got.Status)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestControllerLoop: fed by informers, the controller runs a loop
// CachedStep to its end: each recorded lookup brings the reconcile that
// creates its TaskRun, each TaskRun that ends the one that starts the
// next iteration.
func TestControllerLoop(t *testing.T) {
	e := newLoopEnv(t)
	cr := e.sweep("run-1", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := &plugin.Controller{Reconciler: *e.rec, Workers: 2, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	finished := map[string]bool{}
	waitFor(t, "the loop to succeed", func() bool {
		for _, tr := range e.taskRuns() {
			if !finished[tr.Name] {
				finished[tr.Name] = true
				item := tr.Spec.Params[0].Value.StringVal
				e.finish(tr.Name, "True", "Succeeded", "", map[string]string{"sluice-cached": "false", "v": item + "-v"})
			}
		}
		return e.get(cr.Name).IsSuccessful()
	})
	if got := resultsOf(e.get(cr.Name))["v"]; got != `["a-v","b-v","c-v","d-v"]` {
		t.Errorf("v = %s", got)
	}
	if len(finished) != 4 {
		t.Errorf("%d TaskRuns, want 4", len(finished))
	}
}
