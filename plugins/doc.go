// Package plugins holds Sluice's extension points.
//
// Subpackages:
//
//   - probe: the core of the engines' cache plugins. It looks a step up
//     in the shared cache before any pod exists, from the command line
//     the step's pod would run, with the launcher's own code.
//   - argo: the Argo Executor Plugin (`sluice plugin serve argo`), asked
//     by each cacheable step of a Workflow compiled with --cache-plugin;
//     argo/check is its contract with adapters/argo.
//   - tekton: the controller of the CachedStep custom task (`sluice
//     plugin serve tekton`), which completes a hit with no pod and runs a
//     miss as a TaskRun.
//   - store: the github.com/hashicorp/go-plugin protocol for cache stores
//     that run out of process, so a team can back Sluice's cache with its
//     own system without rebuilding Sluice
//     (--cache plugin:///path/to/binary?arg=…).
package plugins
