package tekton_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	adapter "github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/plugins/probe"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// TestHit: a step whose entry is in the store completes from it, with the
// results its TaskRun would have written (a list that Tekton would read
// as an array result passed as a value ref) and no TaskRun.
func TestHit(t *testing.T) {
	e := newEnv(t)
	pt := e.pipelineTask("produce")
	first := e.customRun("run-1", pt, nil)
	first = e.reconcile(first.Name)
	st0 := cachedstep.StatusOf(&first.Status)
	if status, reason, msg := condition(first); status != "Unknown" || reason != v1.TaskRunReasonPending.String() || !strings.Contains(msg, "no cache entry") {
		t.Fatalf("first run: %s %s %q, want a miss", status, reason, msg)
	}
	e.fill() // the first run's pod ran the step
	cr := e.customRun("run-2", pt, nil)
	cr = e.reconcile(cr.Name)
	status, reason, msg := condition(cr)
	if status != "True" || reason != cachedstep.ReasonCached || !strings.HasPrefix(msg, "sluice: cache hit ") || !strings.HasSuffix(msg, "(run run-1)") {
		t.Fatalf("second run: %s %s %q, want a hit recorded by run-1", status, reason, msg)
	}
	res := resultsOf(cr)
	if !launch.IsValueRef(res["l"]) {
		t.Errorf("result l = %q, want a value ref (Tekton would read the list as an array)", res["l"])
	}
	store, err := cache.Open(context.Background(), e.store)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := launch.GetValue(context.Background(), store, res["l"]); err != nil || v != `["a","b"]` {
		t.Errorf("the value of l's ref: %q, %v", v, err)
	}
	res["l"] = "REF"
	if diff := cmp.Diff(map[string]string{"sluice-cached": "true", "v": "n=3", "l": "REF"}, res); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if st := cachedstep.StatusOf(&cr.Status); st.Lookup != cachedstep.Hit || st.TaskRun != "" || st.Key == "" {
		t.Errorf("the record of the lookup: %+v", st)
	}
	if trs := e.taskRuns(); len(trs) != 0 {
		t.Errorf("%d TaskRuns, want none on a hit", len(trs))
	}
	if diff := cmp.Diff([]string{"Normal CacheMiss sluice: cache miss: no cache entry " + st0.Key, "Normal CacheHit " + msg}, e.events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestMiss: a miss records the lookup, then runs the step as a TaskRun
// like the one Tekton would have created, and completes with its results
// and condition.
func TestMiss(t *testing.T) {
	e := newEnv(t)
	cr := e.customRun("run-1", e.pipelineTask("produce"), nil)
	cr = e.reconcile(cr.Name)
	st := cachedstep.StatusOf(&cr.Status)
	want := cachedstep.Status{Lookup: cachedstep.Miss, Key: st.Key, Message: "sluice: cache miss: no cache entry " + st.Key, TaskRun: "run-1-produce-0"}
	if diff := cmp.Diff(want, st); diff != "" || st.Key == "" {
		t.Fatalf("the record of the lookup (-want +got):\n%s", diff)
	}
	if n := len(e.taskRuns()); n != 0 {
		t.Fatalf("%d TaskRuns before the lookup is recorded, want 0", n)
	}
	cr = e.reconcile(cr.Name)
	tr := e.taskRun("run-1-produce-0")
	spec, _ := cachedstep.Of(cr)
	if diff := cmp.Diff(spec.TaskSpec, tr.Spec.TaskSpec); diff != "" {
		t.Errorf("the TaskRun's Task (-CachedStep's +TaskRun's):\n%s", diff)
	}
	if diff := cmp.Diff(spec.PodTemplate, tr.Spec.PodTemplate); diff != "" {
		t.Errorf("the TaskRun's pod template (-CachedStep's +TaskRun's):\n%s", diff)
	}
	if tr.Spec.ServiceAccountName != "pipeline-runner" || tr.Spec.Timeout.Duration != 6*time.Minute || tr.Spec.Retries != 0 {
		t.Errorf("TaskRun: service account %q, timeout %v, retries %d", tr.Spec.ServiceAccountName, tr.Spec.Timeout, tr.Spec.Retries)
	}
	if !metav1.IsControlledBy(tr, cr) || tr.Labels["tekton.dev/pipelineRun"] != "run-1" || tr.Labels["tekton.dev/pipelineTask"] != "produce" ||
		tr.Labels[cachedstep.LabelCustomRun] != cr.Name || tr.Labels["team"] != "ml" {
		t.Errorf("TaskRun owners %v, labels %v", tr.OwnerReferences, tr.Labels)
	}
	if got := tr.Spec.Params; len(got) != 1 || got[0].Name != "sluice_run" || got[0].Value.StringVal != "run-1" {
		t.Errorf("TaskRun params %v", got)
	}
	// Reconciling again changes nothing.
	e.reconcile(cr.Name)
	if n := len(e.taskRuns()); n != 1 {
		t.Fatalf("%d TaskRuns, want 1", n)
	}
	if _, reason, _ := condition(e.get(cr.Name)); reason != v1.TaskRunReasonPending.String() {
		t.Errorf("reason %s while the TaskRun has not started, want Pending", reason)
	}
	e.finish(tr.Name, "Unknown", "Running", "Not all Steps in the Task have finished executing", nil)
	if status, reason, msg := condition(e.reconcile(cr.Name)); status != "Unknown" || reason != "Running" || !strings.Contains(msg, tr.Name) {
		t.Errorf("while the TaskRun runs: %s %s %q", status, reason, msg)
	}
	// The launcher writes a list Tekton would read as an array as a value
	// ref (launch.Inline); the CustomRun passes on what it wrote.
	ref := "cas://sha256/" + strings.Repeat("ab", 32) + "?kind=value&size=9"
	e.finish(tr.Name, "True", "Succeeded", "All Steps have completed executing", map[string]string{"sluice-cached": "false", "v": "n=3", "l": ref})
	cr = e.reconcile(cr.Name)
	if status, reason, msg := condition(cr); status != "True" || reason != "Succeeded" || !strings.Contains(msg, "no cache entry") {
		t.Errorf("after the TaskRun: %s %s %q", status, reason, msg)
	}
	res := resultsOf(cr)
	if res["sluice-cached"] != "false" || res["v"] != "n=3" || res["l"] != ref {
		t.Errorf("results %v: want the TaskRun's", res)
	}
}

// TestFailure: a TaskRun that fails fails the CustomRun, with its reason
// and message.
func TestFailure(t *testing.T) {
	e := newEnv(t)
	cr := e.customRun("run-1", e.pipelineTask("produce"), nil)
	cr.Spec.Retries = 0
	e.update(cr)
	e.reconcile(cr.Name)
	e.reconcile(cr.Name)
	e.finish("run-1-produce-0", "False", "Failed", `"step-run" exited with code 3`, nil)
	cr = e.reconcile(cr.Name)
	if status, reason, msg := condition(cr); status != "False" || reason != "Failed" || msg != `"step-run" exited with code 3` {
		t.Errorf("%s %s %q", status, reason, msg)
	}
	if cr.Status.CompletionTime == nil || len(cr.Status.Results) != 0 {
		t.Errorf("completion %v, results %v", cr.Status.CompletionTime, cr.Status.Results)
	}
}

func (e *env) update(cr *v1beta1.CustomRun) {
	e.t.Helper()
	if _, err := e.cs.TektonV1beta1().CustomRuns(ns).Update(context.Background(), cr, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// TestRetries: a failed attempt goes to retriesStatus with its record,
// and the next one looks the step up again and runs a TaskRun of its
// own; Succeeded is False only when no retry is left.
func TestRetries(t *testing.T) {
	e := newEnv(t)
	cr := e.customRun("run-1", e.pipelineTask("produce"), nil) // retries: 1
	e.reconcile(cr.Name)
	e.reconcile(cr.Name)
	e.finish("run-1-produce-0", "False", "Failed", "exit 1", nil)
	e.now = e.now.Add(time.Minute)
	cr = e.reconcile(cr.Name)
	if status, reason, _ := condition(cr); status != "Unknown" || reason != cachedstep.ReasonToBeRetried {
		t.Fatalf("after the first attempt: %s %s", status, reason)
	}
	if len(cr.Status.RetriesStatus) != 1 || !cr.Status.StartTime.Time.Equal(e.now) {
		t.Fatalf("retries %d, start %v", len(cr.Status.RetriesStatus), cr.Status.StartTime)
	}
	prev := cr.Status.RetriesStatus[0]
	if c := prev.GetCondition("Succeeded"); c == nil || !c.IsFalse() || c.Message != "exit 1" || cachedstep.StatusOf(&prev).TaskRun != "run-1-produce-0" {
		t.Errorf("retriesStatus[0]: %+v", prev)
	}
	lookups := len(e.probes.reqs)
	e.reconcile(cr.Name)
	e.reconcile(cr.Name)
	if len(e.probes.reqs) != lookups+1 {
		t.Errorf("%d lookups for the second attempt, want 1", len(e.probes.reqs)-lookups)
	}
	e.taskRun("run-1-produce-1")
	e.finish("run-1-produce-1", "False", "Failed", "exit 2", nil)
	cr = e.reconcile(cr.Name)
	if status, _, msg := condition(cr); status != "False" || msg != "exit 2" || len(cr.Status.RetriesStatus) != 1 {
		t.Errorf("after the last attempt: %s %q, %d retries", status, msg, len(cr.Status.RetriesStatus))
	}
}

// TestCancel: a CustomRun cancelled by its PipelineRun cancels its
// TaskRun and ends as CustomRunCancelled; it is not retried.
func TestCancel(t *testing.T) {
	e := newEnv(t)
	cr := e.customRun("run-1", e.pipelineTask("produce"), nil)
	e.reconcile(cr.Name)
	cr = e.reconcile(cr.Name)
	cr.Spec.Status = v1beta1.CustomRunSpecStatusCancelled
	cr.Spec.StatusMessage = v1beta1.CustomRunCancelledByPipelineMsg
	e.update(cr)
	cr = e.reconcile(cr.Name)
	if status, reason, _ := condition(cr); status != "False" || reason != v1beta1.CustomRunReasonCancelled.String() || len(cr.Status.RetriesStatus) != 0 {
		t.Errorf("%s %s, %d retries", status, reason, len(cr.Status.RetriesStatus))
	}
	tr := e.taskRun("run-1-produce-0")
	if tr.Spec.Status != v1.TaskRunSpecStatusCancelled || tr.Spec.StatusMessage != v1.TaskRunCancelledByPipelineMsg {
		t.Errorf("TaskRun spec.status %q, statusMessage %q", tr.Spec.Status, tr.Spec.StatusMessage)
	}
	// Cancelled before its TaskRun exists: none is made.
	e2 := newEnv(t)
	cr = e2.customRun("run-2", e2.pipelineTask("produce"), nil)
	cr.Spec.Status = v1beta1.CustomRunSpecStatusCancelled
	e2.update(cr)
	if status, reason, _ := condition(e2.reconcile(cr.Name)); status != "False" || reason != v1beta1.CustomRunReasonCancelled.String() {
		t.Errorf("cancelled at once: %s %s", status, reason)
	}
	if n := len(e2.taskRuns()); n != 0 || len(e2.probes.reqs) != 0 {
		t.Errorf("cancelled at once: %d TaskRuns, %d lookups", n, len(e2.probes.reqs))
	}
}

// TestTimeout: an attempt that outlives spec.timeout cancels its TaskRun
// and fails as CustomRunTimedOut, or is retried; Reconcile asks to be
// called back at the deadline.
func TestTimeout(t *testing.T) {
	e := newEnv(t)
	cr := e.customRun("run-1", e.pipelineTask("produce"), nil) // timeout 6m, retries 1
	e.reconcile(cr.Name)
	again, err := e.rec.Reconcile(context.Background(), e.get(cr.Name))
	if err != nil || again != 6*time.Minute {
		t.Fatalf("Reconcile: again %v, %v; want the deadline", again, err)
	}
	e.now = e.now.Add(7 * time.Minute)
	cr = e.reconcile(cr.Name)
	if status, reason, _ := condition(cr); status != "Unknown" || reason != cachedstep.ReasonToBeRetried {
		t.Fatalf("first attempt timed out: %s %s, want a retry", status, reason)
	}
	if c := cr.Status.RetriesStatus[0].GetCondition("Succeeded"); c.Reason != v1beta1.CustomRunReasonTimedOut.String() {
		t.Errorf("the timed out attempt's reason %s", c.Reason)
	}
	if tr := e.taskRun("run-1-produce-0"); tr.Spec.Status != v1.TaskRunSpecStatusCancelled {
		t.Errorf("the timed out attempt's TaskRun is not cancelled")
	}
	e.reconcile(cr.Name)
	e.reconcile(cr.Name)
	// Tekton's own timeout of the TaskRun is the CustomRun's too.
	e.finish("run-1-produce-1", "False", v1.TaskRunReasonTimedOut.String(), `TaskRun "run-1-produce-1" failed to finish within "6m0s"`, nil)
	cr = e.reconcile(cr.Name)
	if status, reason, _ := condition(cr); status != "False" || reason != v1beta1.CustomRunReasonTimedOut.String() {
		t.Errorf("second attempt timed out: %s %s", status, reason)
	}
}

// TestFaults: whatever keeps the lookup from answering is a miss with its
// reason, and the step runs as a TaskRun; a CachedStep with no Task to
// run fails.
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cache   string
		secret  string
		edit    func(*cachedstep.Spec)
		emit    adapter.Emit
		message string // a regexp the record's message matches
	}{
		{name: "store down", cache: "s3://bucket/p?endpoint=127.0.0.1:1&insecure=true", message: "sluice: cache miss: "},
		{name: "store slow", cache: "slow", message: "did not answer within|context deadline exceeded"},
		{name: "Secret unreadable", cache: "s3://bucket/p?endpoint=127.0.0.1:1&insecure=true", secret: "creds", message: "forbidden"},
		{name: "malformed request", message: "malformed request", edit: func(s *cachedstep.Spec) {
			args := s.TaskSpec.Steps[1].Args
			s.TaskSpec.Steps[1].Args = append(args[:1:1], args[2:]...) // no --spec-b64
		}},
		{name: "no launcher", message: "no step that runs", edit: func(s *cachedstep.Spec) { s.TaskSpec.Steps[1].Command = []string{"/bin/sh"} }},
		{name: "Task missing", emit: adapter.EmitPipeline, message: "read Task p-produce", edit: func(s *cachedstep.Spec) { s.TaskRef.Name = "p-produce" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.probes.Prober.(*probe.Prober).Secrets = noSecrets{}
			switch tc.cache {
			case "":
			case "slow":
				e.probes.Prober.(*probe.Prober).Timeout = 200 * time.Millisecond
				e.opts.Cache = "s3://bucket/p?insecure=true&endpoint=" + slowServer(t)
			default:
				e.opts.Cache = tc.cache
			}
			e.opts.CacheSecret, e.opts.Emit = tc.secret, tc.emit
			pt := e.pipelineTask("produce")
			if tc.emit == adapter.EmitPipeline {
				// The Task is gone.
				_ = e.cs.TektonV1().Tasks(ns).Delete(context.Background(), "p-produce", metav1.DeleteOptions{})
			}
			cr := e.customRun("run-1", pt, tc.edit)
			cr = e.reconcile(cr.Name)
			st := cachedstep.StatusOf(&cr.Status)
			if st.Lookup != cachedstep.Fault || !regexp.MustCompile(tc.message).MatchString(st.Message) || st.TaskRun != "run-1-produce-0" {
				t.Fatalf("record %+v: want a fault with %q", st, tc.message)
			}
			if status, _, msg := condition(cr); status != "Unknown" || !strings.Contains(msg, st.Message) {
				t.Errorf("condition %s %q: want running, with the reason", status, msg)
			}
			e.reconcile(cr.Name)
			tr := e.taskRun("run-1-produce-0")
			if tc.emit == adapter.EmitPipeline && (tr.Spec.TaskRef == nil || tr.Spec.TaskRef.Name != "p-produce") {
				t.Errorf("TaskRun's taskRef %v", tr.Spec.TaskRef)
			}
		})
	}
	t.Run("no Task", func(t *testing.T) {
		e := newEnv(t)
		cr := e.customRun("run-1", e.pipelineTask("produce"), func(s *cachedstep.Spec) { s.TaskSpec = &v1.TaskSpec{} })
		cr.Spec.CustomSpec.Spec.Raw = []byte(`{"podTemplate": {}}`)
		e.update(cr)
		if status, reason, msg := condition(e.reconcile(cr.Name)); status != "False" || reason != cachedstep.ReasonInvalid || !strings.Contains(msg, "neither taskSpec nor taskRef") {
			t.Errorf("%s %s %q", status, reason, msg)
		}
	})
}

// slowServer is an endpoint that answers nothing until the test ends.
func slowServer(t *testing.T) string {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-done }))
	t.Cleanup(func() { close(done); srv.Close() })
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestLateReconcile: an attempt whose TaskRun ended ends as it did, even
// when the CustomRun is reconciled after its deadline or its
// cancellation.
func TestLateReconcile(t *testing.T) {
	for _, late := range []string{"timed out", "cancelled"} {
		t.Run(late, func(t *testing.T) {
			e := newEnv(t)
			cr := e.customRun("run-1", e.pipelineTask("produce"), nil)
			e.reconcile(cr.Name)
			cr = e.reconcile(cr.Name)
			e.finish("run-1-produce-0", "True", "Succeeded", "", map[string]string{"sluice-cached": "false", "v": "n=3", "l": "[]"})
			if late == "timed out" {
				e.now = e.now.Add(time.Hour)
			} else {
				cr.Spec.Status = v1beta1.CustomRunSpecStatusCancelled
				e.update(cr)
			}
			cr = e.reconcile(cr.Name)
			if status, reason, _ := condition(cr); status != "True" || reason != "Succeeded" {
				t.Errorf("%s %s, want the TaskRun's success", status, reason)
			}
			if tr := e.taskRun("run-1-produce-0"); tr.Spec.Status != "" {
				t.Errorf("a TaskRun that ended was cancelled")
			}
		})
	}
}
