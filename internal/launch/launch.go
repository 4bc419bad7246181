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

// IndexFile is the file in --out-dir that holds the index of the item
// whose iteration the execution is (--index, --in-item).
const IndexFile = "sluice-index"

// Request is one launch of one step.
type Request struct {
	Spec *Spec
	In   *Bindings
	// Outs and OutDir say where to write the outputs after success.
	Outs   []Out
	OutDir string
	// Store is the store's URL, as cache.Open takes it.
	Store string
	// Open, when set, opens Store instead of cache.Open: a long-lived
	// caller (a cache plugin) keeps its stores open between requests.
	Open func(ctx context.Context, url string) (cache.Store, error)
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
	// ("params.X", "artifacts.X"). Check leaves them empty on a miss.
	Outputs map[string]string
	// Warnings say why an entry that was found could not be used.
	Warnings []string
}

// bound is a launch's step bound to its runtime values, with its store
// open: what Run and Check share.
type bound struct {
	store   cache.Store
	task    *step.Task
	outputs ir.Outputs
	lim     Limits
	index   string // the iteration's index; "" outside a loop
}

// bindStep opens the store, resolves the values passed in and binds the step
// to them, as the local runner binds a step to its upstream outputs.
func bindStep(ctx context.Context, req *Request) (*bound, error) {
	spec := req.Spec
	b := &bound{lim: req.Limits}
	if spec.Step.Outputs != nil {
		b.outputs = *spec.Step.Outputs
	}
	in := req.In
	if in == nil {
		in, _ = ParseBindings(nil)
	}
	i, indexed := in.Index()
	if indexed {
		b.index = strconv.Itoa(i)
	}
	if err := checkOuts(req.Outs, b.outputs, indexed); err != nil {
		return nil, &Error{Code: ExitUsage, Err: err}
	}
	if b.lim.MaxValue <= 0 {
		b.lim.MaxValue = DefaultMaxValueBytes
	}
	open := req.Open
	if open == nil {
		open = cache.Open
	}
	store, err := open(ctx, req.Store)
	if err != nil {
		return nil, &Error{Code: ExitUnavailable, Err: err}
	}
	b.store = store
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
	b.task = task
	return b, nil
}

// lookup returns the step's recorded result, or nil on a miss.
func (b *bound) lookup(ctx context.Context, runner *step.Runner, resp *Response) *step.Result {
	e, warnings := runner.Lookup(ctx, b.task, resp.Key)
	resp.Warnings = warnings
	if e == nil {
		return nil
	}
	resp.Run = e.Run
	return &step.Result{Key: resp.Key, Cached: true, Params: e.Params, Artifacts: e.Artifacts}
}

// Check looks the step up in the store without running anything: what an
// engine's cache plugin does before any pod exists. On a hit the response
// holds the texts of the outputs, exactly as Run would write them; on a
// miss (Cached false) it holds none. Verify mode is a miss: the step must
// run to be compared. It writes no file.
func Check(ctx context.Context, req *Request) (*Response, error) {
	b, err := bindStep(ctx, req)
	if err != nil {
		return nil, err
	}
	resp := &Response{Key: b.task.Key()}
	if req.Verify {
		return resp, nil
	}
	res := b.lookup(ctx, &step.Runner{Store: b.store}, resp)
	if res == nil {
		return resp, nil
	}
	texts, err := render(ctx, b.store, b.outputs, res, b.lim)
	if err != nil {
		return nil, interrupted(ctx, fail(ExitOutputs, "outputs of the hit: %w", err))
	}
	resp.Cached, resp.Outputs = true, texts
	return resp, nil
}

// Run launches one step: it binds the step to the values passed in, runs
// it through step.Runner (a cache hit runs nothing) and writes its
// outputs. A failure is an *Error, or the command's *step.ExitError.
func Run(ctx context.Context, req *Request) (*Response, error) {
	stderr := req.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	b, err := bindStep(ctx, req)
	if err != nil {
		return nil, err
	}
	environ := stepEnviron(req.Environ)
	ex := &podExecutor{environ: environ}
	runner := &step.Runner{
		Store:   b.store,
		Exec:    ex,
		Secrets: envSecrets(&req.Spec.Step, environ),
		Verify:  req.Verify,
	}
	resp := &Response{Key: b.task.Key()}
	var res *step.Result
	if !runner.Verify {
		res = b.lookup(ctx, runner, resp)
		for _, w := range resp.Warnings {
			fmt.Fprintf(stderr, "sluice-exec: warning: %s\n", w)
		}
		if res != nil {
			run := resp.Run
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
		res, err = execute(ctx, req, runner, ex, b.task, stderr)
		if err != nil {
			return nil, err
		}
	}
	resp.Cached = res.Cached
	texts, err := render(ctx, b.store, b.outputs, res, b.lim)
	if err == nil {
		err = writeOutputs(texts, req.Outs, req.OutDir, strconv.FormatBool(res.Cached), b.index)
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
