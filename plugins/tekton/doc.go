// Package tekton is Sluice's Tekton custom task controller: it runs the
// CachedStep CustomRuns that `sluice compile -t tekton --cache-plugin`
// puts where a step's TaskRun would be (plugins/tekton/cachedstep), so
// that a step whose result is in the shared cache starts no pod.
//
// For each attempt of a CustomRun it looks the step up (plugins/probe)
// with the very command line the step's pod would run: the Task's
// `sluice-exec run` step after Tekton's own substitution of the
// CustomRun's parameters. A hit completes the CustomRun with the step's
// results, named as its TaskRun would have written them, and no pod. A
// miss, or any fault of the lookup (the store down or slow, the Secret
// unreadable, the request malformed), runs the step as a TaskRun owned by
// the CustomRun and completes the CustomRun with its results and
// condition: a cache problem never fails a step that would otherwise
// succeed; its reason stays in the CustomRun's status.
//
// A loop CachedStep (cachedstep.Loop: a loop over one step, which a
// Tekton matrix of custom tasks could not pass its outputs on) runs each
// iteration in the same way, with its item, at most its parallelism of
// TaskRuns at once, and completes with the iterations' results
// aggregated as Tekton aggregates a matrix's.
//
// It honours what Tekton asks of custom task controllers
// (docs/customruns.md): cancellation (spec.status RunCancelled cancels
// the TaskRun), a timeout per attempt (spec.timeout), and retries
// (spec.retries, each failed attempt kept in status.retriesStatus).
//
// Reconciler holds the decisions and talks to the cluster through Tekton's
// clientset; Controller feeds it from informers and a work queue.
package tekton
