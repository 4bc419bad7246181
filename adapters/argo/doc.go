// Package argo runs Sluice pipelines on Argo Workflows.
//
// Compile translates an ir.Pipeline into a typed Workflow
// (argo-workflows/v3 v1alpha1): a pure function, with no client, clock or
// randomness. Every command step runs under the launcher (sluice-exec),
// copied into the step's pod by an init container; the step itself
// travels base64-encoded in the launcher's spec, so no text of the user's
// goes through a field that Argo substitutes {{…}} in. Groups are nested
// DAG templates, loops fan out with withItems or withParam, and `when`
// conditions are decided by the launcher in a task of their own, since
// Argo's own `when` parses substituted values as expression text.
//
// With Options.CachePlugin, each cacheable step runs as a small DAG: a
// check that Sluice's Executor Plugin (plugins/argo) answers from the
// cache before any pod exists, then the step's container unless the
// check hit (plugin.go).
//
// Client, Watch and the Server type submit Workflows, follow them and
// read their logs, through Argo's clientset (with internal/kube for
// kubeconfig, retries and pod logs) or the Argo Server's REST API.
//
// docs/argo.md describes the design: templates, conditions, literal
// safety, cached steps, the cache plugin and sizes.
package argo
