// Package conformance plays one suite of cases on every backend and says,
// case by case, whether each backend did what the pipeline says.
//
// A case (cases/NAME.txtar) is a pipeline file plus what must come of it:
// the run's final status; each step's state (Succeeded, Cached, Skipped,
// Failed) and output values; order constraints; and what a second run
// must take from the cache. Cases are black boxes: they know nothing of
// any backend. A backend is one small interface (Backend): run a pipeline,
// report its summary. Local runs in this process; the Argo and Tekton
// backends submit to a cluster through a kubeconfig.
//
//	go test ./conformance                       # every case on local
//	go test ./conformance -tags conformance     # and on the backends of $SLUICE_CONFORMANCE
//	sluice conformance --backend local,argo,tekton --kubeconfig …
//
// The matrix, case × backend, has a reason for every red cell; a backend
// that could not be reached is a red column with its reason, never a
// silent skip.
package conformance
