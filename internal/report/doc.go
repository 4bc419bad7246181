// Package report turns the state changes of a pipeline run into what people
// and CI systems read: a live progress table (or plain log lines when the
// output is not a terminal), a JSON run summary and a JUnit XML report.
//
// It knows nothing of pipelines, engines or caches beyond step names and
// states, so the local runner and the cluster watchers (Argo, Tekton) feed
// it the same Events and get the same output. A run wires one Collector,
// which folds events into StepResults, and any number of other Observers
// (a Progress, say) together with Multi.
//
// The events of one step are expected in this order, with Attempt counting
// from 1:
//
//	Pending → Running(1) [→ Retrying(1) → Running(2) …] → Succeeded | Cached | Failed
//	Pending → Skipped | Cached | Failed   (decided without running)
//
// Retrying carries the number of the attempt that failed. Once a step is
// done, later non-final events for it are ignored, so a watcher that
// replays old state cannot move a step backwards.
package report
