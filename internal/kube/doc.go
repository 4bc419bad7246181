// Package kube is the Kubernetes client plumbing that the cluster
// adapters share (Argo now, Tekton later): loading the client
// configuration as kubectl does (--kubeconfig, --context, -n, or the
// in-cluster config), retrying API calls that fail for passing reasons
// (409 conflicts, 429, 5xx, dropped connections) with backoff, keeping a
// watch open across drops, and streaming a container's log.
//
// It knows no engine: no Argo or Tekton type appears here, so either
// adapter can use it without importing the other's API.
package kube
