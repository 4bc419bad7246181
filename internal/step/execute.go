package step

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/ir"
)

// MaxParamSize bounds an output parameter's value; larger data belongs in
// an artifact.
const MaxParamSize = 1 << 20

// ExitError is a command that ran and failed.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return "exit code " + strconv.Itoa(e.Code) }

// VerifyError is a cache hit whose re-run, in verify mode, produced other
// outputs than the cache holds: the step is not deterministic.
type VerifyError struct{ Diffs []string }

func (e *VerifyError) Error() string {
	return "verify: outputs differ from the cached entry: " + strings.Join(e.Diffs, "; ")
}

// VerifyEnv switches verify mode on when set to 1 or true: cache hits run
// anyway and their outputs are compared with the cached ones.
const VerifyEnv = "SLUICE_CACHE_VERIFY"

// VerifyFromEnv reads VerifyEnv.
func VerifyFromEnv() bool {
	v, _ := strconv.ParseBool(os.Getenv(VerifyEnv))
	return v
}

// Secrets returns a secret's value; it is only ever put into the step's
// environment.
type Secrets func(ref ir.SecretRef) (string, error)

// Runner executes tasks against one store with one executor.
type Runner struct {
	Store   cache.Store
	Exec    Executor
	Secrets Secrets
	NoCache bool // neither read nor write the cache
	Verify  bool
	// ReadBack reads every artifact of a hit back against its digest, so
	// a corrupt blob is a miss here rather than a failed download in the
	// step that needs it. Cheap on a local disk; with a remote store it
	// would download every artifact on every hit, so the launcher leaves
	// it off and checks only that the blobs exist (consumers still verify
	// what they download).
	ReadBack bool
	// Defer, when set, is handed work that a step's readers need not wait
	// for — writing its cache entry — instead of doing it before Run
	// returns. The caller must wait for that work before it exits, and a
	// failure there costs a future cache miss, never the step.
	Defer func(work func() error)
	Now   func() time.Time
}

// Result is what one execution produced.
type Result struct {
	Key       cache.Key
	Cached    bool
	Params    map[string]string
	Artifacts map[string]cache.ArtifactRef
	// Warnings are cache problems that did not stop the step (a corrupt
	// entry or blob, treated as a miss).
	Warnings []string
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Lookup returns the valid cache entry for key, or nil: a missing, expired
// or incomplete entry (a blob gone or corrupt) is a miss.
func (r *Runner) Lookup(ctx context.Context, t *Task, key cache.Key) (*cache.Entry, []string) {
	if r.NoCache || !t.Cache {
		return nil, nil
	}
	e, err := r.Store.GetEntry(ctx, key)
	switch {
	case errors.Is(err, cache.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, []string{fmt.Sprintf("cache entry %s unusable, running the step: %v", key, err)}
	case e.Expired(t.TTL, r.now()):
		return nil, nil
	}
	check := r.Store.StatBlob
	if r.ReadBack {
		check = func(ctx context.Context, d cache.Digest) (int64, error) { return cache.VerifyBlob(ctx, r.Store, d) }
	}
	for name, a := range e.Artifacts {
		if _, err := check(ctx, a.Digest); err != nil {
			return nil, []string{fmt.Sprintf("cached artifact %s (%s) unusable, running the step: %v", name, a.Digest, err)}
		}
	}
	return e, nil
}

// Hit returns the recorded outputs when the task is a cache hit (and
// verify mode is off), without running anything.
func (r *Runner) Hit(ctx context.Context, t *Task) (*Result, bool) {
	if r.Verify {
		return nil, false
	}
	key := t.Key()
	e, _ := r.Lookup(ctx, t, key)
	if e == nil {
		return nil, false
	}
	return &Result{Key: key, Cached: true, Params: e.Params, Artifacts: e.Artifacts}, true
}

// Execute runs one task in the scratch directory root, which must be new
// (created if needed; each attempt gets its own): a cache hit returns the recorded outputs without running
// anything; a miss runs the command, stores its outputs and then, only if
// all of them were stored, the cache entry.
func (r *Runner) Execute(ctx context.Context, t *Task, root string, stdout, stderr io.Writer) (*Result, error) {
	key := t.Key()
	entry, warnings := r.Lookup(ctx, t, key)
	switch {
	case entry != nil && !r.Verify:
		return &Result{Key: key, Cached: true, Params: entry.Params, Artifacts: entry.Artifacts}, nil
	case entry != nil:
		// Verify mode: run the hit and compare; the entry stays as it is.
		res, err := r.run(ctx, t, root, stdout, stderr)
		if err != nil {
			return nil, err
		}
		if diffs := compareOutputs(entry, res); len(diffs) > 0 {
			return nil, &VerifyError{Diffs: diffs}
		}
		res.Key, res.Cached = key, true
		return res, nil
	}
	res, err := r.Run(ctx, t, root, stdout, stderr)
	if err != nil {
		return nil, err
	}
	res.Warnings = warnings
	return res, nil
}

func compareOutputs(e *cache.Entry, res *Result) []string {
	var diffs []string
	for name, v := range e.Params {
		if got := res.Params[name]; got != v {
			diffs = append(diffs, fmt.Sprintf("params.%s: cached %q, now %q", name, truncate(v), truncate(got)))
		}
	}
	for name, a := range e.Artifacts {
		if got := res.Artifacts[name]; got.Digest != a.Digest {
			diffs = append(diffs, fmt.Sprintf("artifacts.%s: cached %s, now %s", name, a.Digest, got.Digest))
		}
	}
	return diffs
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// Paths of a task's scratch directory.
//
// The command runs in root itself (its working directory and TMPDIR);
// inputs and outputs sit in hidden directories beside what it writes, so
// a step with neither costs one directory.
func inputPath(root, ref string) string { return filepath.Join(root, ".sluice-in", ref) }
func outputPath(root, ref string) string {
	kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "outputs."), ".")
	return filepath.Join(root, ".sluice-out", kind, name)
}

// Run runs a task that is known to miss: the command, then its outputs to
// the store and, if all of them were stored, the cache entry. Execute is
// Lookup then Run; a caller that has just asked Hit calls Run directly.
func (r *Runner) Run(ctx context.Context, t *Task, root string, stdout, stderr io.Writer) (*Result, error) {
	res, err := r.run(ctx, t, root, stdout, stderr)
	if err != nil {
		return nil, err
	}
	res.Key = t.Key()
	if r.NoCache || !t.Cache {
		return res, nil
	}
	entry := &cache.Entry{
		Key:        res.Key,
		Pipeline:   t.Pipeline,
		Step:       t.Step,
		Run:        t.Run,
		Created:    r.now().UTC(),
		Components: t.Components(),
		Params:     res.Params,
		Artifacts:  res.Artifacts,
	}
	write := func() error {
		if err := r.Store.PutEntry(context.WithoutCancel(ctx), entry); err != nil {
			return fmt.Errorf("write cache entry of %s: %w", t.Name(), err)
		}
		return nil
	}
	if r.Defer != nil {
		r.Defer(write)
		return res, nil
	}
	if err := write(); err != nil {
		return nil, err
	}
	return res, nil
}

func (r *Runner) run(ctx context.Context, t *Task, root string, stdout, stderr io.Writer) (*Result, error) {
	// Only the directories this task needs: a no-op step makes one.
	var dirs []string
	if len(t.Artifacts) > 0 {
		dirs = append(dirs, ".sluice-in")
	}
	if len(t.Outputs.Params) > 0 {
		dirs = append(dirs, ".sluice-out/params")
	}
	if len(t.Outputs.Artifacts) > 0 {
		dirs = append(dirs, ".sluice-out/artifacts")
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	for ref, a := range t.Artifacts {
		if err := cache.GetPath(ctx, r.Store, a, inputPath(root, ref)); err != nil {
			return nil, fmt.Errorf("fetch input %s: %w", ref, err)
		}
	}
	paths := func(ref string) (string, error) {
		var host string
		switch {
		case strings.HasPrefix(ref, "outputs."):
			host = outputPath(root, ref)
		case t.Artifacts[ref].Digest != (cache.Digest{}):
			host = inputPath(root, ref)
		default:
			return "", fmt.Errorf("no path for ${{ %s }}", ref)
		}
		return r.Exec.Path(root, host), nil
	}
	argv := make([]string, 0, len(t.Command)+len(t.Args))
	for _, x := range append(append([]Text(nil), t.Command...), t.Args...) {
		s, err := x.Expand(paths)
		if err != nil {
			return nil, err
		}
		argv = append(argv, s)
	}
	env := r.Exec.Env(root)
	for _, e := range t.Env {
		var val string
		var err error
		if e.Secret != nil {
			if r.Secrets == nil {
				return nil, fmt.Errorf("env %s: secret %s/%s: no secret source configured", e.Name, e.Secret.Name, e.Secret.Key)
			}
			val, err = r.Secrets(*e.Secret)
		} else {
			val, err = e.Value.Expand(paths)
		}
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		env = append(env, e.Name+"="+val)
	}
	dir := t.WorkingDir
	if dir == "" {
		dir = r.Exec.Path(root, root)
	}
	cctx := ctx
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	code, err := r.Exec.Run(cctx, &Cmd{Image: t.Image, Argv: argv, Env: env, Dir: dir, Root: root, Stdout: stdout, Stderr: stderr})
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return nil, fmt.Errorf("timed out after %s", t.Timeout)
	case err != nil:
		return nil, err
	case code != 0:
		return nil, &ExitError{Code: code}
	}
	return r.collect(ctx, t, root)
}

// collect reads the output parameters and stores the output artifacts.
func (r *Runner) collect(ctx context.Context, t *Task, root string) (*Result, error) {
	res := &Result{Params: map[string]string{}, Artifacts: map[string]cache.ArtifactRef{}}
	var errs []error
	for _, p := range t.Outputs.Params {
		v, err := readParam(outputPath(root, "outputs.params."+p.Name), p.Typ())
		if err != nil {
			errs = append(errs, fmt.Errorf("output params.%s: %w", p.Name, err))
			continue
		}
		res.Params[p.Name] = v
	}
	for _, a := range t.Outputs.Artifacts {
		path := outputPath(root, "outputs.artifacts."+a.Name)
		if _, err := os.Lstat(path); err != nil {
			errs = append(errs, fmt.Errorf("output artifacts.%s: the step did not write it", a.Name))
			continue
		}
		ref, err := cache.TakePath(ctx, r.Store, path)
		if err != nil {
			errs = append(errs, fmt.Errorf("store output artifacts.%s: %w", a.Name, err))
			continue
		}
		res.Artifacts[a.Name] = ref
	}
	return res, errors.Join(errs...)
}

// readParam reads an output parameter's file: one trailing newline is
// dropped, and typed values must parse as their type.
func readParam(path string, typ ir.ParamType) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New("the step did not write it")
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxParamSize+1))
	if err != nil {
		return "", err
	}
	if len(b) > MaxParamSize {
		return "", fmt.Errorf("larger than %d bytes: use an output artifact", MaxParamSize)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	s := string(b)
	if typ == ir.TypeString {
		return s, nil
	}
	v, err := ir.ParseValue(strings.TrimSpace(s), typ)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}
