// Package cachedstep is the contract between the Tekton adapter, which
// writes CachedStep custom tasks into pipelines (sluice compile -t tekton
// --cache-plugin), and the controller that runs them (plugins/tekton):
// the custom task's group, version and kind, its spec, and what the
// controller reports in a CustomRun's status.
//
// A CachedStep stands where a command step's TaskRun would be. Its spec
// carries what that TaskRun would have had and Tekton does not put in a
// CustomRun: the Task (embedded, or by reference), the pod template and
// the Secret of the store's credentials. What Tekton does put in a
// CustomRun (the parameters, the service account, the timeout, the
// retries) is taken from there, as for any custom task.
//
// It holds types and pure functions only, so that the adapter, the
// controller and the tracker of runs share it without sharing each
// other's dependencies.
package cachedstep
