// Package tekton translates a pipeline into Tekton Pipelines v1 objects:
// by default one PipelineRun with its Pipeline and Tasks embedded
// (pipelineSpec, taskSpec), or, for pipelines kept in Git, separate Tasks,
// a Pipeline and a PipelineRun that references them (EmitPipeline).
//
// Translation is pure: Compile reads a validated ir.Pipeline and the
// parameters' values and returns typed objects, with no client, clock or
// randomness. Validate runs Tekton's own defaulting and validation on
// them.
//
// Every command step runs under the launcher (cmd/sluice-exec): a first
// step copies it from the launcher image into a volume shared with the
// step's own container, which runs `sluice-exec run` with the step, all of
// the user's text, as base64 (--spec-b64). Tekton therefore never sees
// user text in a field it substitutes `$(…)` in (upstream issue #4931:
// there is no escape): values known at compile time go on the command line
// as they are, or base64-encoded (--in-b64) when they hold `$(`; values
// known at run time come from task results, which the launcher writes
// without `$(` (it stores such values and passes a value ref instead).
//
// Skips follow the pipeline's semantics, not Tekton's: a step whose
// condition is false is skipped, the steps that need its outputs are
// skipped too, and the steps that only come after it run. Tekton skips the
// dependents of a task that was skipped for any reason other than its own
// `when`, so every skip is made a `when` skip: each task carries, as
// `when` expressions, every condition its inputs depend on (see guards).
//
// A loop over one step is a matrix. Tekton aggregates a matrix's results
// for its readers sorted by TaskRun name (NAME-10 before NAME-2), not in
// item order, so each TaskRun also writes its item's index (sluice-index,
// from its combination or with a filter's item), its readers get the
// indexes aggregated the same way, and their launcher puts the list back
// in item order (--in-list-index).
//
// With Options.CachePlugin, each cacheable step is a CachedStep custom
// task (plugins/tekton/cachedstep) that carries the Task and pod template
// its TaskRun would have had; Sluice's controller (plugins/tekton)
// completes it from the cache without a pod, or runs that TaskRun. A loop
// over one step is one CachedStep whose controller runs the iterations
// (cachedstep.Loop), not a matrix. The tracker reads a CachedStep's
// CustomRun as its step, a loop's as its iterations.
//
// docs/tekton.md describes the output, the feature flags it needs and
// what is not supported.
package tekton
