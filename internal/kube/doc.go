// Package kube is the Kubernetes client plumbing that the cluster
// adapters share (Argo, Tekton): loading the client configuration as
// kubectl does (--kubeconfig, --context, -n, or the in-cluster config),
// retrying API calls that fail for passing reasons (409 conflicts, 429,
// 5xx, dropped connections) with backoff, creating, reading, patching
// and following an engine's objects across dropped watches (Objects,
// over any generated typed client), streaming a container's log and a
// run's step logs, and explaining the launcher's exit codes in an
// engine's message.
//
// It knows no engine: no Argo or Tekton type appears here, so either
// adapter can use it without importing the other's API. kubetest plays
// the API server's faults on the fake clientsets, for both adapters'
// tests.
package kube
