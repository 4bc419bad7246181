// Command sluice-exec is Sluice's in-pod launcher: the engine adapters run
// each step's command under it, in the step's own container. It binds the
// step to the values the engine passes in, checks the cache, runs the
// command or short-circuits it, stores the outputs and the cache entry, and
// writes the output values where the engine reads them (Argo output
// parameter files, Tekton result files). It is a small static binary
// (CGO_ENABLED=0) that links no engine API, no client-go and no cobra; an
// init container copies it into a volume shared with the step's container,
// as Argo's emissary and Tekton's entrypoint are copied.
//
// # Commands
//
//	sluice-exec run --spec-b64 B64 --cache URL [flags] [-- LIST ELEMENTS...]
//	sluice-exec when --spec-b64 B64 --out-dir DIR [flags] [-- LIST ELEMENTS...]
//	sluice-exec cp SRC DST
//	sluice-exec version
//
// cp copies a file atomically with mode 0755, creating DST's directory:
// the init container runs `sluice-exec cp /sluice-exec /sluice/bin/sluice-exec`
// with the launcher image (the binary at /sluice-exec, its entrypoint).
//
// # run
//
//	--spec-b64 B64       the step: launch.Spec.Encode's output, standard
//	                     base64 of {"pipeline": NAME, "step": <ir.Step>},
//	                     the step exactly as in the pipeline, defaults
//	                     applied. Env SLUICE_SPEC_B64 when absent.
//	--spec FILE          the same from a file, as JSON or as base64.
//	--cache URL          the store, as cache.Open takes it: file:///abs/dir,
//	                     s3://bucket/prefix?... Env SLUICE_CACHE when absent.
//	--in KEY=VALUE       a runtime value, repeatable. KEY is a placeholder
//	                     expression of IR.md: params.NAME,
//	                     steps.S.outputs.params.NAME,
//	                     steps.S.outputs.artifacts.NAME, item, item.KEY,
//	                     pipeline.name, pipeline.runId, pipeline.status.
//	                     VALUE is the raw text, taken byte for byte; for an
//	                     artifact, its URI (cas://sha256/<hex>?kind=file|dir&size=N).
//	--in-b64 KEY=B64     the same, the value in standard base64: for text an
//	                     engine would rewrite on the way (Argo's {{, Tekton's
//	                     $() or that a command line cannot carry.
//	--in-list KEY=TYPE:N a loop's output read from outside the loop
//	                     (steps.S.outputs.params.NAME of type TYPE): the N
//	                     next arguments after "--", one per iteration,
//	                     become the JSON list the local runner makes
//	                     (elements of a string output as JSON strings,
//	                     others as JSON; value refs fetched first). Lists
//	                     take their arguments in the order of the flags.
//	--in-list-index KEY  the list KEY (an --in-list) comes in an order of
//	                     the engine's own (Tekton aggregates a matrix's
//	                     results sorted by TaskRun name, NAME-10 before
//	                     NAME-2): its N elements are followed by N more
//	                     arguments, the index of the iteration that wrote
//	                     each (its --index, its output index), and the
//	                     elements are put in the order of their indexes,
//	                     the items' order. The indexes must be distinct
//	                     numbers (gaps are fine: iterations left out).
//	--in-json-list KEY=TYPE:DEPTH:JSON
//	                     a loop's output as an engine aggregates it into
//	                     one JSON list (Argo): one element per succeeded
//	                     iteration, each the text written (a JSON string)
//	                     or embedded JSON; DEPTH is how many loops deep the
//	                     producer is (elements are lists at depth 2).
//	--index N            this execution is the iteration of its loop's
//	                     item N (from 0): written as the output index.
//	--in-item N:B64      the same for an item known at run time, as a
//	                     filter writes it (when --out kept): N, then the
//	                     item in standard base64, bound to ${{ item }} as
//	                     --in-b64 item=B64 binds it. Not with --index.
//	--out NAME=PATH      after success, write output NAME (params.X: the
//	                     value; artifacts.X: the artifact's URI; cached:
//	                     "true" after a cache hit, else "false"; index:
//	                     the iteration's index, --index or --in-item) to
//	                     PATH. Repeatable; NAME must be a declared output,
//	                     cached, or index with an index given.
//	--out-dir DIR        after success, write every output to DIR/params.X
//	                     and DIR/artifacts.X, cached to DIR/sluice-cached,
//	                     and the index, when given, to DIR/sluice-index.
//	--max-value-bytes N  longest value written inline (default 3072).
//	--max-total-bytes N  bound on all outputs together, for Tekton's
//	                     termination message (default 0: none).
//	--work DIR           the step's scratch directory, new or empty: the
//	                     command's working directory unless the step sets
//	                     workingDir (default: a temporary directory,
//	                     removed afterwards).
//	--run RUN            the run recorded in the cache entry (default: the
//	                     pipeline.runId value).
//	--id ID              display name of this execution, e.g. train[2].
//
// The iteration's index is not part of the step: two iterations with the
// same item are the same step, and the second is a cache hit (which
// writes its own index).
//
// pipeline.name defaults to the spec's pipeline and pipeline.runId to
// --run. item is used as given; item.KEY, unless passed itself, is the
// field KEY of item read as a JSON object. Placeholders for paths
// (inputs.*, outputs.*, and the local path of steps.S.outputs.artifacts.X)
// are the launcher's to resolve and cannot be passed in.
//
// # when
//
// when decides a step's `when` condition where the engine's own cannot
// keep IR semantics (numbers compared as numbers; values are operands,
// never expression text). --spec-b64 is the step's condition, encoded as
// a run spec is: {"pipeline", "step": {"name", "when", "forEach"?}}; the
// values come with the value flags of run (--cache only when one is a
// value ref). It writes "true" or "false" to --out when=PATH (or
// DIR/sluice-when with --out-dir) and stdout, and exits 0. For a loop
// (the spec has forEach) it takes the items (the literal list, or the
// value of the items' placeholder, ${{ item }} being the enclosing
// loop's item passed in), keeps those for which the when holds with
// ${{ item }} bound to each (all without a when), and writes their texts
// as a JSON list of standard base64 strings to --out items=PATH (or
// DIR/sluice-items): the engine fans out over it and hands each back with
// --in-b64 item=…; "true" when at least one is kept. --out kept=PATH (or
// DIR/sluice-kept) is the same list with each item's index among all
// the loop's items, "N:B64", handed back with --in-item N:B64 (the
// iteration then writes its index, by which its outputs are put in item
// order: see --in-list-index); --out runs=PATH (DIR/sluice-runs) is
// whether each item runs, [false,true,…], and --out iterations=PATH
// (DIR/sluice-iterations) every item with that verdict. The value flags
// are those of run less --index and --in-item: a condition is no
// iteration. A condition that cannot be decided (a value that is not
// true/false where one is needed, items that are not a list) exits 64.
//
// # Values that cannot travel inline
//
// An output value is written as it is only when it is at most
// --max-value-bytes long and survives every engine unchanged: valid
// UTF-8, no trailing newline, no `{{` or `$(`, not starting with cas://.
// Otherwise it is stored in the store as a blob and the text written is a
// value ref, cas://sha256/<hex>?kind=value&size=N. Every --in VALUE of
// that form is fetched from the store and replaced by its content, so
// refs round-trip through the engine invisibly. Engines only ever see
// refs as opaque strings: a value that an engine itself must read (a
// `when` it evaluates, a list it fans out over) must stay inline.
//
// # What happens
//
// The step is bound (step.Bind) to the values passed in and its cache key
// computed (cache.ComputeKey, the same key as the local runner's). On a
// hit the recorded outputs are written and nothing runs; stderr gets one
// line:
//
//	sluice-exec: cache hit <key> (run <run>)
//
// On a miss the input artifacts are fetched, the command runs (the image
// is the container's own), its stdout and stderr are the launcher's, its
// outputs are stored, then the cache entry (only if every output was
// stored), then the output files. The command starts from the container's
// environment (less SLUICE_SPEC_B64 and SLUICE_CACHE) plus the step's env;
// a secret variable is read from the container's variable of that name,
// which the adapter maps with a secretKeyRef. The working directory is
// the step's workingDir, else the scratch directory, as on every backend
// (not the image's WORKDIR).
//
// SIGTERM or SIGINT stops the command's whole process group: SIGTERM,
// then SIGKILL after step.Grace (5s). No outputs and no entry are written.
//
// # Exit codes
//
//	0        success (hit or miss): outputs written
//	N        the command's own exit code (128+n if a signal killed it);
//	         nothing written
//	64       bad invocation: flags, spec, --in, --out; nothing ran
//	69       the store could not be opened, or an input not fetched;
//	         nothing ran
//	74       outputs could not be read, stored or written
//	124      the step's timeout stopped the command
//	127      the command could not be started
//	128+n    the launcher received signal n (143 for SIGTERM)
//
// A non-zero exit whose last stderr line starts with "sluice-exec: error:"
// is the launcher's own; any other is the command's. Informational lines
// start with "sluice-exec: " too (cache hit, warning), never with
// "sluice-exec: error:".
package main
