// Package argo is Sluice's Argo Executor Plugin: the HTTP server that
// Argo's agent calls (POST /api/v1/template.execute) for each plugin node
// of a Workflow, from a sidecar of the Workflow's agent pod.
//
// A Workflow compiled with the cache plugin (adapters/argo,
// Options.CachePlugin) runs each cacheable step as a check, a plugin
// template whose value is {sluice-cache: {args, secret}}, before its
// container. The plugin looks the step up with plugins/probe, on the very
// launcher arguments the container would get, and answers:
//
//   - a hit: the node Succeeded with every output of the step and
//     sluice-cached "true"; the Workflow then skips the container, so the
//     step starts no pod;
//   - a miss: the node Succeeded with no output (sluice-fault, with the
//     reason, when a fault and not the step's absence caused it); the
//     container runs and the launcher decides as it always does.
//
// A probe never fails a step: a store that is down or slow, credentials
// that cannot be read, a request that cannot be read, all become misses,
// with the reason in the node's message. A request that is not Sluice's
// (another plugin's template) gets {}, Argo's "not mine".
//
// The agent authenticates with a bearer token it also writes to the
// sidecar's /var/run/argo/token; any other caller gets 403. `sluice
// plugin serve argo` runs the server; `sluice install argo-plugin` prints
// the ExecutorPlugin ConfigMap and the RBAC it needs. docs/argo.md
// ("Cache plugin") describes how the parts fit.
package argo
