package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/report"
)

// clusterRun is one run on a cluster, as submit, status and logs use it,
// whatever its engine: each cluster target makes its own (engineRun).
type clusterRun interface {
	id() runID
	// read returns the run's state now.
	read(ctx context.Context) (runState, error)
	// watch follows the run until it ends, passing each step's changes
	// to obs, and returns its final state.
	watch(ctx context.Context, obs report.Observer) (runState, error)
	// stop asks the engine to stop the run.
	stop(ctx context.Context) error
	// logs writes the log of step (a step's name or display name, ""
	// for every step) to w; with follow, until the steps end.
	logs(ctx context.Context, step string, follow bool, w io.Writer) error
}

// runID names a run and says how its engine's own tools handle it.
type runID struct {
	target   string // the cluster target: "argo"
	kind     string // the engine's object: "workflow"
	ns, name string
	// stopHint is how to stop the run by hand; stopNote, what stopping
	// it does.
	stopHint, stopNote string
}

// runState is what a run's engine says of it, summed up.
type runState struct {
	sum     *report.Summary
	ended   bool
	ok      bool   // it ended and succeeded
	phase   string // the engine's word for its state: "Running", "Failed"
	message string // what the engine says of its state, if anything
}

// engineRun is a clusterRun made of an engine's calls over S, the
// engine's state of a run (a Workflow; a PipelineRun with its TaskRuns).
type engineRun[S any] struct {
	runID
	get    func(ctx context.Context) (S, error)
	follow func(ctx context.Context, obs report.Observer) (S, error)
	state  func(S) runState
	cancel func(ctx context.Context) error
	// logsOf writes logs as clusterRun.logs does, from the state s; nil
	// when they cannot be read here, and noLogs says why.
	logsOf func(ctx context.Context, s S, step string, follow bool, w io.Writer) error
	noLogs string
}

var _ clusterRun = (*engineRun[any])(nil)

func (r *engineRun[S]) id() runID { return r.runID }

func (r *engineRun[S]) read(ctx context.Context) (runState, error) {
	s, err := r.get(ctx)
	if err != nil {
		return runState{}, err
	}
	return r.state(s), nil
}

func (r *engineRun[S]) watch(ctx context.Context, obs report.Observer) (runState, error) {
	s, err := r.follow(ctx, obs)
	if err != nil {
		return runState{}, err
	}
	return r.state(s), nil
}

func (r *engineRun[S]) stop(ctx context.Context) error { return r.cancel(ctx) }

func (r *engineRun[S]) logs(ctx context.Context, step string, follow bool, w io.Writer) error {
	if r.logsOf == nil {
		return errors.New(r.noLogs)
	}
	s, err := r.get(ctx)
	if err != nil {
		return err
	}
	return r.logsOf(ctx, s, step, follow, w)
}

// findRun opens the named run on the cluster target asked for; with
// none, on the only one, or on the first that has a run of that name.
func findRun(ctx context.Context, target string, c *connFlags, name string) (clusterRun, error) {
	names := clusterTargetNames()
	if target != "" || len(names) == 1 {
		ct, err := clusterTargetFor(target)
		if err != nil {
			return nil, err
		}
		return ct.open(ctx, c, name)
	}
	var missed []error
	for _, n := range names {
		t, _ := clusterTargets.get(n)
		run, err := t.open(ctx, c, name)
		var usage *usageError
		switch {
		case err == nil:
			return run, nil
		case kube.IsNotFound(err), errors.As(err, &usage):
			missed = append(missed, fmt.Errorf("%s: %w", n, err))
		default:
			return nil, err
		}
	}
	return nil, fmt.Errorf("run %q: not on %s (name one with -t): %w", name, strings.Join(names, " or "), errors.Join(missed...))
}

type followOptions struct {
	logs   bool
	junit  string
	cancel bool
}

// follow follows a run with the progress table until it ends, and
// mirrors its result: errSilent when it failed. On Ctrl-C it leaves the
// run going and says how to follow or stop it, or with fo.cancel stops
// it.
func follow(ctx context.Context, run clusterRun, fo followOptions, stdout, stderr io.Writer) error {
	f, _ := stdout.(*os.File)
	tty := f != nil && report.IsTerminal(f) && !fo.logs // log lines and a redrawn table do not mix
	// The table's lines and the logs' go to stdout from several
	// goroutines: one line at a time.
	out := &lockedWriter{w: stdout}
	progress := report.NewProgress(out, tty)
	var logsDone sync.WaitGroup
	var obs report.Observer = progress
	if fo.logs {
		obs = report.Multi(progress, streamLogs(ctx, run, out, &logsDone))
	}
	st, err := run.watch(ctx, obs)
	logsDone.Wait()
	progress.Close()
	id := run.id()
	if ctx.Err() != nil {
		return interrupted(run, fo.cancel, stderr)
	}
	if err != nil {
		return err
	}
	sum := st.sum
	if fo.junit != "" {
		if err := writeFileAtomic(fo.junit, func(w io.Writer) error { return report.WriteJUnit(w, sum) }); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	fmt.Fprintf(stdout, "%s: %s in %s (run %s/%s)\n", sum.Pipeline, sum.Status, sum.Duration().Round(time.Second), id.ns, id.name)
	printFailures(stderr, sum)
	if !st.ok {
		if st.message != "" {
			fmt.Fprintf(stderr, "%s %s: %s\n", id.kind, st.phase, st.message)
		}
		return errSilent
	}
	return nil
}

// interrupted stops the run when asked to, or says how to follow or stop
// it, and returns errInterrupted.
func interrupted(run clusterRun, stop bool, stderr io.Writer) error {
	id := run.id()
	if !stop {
		fmt.Fprintf(stderr, "interrupted: run %s/%s goes on without us\n"+
			"  follow it: sluice status %s -t %s -n %s --wait\n"+
			"  stop it:   %s\n",
			id.ns, id.name, id.name, id.target, id.ns, id.stopHint)
		return errInterrupted
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run.stop(ctx); err != nil {
		return fmt.Errorf("interrupted, and could not stop run %s: %w", id.name, err)
	}
	fmt.Fprintf(stderr, "interrupted: stopping run %s/%s (%s)\n", id.ns, id.name, id.stopNote)
	return errInterrupted
}

// streamLogs is an Observer that starts streaming a step's log when the
// step starts running, each line prefixed with the step's name. Steps
// stream at once: out must take their lines from several goroutines.
func streamLogs(ctx context.Context, run clusterRun, out io.Writer, wg *sync.WaitGroup) report.Observer {
	var mu sync.Mutex
	started := map[string]bool{}
	return report.ObserverFunc(func(e report.Event) {
		if e.State != report.Running && !e.State.Done() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if started[e.Step] || e.State == report.Skipped {
			return
		}
		started[e.Step] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The pod shows up in the run a moment before it can be read.
			pw := &prefixWriter{w: out, prefix: "[" + e.Step + "] "}
			defer pw.flush()
			for range 10 {
				err := run.logs(ctx, e.Step, true, pw)
				if err == nil || ctx.Err() != nil {
					return
				}
				time.Sleep(time.Second)
			}
		}()
	})
}

// lockedWriter writes for several goroutines, one write at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter writes whole lines, each with the prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := p.w.Write(append([]byte(p.prefix), p.buf[:i+1]...)); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
}

// flush writes a last line that has no newline.
func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		_, _ = p.w.Write(append(append([]byte(p.prefix), p.buf...), '\n'))
		p.buf = nil
	}
}
