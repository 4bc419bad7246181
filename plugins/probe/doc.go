// Package probe looks a step up in the shared cache before any pod
// exists: the core that the engines' cache plugins share (the Argo
// executor plugin and the Tekton custom task controller).
//
// A probe takes the very command line the step's pod would run under the
// launcher (`sluice-exec run ...`, as the adapters write it) and decides
// with the launcher's own code (launch.Check: the same key function, the
// same store, the same entry format). So a hit recorded by a local run,
// by a launcher in a pod or by another engine is a hit here, and the
// outputs a hit returns are the texts the launcher would have written.
//
// A probe never fails a step: whatever goes wrong (a store that is down
// or slow, credentials that cannot be read, a malformed request) is a
// miss, with the reason, and the step runs as it would without the
// plugin.
package probe
