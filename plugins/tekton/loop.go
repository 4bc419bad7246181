package tekton

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"github.com/sluice-dev/sluice/plugins/probe"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// Bounds on the lookups of a loop's iterations.
const (
	// lookupsPerReconcile bounds the lookups of one reconcile, so that a
	// long loop records its progress as it goes; the next reconcile
	// carries on.
	lookupsPerReconcile = 64
	// lookupsAtOnce bounds the lookups in flight.
	lookupsAtOnce = 8
)

// loop runs a loop CachedStep (cachedstep.Loop): every iteration as a
// step of its own, looked up with its item and run as a TaskRun on a
// miss, at most Parallelism TaskRuns at once, each with the CustomRun's
// retries and timeout as each TaskRun of a matrix has the pipeline
// task's. Each iteration's record is in the CustomRun's status
// (cachedstep.Iteration), written before any TaskRun it names is
// created. When every iteration succeeded, the CustomRun succeeds with
// their results aggregated (cachedstep.Aggregate); once one has failed
// for good, no other starts, those running finish, and the CustomRun
// fails with its reason. Cancelling the CustomRun cancels every TaskRun
// that runs.
func (r *Reconciler) loop(ctx context.Context, cr *v1beta1.CustomRun, spec *cachedstep.Spec, again *time.Duration) error {
	items, err := spec.Loop.Iterations(cr.Spec.Params)
	if err != nil {
		r.fail(&execution{cr: cr, status: &cr.Status}, cachedstep.ReasonInvalid, err.Error())
		return nil
	}
	st := cachedstep.StatusOf(&cr.Status)
	if len(st.Iterations) == 0 {
		for _, it := range items {
			st.Iterations = append(st.Iterations, cachedstep.Iteration{Index: it.Index})
		}
	}
	if len(st.Iterations) != len(items) {
		r.fail(&execution{cr: cr, status: &cr.Status}, cachedstep.ReasonInvalid, "the loop's items changed while it ran")
		return nil
	}
	xs := make([]*execution, len(items))
	for i := range items {
		xs[i] = &execution{cr: cr, spec: spec, status: &st.Iterations[i].Status, item: &items[i]}
	}
	var errs []error
	var retried []*execution // started, and to be looked up again
	for _, x := range xs {
		if !x.started() || x.done() {
			continue
		}
		needed, err := r.advance(ctx, x, again)
		errs = append(errs, err)
		if needed {
			retried = append(retried, x)
		}
	}
	if cr.IsCancelled() {
		// Nothing starts any more; what ran is recorded.
		errs = append(errs, setStatus(&cr.Status, st))
		r.fail(&execution{cr: cr, status: &cr.Status}, v1beta1.CustomRunReasonCancelled.String(), cancelledMessage(cr))
		return errors.Join(errs...)
	}
	errs = append(errs, r.start(ctx, cr, spec, xs, retried, again))
	errs = append(errs, r.settleLoop(cr, &st, xs))
	return errors.Join(errs...)
}

// start looks up the iterations whose attempts start now: the retried
// ones, which keep their places, then those that have not started, in
// order, while fewer than Parallelism are running and none has failed
// for good. A hit is done at once and takes no place.
func (r *Reconciler) start(ctx context.Context, cr *v1beta1.CustomRun, spec *cachedstep.Spec, xs []*execution, retried []*execution, again *time.Duration) error {
	running, failed := 0, false
	var waiting []*execution
	for _, x := range xs {
		switch {
		case !x.started():
			waiting = append(waiting, x)
		case !x.done():
			running++
		case x.status.GetCondition(apis.ConditionSucceeded).IsFalse():
			failed = true
		}
	}
	limit := spec.Loop.Parallelism
	if limit <= 0 {
		limit = len(xs)
	}
	var ts *v1.TaskSpec
	var tsErr error
	read := false
	budget := lookupsPerReconcile
	batch := retried
	for {
		for !failed && running < limit && len(waiting) > 0 && len(batch) < budget {
			x := waiting[0]
			waiting = waiting[1:]
			x.status.StartTime = &metav1.Time{Time: r.now()}
			x.status.InitializeConditions()
			x.status.MarkCustomRunRunning(cachedstep.ReasonLookingUp, "")
			batch = append(batch, x)
			running++
		}
		if len(batch) == 0 {
			return nil
		}
		if !read {
			ts, tsErr = r.taskSpec(ctx, cr.Namespace, spec)
			read = true
		}
		looked := r.lookupAll(ctx, batch, ts, tsErr)
		for i, x := range batch {
			if err := r.record(x, looked[i].res, looked[i].outs); err != nil {
				return err
			}
			if x.done() {
				running--
			}
		}
		budget -= len(batch)
		batch = nil
		if budget <= 0 {
			if !failed && running < limit && len(waiting) > 0 {
				// The rest next time, at once.
				*again = time.Nanosecond
			}
			return nil
		}
	}
}

type looked struct {
	res  *probe.Result
	outs []outResult
}

// lookupAll looks up the current attempts of xs, lookupsAtOnce at a time.
func (r *Reconciler) lookupAll(ctx context.Context, xs []*execution, ts *v1.TaskSpec, tsErr error) []looked {
	out := make([]looked, len(xs))
	sem := make(chan struct{}, lookupsAtOnce)
	var wg sync.WaitGroup
	for i, x := range xs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i].res, out[i].outs = r.lookup(ctx, x, ts, tsErr)
		}()
	}
	wg.Wait()
	return out
}

// settleLoop records the iterations in the CustomRun's status and sets
// its condition from theirs: running while one runs or waits, failed as
// the first that failed once none runs, succeeded with their aggregated
// results when all did.
func (r *Reconciler) settleLoop(cr *v1beta1.CustomRun, st *cachedstep.Status, xs []*execution) error {
	var done, cached, running, waiting int
	var failed *execution
	for _, x := range xs {
		c := x.status.GetCondition(apis.ConditionSucceeded)
		switch {
		case !x.started():
			waiting++
		case c.IsTrue():
			done++
			if c.Reason == cachedstep.ReasonCached {
				cached++
			}
		case c.IsFalse():
			if failed == nil {
				failed = x
			}
		default:
			running++
		}
	}
	n := len(xs)
	switch {
	case running > 0 || failed == nil && waiting > 0:
		msg := fmt.Sprintf("%d of %d iterations done (%d from the cache), %d running, %d waiting", done, n, cached, running, waiting)
		if failed != nil {
			// The others finish what they run; none starts.
			msg = fmt.Sprintf("%d of %d iterations done (%d from the cache), %d running; item %d failed", done, n, cached, running, failed.item.Index)
		}
		cr.Status.MarkCustomRunRunning(v1.TaskRunReasonRunning.String(), "%s", msg)
	case failed != nil:
		c := failed.status.GetCondition(apis.ConditionSucceeded)
		r.fail(&execution{cr: cr, status: &cr.Status}, c.Reason, failed.about()+c.Message)
	default:
		results := make([][]v1beta1.CustomRunResult, n)
		for i, x := range xs {
			results[i] = x.status.Results
			// In the aggregated results now (cachedstep.Element): a
			// CustomRun is one object, bounded in size.
			x.status.Results = nil
		}
		cr.Status.Results = cachedstep.Aggregate(results)
		reason := v1.TaskRunReasonSuccessful.String()
		if cached == n && n > 0 {
			reason = cachedstep.ReasonCached
		}
		cr.Status.MarkCustomRunSucceeded(reason, "%d iterations: %d from the cache, %d ran", n, cached, n-cached)
	}
	return setStatus(&cr.Status, *st)
}
