package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
)

// The environment variables the launcher reads when the flags are absent.
const (
	SpecEnv  = "SLUICE_SPEC_B64" // the spec, as --spec-b64
	CacheEnv = "SLUICE_CACHE"    // the store URL, as --cache
)

// Exit codes of the launcher's own failures, from sysexits.h: apart from
// what commands commonly return (1, 2, 126, 127, 128+n). Whenever the
// launcher exits with one of these, or with ExitTimeout, ExitNotRun or
// 128+n for a signal it received, its last line on stderr starts with
// "sluice-exec: error:". Any other exit code is the command's own.
const (
	// ExitUsage: bad flags, spec, --in or --out; nothing ran.
	ExitUsage = 64
	// ExitUnavailable: the store could not be opened, or an input (a
	// value ref, an input artifact) could not be fetched; nothing ran.
	ExitUnavailable = 69
	// ExitOutputs: the command succeeded (or the step was a cache hit)
	// but its outputs could not be read, stored or written. No cache
	// entry was written by this launch.
	ExitOutputs = 74
	// ExitTimeout: the step's timeout stopped the command, as timeout(1).
	ExitTimeout = 124
	// ExitNotRun: the command could not be started (not found, not
	// executable), as a shell reports it.
	ExitNotRun = 127
)

// Error is a failure of the launcher itself, with its exit code.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(code int, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Interrupted is the cause of a launch canceled by a signal, given to
// context.WithCancelCause. The launch then fails with exit code 128+n.
type Interrupted struct{ Signal syscall.Signal }

func (i *Interrupted) Error() string { return "interrupted by " + i.Signal.String() }

// CachedFile is the file in --out-dir that says "true" after a cache hit
// and "false" after a run.
const CachedFile = "sluice-cached"

// Request is one launch of one step.
type Request struct {
	Spec *Spec
	In   *Bindings
	// Outs and OutDir say where to write the outputs after success.
	Outs   []Out
	OutDir string
	// Store is the store's URL, as cache.Open takes it.
	Store string
	// Work is the step's scratch directory, new or empty: the command's
	// working directory (unless the step sets one), beside hidden
	// directories for its inputs and outputs. When empty, a temporary
	// directory that is removed afterwards.
	Work   string
	Limits Limits
	// Run is the run the step belongs to, recorded in the cache entry; it
	// defaults to the pipeline.runId binding, and is that binding's
	// default.
	Run string
	// ID is the display name of this execution ("train[2]").
	ID string
	// Environ is the container's environment.
	Environ []string
	// Verify re-runs cache hits and compares their outputs (step.VerifyEnv).
	Verify bool
	// Stdout and Stderr take the command's output; Stderr also takes the
	// launcher's own lines, prefixed "sluice-exec: ".
	Stdout, Stderr io.Writer
}

// Response is what a successful launch did.
type Response struct {
	Key    cache.Key
	Cached bool
	// Run is, for a hit, the run that wrote the entry.
	Run string
	// Outputs are the texts written for the outputs, by name
	// ("params.X", "artifacts.X").
	Outputs map[string]string
}

// Run launches one step: it binds the step to the values passed in, runs
// it through step.Runner (a cache hit runs nothing) and writes its
// outputs. A failure is an *Error, or the command's *step.ExitError.
func Run(ctx context.Context, req *Request) (*Response, error) {
	spec := req.Spec
	stderr := req.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	outputs := ir.Outputs{}
	if spec.Step.Outputs != nil {
		outputs = *spec.Step.Outputs
	}
	if err := checkOuts(req.Outs, outputs); err != nil {
		return nil, &Error{Code: ExitUsage, Err: err}
	}
	lim := req.Limits
	if lim.MaxValue <= 0 {
		lim.MaxValue = DefaultMaxValueBytes
	}
	store, err := cache.Open(ctx, req.Store)
	if err != nil {
		return nil, &Error{Code: ExitUnavailable, Err: err}
	}
	in := req.In
	if in == nil {
		in, _ = ParseBindings(nil)
	}
	runID := req.Run
	if runID == "" {
		runID, _ = in.Lookup(ir.Ref{Kind: ir.RefPipelineRunID})
	}
	in.SetDefault(ir.Ref{Kind: ir.RefPipelineName}, spec.Pipeline)
	if runID != "" {
		in.SetDefault(ir.Ref{Kind: ir.RefPipelineRunID}, runID)
	}
	if err := in.Resolve(ctx, store); err != nil {
		return nil, interrupted(ctx, &Error{Code: ExitUnavailable, Err: err})
	}
	id := req.ID
	if id == "" {
		id = spec.Step.Name
	}
	task, err := step.Bind(&spec.Step, spec.Pipeline, runID, id, in)
	if err == nil {
		err = task.Validate()
	}
	if err != nil {
		return nil, fail(ExitUsage, "step %s: %w", spec.Step.Name, err)
	}
	environ := stepEnviron(req.Environ)
	ex := &podExecutor{environ: environ}
	runner := &step.Runner{
		Store:   store,
		Exec:    ex,
		Secrets: envSecrets(&spec.Step, environ),
		Verify:  req.Verify,
	}
	resp := &Response{Key: task.Key()}
	var res *step.Result
	if !runner.Verify {
		e, warnings := runner.Lookup(ctx, task, resp.Key)
		for _, w := range warnings {
			fmt.Fprintf(stderr, "sluice-exec: warning: %s\n", w)
		}
		if e != nil {
			res = &step.Result{Key: resp.Key, Cached: true, Params: e.Params, Artifacts: e.Artifacts}
			resp.Run = e.Run
			run := e.Run
			if run == "" {
				run = "unknown"
			}
			fmt.Fprintf(stderr, "sluice-exec: cache hit %s (run %s)\n", resp.Key, run)
		}
	}
	if res == nil {
		if ctx.Err() != nil {
			return nil, interrupted(ctx, nil)
		}
		res, err = execute(ctx, req, runner, ex, task, stderr)
		if err != nil {
			return nil, err
		}
	}
	resp.Cached = res.Cached
	texts, err := render(ctx, store, outputs, res, lim)
	if err == nil {
		err = writeOutputs(texts, req.Outs, req.OutDir, strconv.FormatBool(res.Cached))
	}
	if err != nil {
		return nil, interrupted(ctx, fail(ExitOutputs, "write outputs: %w", err))
	}
	resp.Outputs = texts
	return resp, nil
}

// execute runs the task in its scratch directory and sorts a failure into
// the command's and the launcher's own.
func execute(ctx context.Context, req *Request, runner *step.Runner, ex *podExecutor, task *step.Task, stderr io.Writer) (*step.Result, error) {
	work := req.Work
	if work == "" {
		dir, err := os.MkdirTemp("", "sluice-exec-")
		if err != nil {
			return nil, fail(ExitUnavailable, "scratch directory: %w", err)
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	// As the local runner does: Run after a lookup that missed, Execute
	// (which runs and compares a hit) in verify mode.
	run := runner.Run
	if runner.Verify {
		run = runner.Execute
	}
	res, err := run(ctx, task, work, req.Stdout, stderr)
	var exit *step.ExitError
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() != nil:
		return nil, interrupted(ctx, nil)
	case errors.As(err, &exit):
		return nil, exit
	case ex.timedOut:
		return nil, &Error{Code: ExitTimeout, Err: err}
	case ex.notRun:
		return nil, fail(ExitNotRun, "start command: %w", err)
	case !ex.started:
		return nil, fail(ExitUnavailable, "prepare step: %w", err)
	}
	return nil, fail(ExitOutputs, "step outputs: %w", err)
}

// interrupted returns the failure of a launch whose context ended (a
// signal), or else err.
func interrupted(ctx context.Context, err *Error) error {
	if ctx.Err() == nil {
		if err == nil {
			return nil
		}
		return err
	}
	var sig *Interrupted
	if errors.As(context.Cause(ctx), &sig) {
		return &Error{Code: 128 + int(sig.Signal), Err: sig}
	}
	return &Error{Code: 128 + int(syscall.SIGTERM), Err: context.Cause(ctx)}
}
