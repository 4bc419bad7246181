package tekton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"knative.dev/pkg/apis"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/plugins/probe"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// Prober looks steps up in the cache: *probe.Prober.
type Prober interface {
	Probe(ctx context.Context, req *probe.Request) *probe.Result
}

var _ Prober = (*probe.Prober)(nil)

// Reconciler brings a CachedStep CustomRun one step closer to its end.
// Its state is the CustomRun's status: the lookup of the current attempt
// and the TaskRun it runs are recorded there (cachedstep.Status) before
// anything is created, so a reconcile that is cut short is taken up
// again from where it was.
type Reconciler struct {
	Tekton versioned.Interface
	Prober Prober
	// TaskRun reads a TaskRun, from an informer's cache; nil reads it
	// through Tekton.
	TaskRun func(namespace, name string) (*v1.TaskRun, error)
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Events, when set, records each lookup's outcome as an Event of the
	// CustomRun (kubectl describe customrun).
	Events record.EventRecorder
}

// event records an Event of cr, when there is a recorder.
func (r *Reconciler) event(cr *v1beta1.CustomRun, typ, reason, msg string) {
	if r.Events != nil {
		r.Events.Event(cr, typ, reason, msg)
	}
}

// Reconcile acts on a CustomRun that runs a CachedStep, and returns when
// to look at it again if nothing else changes (0: not before a change).
func (r *Reconciler) Reconcile(ctx context.Context, cr *v1beta1.CustomRun) (time.Duration, error) {
	if cr.IsDone() || !cachedstep.Is(cr) {
		return 0, nil
	}
	cr = cr.DeepCopy()
	before := cr.Status.DeepCopy()
	var again time.Duration
	err := r.reconcile(ctx, cr, &again)
	if !equality.Semantic.DeepEqual(before, &cr.Status) {
		if err2 := r.updateStatus(ctx, cr); err2 != nil {
			return 0, errors.Join(err, err2)
		}
	}
	return again, err
}

func (r *Reconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// reconcile changes cr's status in memory; Reconcile writes it.
func (r *Reconciler) reconcile(ctx context.Context, cr *v1beta1.CustomRun, again *time.Duration) error {
	if !cr.HasStarted() {
		cr.Status.StartTime = &metav1.Time{Time: r.now()}
		cr.Status.InitializeConditions()
		cr.Status.MarkCustomRunRunning(cachedstep.ReasonLookingUp, "")
	}
	spec, err := cachedstep.Of(cr)
	if err != nil {
		r.fail(&execution{cr: cr, status: &cr.Status}, cachedstep.ReasonInvalid, err.Error())
		return nil
	}
	if spec.Loop != nil {
		return r.loop(ctx, cr, spec, again)
	}
	x := &execution{cr: cr, spec: spec, status: &cr.Status}
	needed, err := r.advance(ctx, x, again)
	if err != nil || !needed {
		return err
	}
	// A new attempt: look the step up before anything runs.
	ts, err := r.taskSpec(ctx, cr.Namespace, spec)
	res, outs := r.lookup(ctx, x, ts, err)
	return r.record(x, res, outs)
}

// execution is one run of the step: the CustomRun of a CachedStep, or one
// iteration of a loop CachedStep. Its state is status: the CustomRun's,
// or the iteration's record in the loop's status, which has the same
// form (cachedstep.Iteration).
type execution struct {
	cr     *v1beta1.CustomRun
	spec   *cachedstep.Spec
	status *v1beta1.CustomRunStatus
	// item is the iteration's; nil for the CustomRun of one step.
	item *cachedstep.Item
}

// attempt is the number of the execution's current attempt, from 0.
func (x *execution) attempt() int { return len(x.status.RetriesStatus) }

// record is the controller's record of the current attempt.
func (x *execution) record() cachedstep.Status { return cachedstep.StatusOf(x.status) }

func (x *execution) started() bool { return x.status.StartTime != nil }

func (x *execution) done() bool {
	c := x.status.GetCondition(apis.ConditionSucceeded)
	return c != nil && !c.IsUnknown()
}

// about is how an event names the execution: "" for a CustomRun, "item
// 2: " for an iteration.
func (x *execution) about() string {
	if x.item == nil {
		return ""
	}
	return fmt.Sprintf("item %d: ", x.item.Index)
}

// advance brings an execution that has started up to date: its attempt
// ends when the CustomRun is cancelled or the attempt's time is up, else
// it follows the attempt's TaskRun, which it creates if need be. It
// reports whether the current attempt still has to be looked up.
func (r *Reconciler) advance(ctx context.Context, x *execution, again *time.Duration) (bool, error) {
	st := x.record()
	cancelled := x.cr.IsCancelled()
	if cancelled || r.timedOut(x) {
		// An attempt whose TaskRun ended ends as it did, however late
		// this reconcile comes.
		if tr, err := r.existingTaskRun(ctx, x, st); err != nil || tr != nil && tr.IsDone() {
			if err != nil {
				return false, err
			}
			return false, r.follow(x, st, tr)
		}
	}
	if cancelled {
		if err := r.cancel(ctx, x, st, childCancelMessage(x.cr.Spec.StatusMessage)); err != nil {
			return false, err
		}
		r.fail(x, v1beta1.CustomRunReasonCancelled.String(), cancelledMessage(x.cr))
		return false, nil
	}
	if deadline, ok := r.deadline(x); ok {
		left := deadline.Sub(r.now())
		if left <= 0 {
			if err := r.cancel(ctx, x, st, "TaskRun cancelled as the CustomRun it runs for timed out."); err != nil {
				return false, err
			}
			r.attemptFailed(x, v1beta1.CustomRunReasonTimedOut.String(),
				fmt.Sprintf("CustomRun %q failed to finish within %q", x.cr.Name, x.cr.GetTimeout().String()), true)
			return false, nil
		}
		if *again == 0 || left < *again {
			*again = left
		}
	}
	if st.Lookup == "" {
		return true, nil
	}
	tr, err := r.taskRun(ctx, x, st.TaskRun)
	if errors.Is(err, errNotOwned) {
		r.fail(x, cachedstep.ReasonInvalid, err.Error())
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return false, r.follow(x, st, tr)
}

func cancelledMessage(cr *v1beta1.CustomRun) string {
	msg := fmt.Sprintf("CustomRun %q was cancelled", cr.Name)
	if cr.Spec.StatusMessage != "" {
		msg += ": " + string(cr.Spec.StatusMessage)
	}
	return msg
}

// errNotOwned is an attempt's TaskRun that another object owns.
var errNotOwned = errors.New("a TaskRun of that name exists, owned by another object")

// follow mirrors the state of an attempt's TaskRun.
func (r *Reconciler) follow(x *execution, st cachedstep.Status, tr *v1.TaskRun) error {
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	switch {
	case c == nil:
		x.status.MarkCustomRunRunning(v1.TaskRunReasonPending.String(), "%s; TaskRun %s is pending", st.Message, tr.Name)
	case c.IsUnknown():
		x.status.MarkCustomRunRunning(c.Reason, "%s; TaskRun %s: %s", st.Message, tr.Name, c.Message)
	case c.IsTrue():
		var texts []v1beta1.CustomRunResult
		for _, res := range tr.Status.Results {
			texts = append(texts, v1beta1.CustomRunResult{Name: res.Name, Value: resultText(res.Value)})
		}
		x.status.Results = texts
		x.status.MarkCustomRunSucceeded(c.Reason, "%s; TaskRun %s succeeded", st.Message, tr.Name)
	default:
		reason := c.Reason
		switch reason {
		case v1.TaskRunReasonTimedOut.String():
			reason = v1beta1.CustomRunReasonTimedOut.String()
		case v1.TaskRunReasonCancelled.String():
			// Cancelled by someone else than this CustomRun: not retried,
			// as Tekton does not retry a cancelled TaskRun.
			r.fail(x, reason, c.Message)
			return nil
		}
		r.attemptFailed(x, reason, c.Message, true)
	}
	return nil
}

// lookup probes the step with the command line its pod would run, ts
// being its Task (or tsErr why it could not be read); a fault is a miss
// with its reason.
func (r *Reconciler) lookup(ctx context.Context, x *execution, ts *v1.TaskSpec, tsErr error) (*probe.Result, []outResult) {
	if tsErr != nil {
		return &probe.Result{Reason: tsErr.Error(), Fault: true}, nil
	}
	args, err := launcherArgs(ts, newTaskRun(x))
	if err != nil {
		return probe.Malformed(err), nil
	}
	outs, err := outputResults(args)
	if err != nil {
		return probe.Malformed(err), nil
	}
	if url := storeOf(x.spec); url != "" {
		// The pod takes the store from SLUICE_CACHE; a probe from its
		// command line.
		args = append([]string{"--cache=" + url}, args...)
	}
	return r.Prober.Probe(ctx, &probe.Request{Args: args, Namespace: x.cr.Namespace, Secret: x.spec.CacheSecret}), outs
}

// record completes an attempt from its lookup's hit, or records its miss
// (or fault) and the TaskRun that is to run the step. The TaskRun is not
// created here: the record is written first (the change brings the next
// reconcile, which creates it), so that whatever is cut short, an
// attempt is never looked up or started twice.
func (r *Reconciler) record(x *execution, res *probe.Result, outs []outResult) error {
	if res.Hit {
		return r.hit(x, res, outs)
	}
	st := cachedstep.Status{Lookup: cachedstep.Miss, Key: keyOf(res), Message: res.Message(), TaskRun: x.taskRunName(x.attempt())}
	if res.Fault {
		st.Lookup = cachedstep.Fault
		r.event(x.cr, corev1.EventTypeWarning, "CacheFault", x.about()+st.Message)
	} else {
		r.event(x.cr, corev1.EventTypeNormal, "CacheMiss", x.about()+st.Message)
	}
	if err := setStatus(x.status, st); err != nil {
		return err
	}
	x.status.MarkCustomRunRunning(v1.TaskRunReasonPending.String(), "%s; running TaskRun %s", st.Message, st.TaskRun)
	return nil
}

// hit completes an attempt from the cache: the step's results as its
// TaskRun would have written them, and no pod.
func (r *Reconciler) hit(x *execution, res *probe.Result, outs []outResult) error {
	var texts []v1beta1.CustomRunResult
	for _, o := range outs {
		v, ok := res.Outputs[o.output]
		if o.output == launch.OutCached {
			v, ok = "true", true
		}
		if !ok {
			// The entry lacks an output the step declares: run the step.
			return r.missAfterAll(x, fmt.Sprintf("the cache entry %s has no output %s", res.Key, o.output))
		}
		texts = append(texts, v1beta1.CustomRunResult{Name: o.result, Value: v})
	}
	if err := setStatus(x.status, cachedstep.Status{Lookup: cachedstep.Hit, Key: res.Key.String(), Message: res.Message()}); err != nil {
		return err
	}
	x.status.Results = texts
	x.status.MarkCustomRunSucceeded(cachedstep.ReasonCached, "%s", res.Message())
	r.event(x.cr, corev1.EventTypeNormal, "CacheHit", x.about()+res.Message())
	return nil
}

// missAfterAll records a hit that cannot be used as a faulty miss: the
// step runs.
func (r *Reconciler) missAfterAll(x *execution, why string) error {
	st := cachedstep.Status{Lookup: cachedstep.Fault, Message: "sluice: cache miss: " + why, TaskRun: x.taskRunName(x.attempt())}
	if err := setStatus(x.status, st); err != nil {
		return err
	}
	x.status.MarkCustomRunRunning(v1.TaskRunReasonPending.String(), "%s; running TaskRun %s", st.Message, st.TaskRun)
	r.event(x.cr, corev1.EventTypeWarning, "CacheFault", x.about()+st.Message)
	return nil
}

func (r *Reconciler) timedOut(x *execution) bool {
	deadline, ok := r.deadline(x)
	return ok && !r.now().Before(deadline)
}

// existingTaskRun is the attempt's TaskRun, nil when it has none (yet).
func (r *Reconciler) existingTaskRun(ctx context.Context, x *execution, st cachedstep.Status) (*v1.TaskRun, error) {
	if st.TaskRun == "" {
		return nil, nil
	}
	tr, err := r.getTaskRun(ctx, x.cr.Namespace, st.TaskRun)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return tr, err
}

// taskSpec is the Task the step runs: embedded, or read.
func (r *Reconciler) taskSpec(ctx context.Context, ns string, spec *cachedstep.Spec) (*v1.TaskSpec, error) {
	if spec.TaskSpec != nil {
		return spec.TaskSpec, nil
	}
	t, err := r.Tekton.TektonV1().Tasks(ns).Get(ctx, spec.TaskRef.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read Task %s: %w", spec.TaskRef.Name, err)
	}
	return &t.Spec, nil
}

// taskRun returns the attempt's TaskRun, creating it when it does not
// exist.
func (r *Reconciler) taskRun(ctx context.Context, x *execution, name string) (*v1.TaskRun, error) {
	ns := x.cr.Namespace
	if tr, err := r.getTaskRun(ctx, ns, name); err == nil {
		return tr, nil
	} else if !apierrors.IsNotFound(err) {
		return nil, err
	}
	want := newTaskRun(x)
	tr, err := r.Tekton.TektonV1().TaskRuns(ns).Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		tr, err = r.Tekton.TektonV1().TaskRuns(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("create TaskRun %s: %w", name, err)
	}
	if !metav1.IsControlledBy(tr, x.cr) {
		return nil, fmt.Errorf("%w: %s", errNotOwned, name)
	}
	return tr, nil
}

func (r *Reconciler) getTaskRun(ctx context.Context, ns, name string) (*v1.TaskRun, error) {
	if r.TaskRun != nil {
		if tr, err := r.TaskRun(ns, name); err == nil || !apierrors.IsNotFound(err) {
			return tr, err
		}
		// Not in the cache yet, perhaps: ask the API server.
	}
	return r.Tekton.TektonV1().TaskRuns(ns).Get(ctx, name, metav1.GetOptions{})
}

// cancel cancels the attempt's TaskRun, if it has one.
func (r *Reconciler) cancel(ctx context.Context, x *execution, st cachedstep.Status, msg v1.TaskRunSpecStatusMessage) error {
	if st.TaskRun == "" {
		return nil
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"status": v1.TaskRunSpecStatusCancelled, "statusMessage": msg}})
	_, err := r.Tekton.TektonV1().TaskRuns(x.cr.Namespace).Patch(ctx, st.TaskRun, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("cancel TaskRun %s: %w", st.TaskRun, err)
	}
	return nil
}

// childCancelMessage says why a TaskRun is cancelled, as Tekton says it
// of the TaskRuns of a PipelineRun.
func childCancelMessage(m v1beta1.CustomRunSpecStatusMessage) v1.TaskRunSpecStatusMessage {
	switch m {
	case v1beta1.CustomRunCancelledByPipelineTimeoutMsg:
		return v1.TaskRunCancelledByPipelineTimeoutMsg
	case v1beta1.CustomRunCancelledByPipelineMsg:
		return v1.TaskRunCancelledByPipelineMsg
	}
	return "TaskRun cancelled as the CustomRun it runs for was cancelled."
}

// deadline is when the current attempt times out; ok is false without a
// timeout. Tekton gives each attempt the whole timeout (docs/customruns.md),
// so it counts from the attempt's start; each iteration of a loop has its
// own, as each TaskRun of a matrix has the pipeline task's timeout.
func (r *Reconciler) deadline(x *execution) (time.Time, bool) {
	t := x.cr.GetTimeout()
	if t <= 0 || x.status.StartTime == nil {
		return time.Time{}, false
	}
	return x.status.StartTime.Add(t), true
}

// attemptFailed ends an attempt that failed: another attempt follows when
// retries are left (the failed one goes to retriesStatus, and the new one
// starts with a new lookup), else the execution fails. Tekton reads a
// custom task as failed only from Succeeded=False, so that is not set
// while retries are left.
func (r *Reconciler) attemptFailed(x *execution, reason, msg string, retriable bool) {
	if !retriable || len(x.status.RetriesStatus) >= x.cr.Spec.Retries {
		r.fail(x, reason, msg)
		return
	}
	failed := x.status.DeepCopy()
	failed.RetriesStatus = nil
	failed.MarkCustomRunFailed(reason, "%s", msg)
	failed.CompletionTime = &metav1.Time{Time: r.now()}
	next := v1beta1.CustomRunStatus{}
	next.RetriesStatus = append(x.status.RetriesStatus, *failed)
	next.StartTime = &metav1.Time{Time: r.now()}
	next.InitializeConditions()
	next.MarkCustomRunRunning(cachedstep.ReasonToBeRetried, "%s", msg)
	next.ObservedGeneration = x.status.ObservedGeneration
	*x.status = next
}

func (r *Reconciler) fail(x *execution, reason, msg string) {
	x.status.MarkCustomRunFailed(reason, "%s", msg)
	x.status.CompletionTime = &metav1.Time{Time: r.now()}
}

// updateStatus writes cr's status when it changed; cr takes the new
// resource version.
func (r *Reconciler) updateStatus(ctx context.Context, cr *v1beta1.CustomRun) error {
	got, err := r.Tekton.TektonV1beta1().CustomRuns(cr.Namespace).UpdateStatus(ctx, cr, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update CustomRun %s/%s: %w", cr.Namespace, cr.Name, err)
	}
	cr.ResourceVersion = got.ResourceVersion
	return nil
}

func setStatus(status *v1beta1.CustomRunStatus, st cachedstep.Status) error {
	if err := status.EncodeExtraFields(st); err != nil {
		return fmt.Errorf("record the lookup: %w", err)
	}
	return nil
}

// storeOf is the URL of the store the step's pod uses: SLUICE_CACHE in
// its pod template, where the launcher reads it.
func storeOf(spec *cachedstep.Spec) string {
	if t := spec.PodTemplate; t != nil {
		for _, e := range t.Env {
			if e.Name == launch.CacheEnv {
				return e.Value
			}
		}
	}
	return ""
}

func keyOf(res *probe.Result) string {
	if res.Key.IsZero() {
		return ""
	}
	return res.Key.String()
}

// resultText is a TaskRun result's value as a CustomRun result's text: a
// string as it is, an array or object as JSON (which Tekton reads back as
// such).
func resultText(v v1.ResultValue) string {
	if v.Type == v1.ParamTypeString || v.Type == "" {
		return v.StringVal
	}
	b, _ := json.Marshal(&v)
	return string(b)
}
