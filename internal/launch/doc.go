// Package launch is the in-pod launcher's logic, behind cmd/sluice-exec:
// it runs one step of a pipeline inside the step's own container, with the
// same code as the local runner (step.Bind, then step.Runner), so a cache
// hit means the same thing on every backend.
//
// It also owns the two things the engine adapters share with the
// launcher:
//
//   - Spec, the step as the adapter hands it over: the pipeline's name and
//     the ir.Step exactly as in the pipeline file, defaults applied,
//     encoded by Spec.Encode as standard base64 of canonical JSON. User
//     text therefore never goes through a field the engine templates.
//
//   - value refs, the stand-ins for output values that cannot travel
//     through the engine as they are (Inline says which can): the value is
//     stored as a blob and written as
//     cas://sha256/<hex>?kind=value&size=N. A consuming launcher fetches
//     every value passed in with that form (Bindings.Resolve).
//
// The command-line contract (flags, exit codes, log lines) is documented
// in cmd/sluice-exec.
//
// Launch never imports an engine's API or client-go, so the launcher stays
// a small static binary.
package launch
