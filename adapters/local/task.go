package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
)

// values gives the placeholders of node n their values in scope sc.
type values struct {
	r  *run
	n  *ir.Node
	sc *scope
}

var _ step.Values = values{}

// Value implements step.Values.
func (v values) Value(ref ir.Ref) (string, error) {
	switch ref.Kind {
	case ir.RefParam:
		val, ok := v.r.params[ref.Name]
		if !ok {
			return "", fmt.Errorf("parameter %q has no value", ref.Name)
		}
		return val.String(), nil
	case ir.RefStepParam:
		o := v.sc.get(ref.Step)
		if o == nil || o.params == nil {
			return "", fmt.Errorf("${{ %s }}: step %s has produced no outputs", ref, ref.Step)
		}
		val, ok := o.params[ref.Name]
		if !ok {
			return "", fmt.Errorf("${{ %s }}: step %s has no output %q", ref, ref.Step, ref.Name)
		}
		return val, nil
	case ir.RefItem:
		item := v.sc.item
		if item == nil {
			return "", fmt.Errorf("${{ %s }} outside forEach", ref)
		}
		s, err := item.ItemText(ref.Name)
		if err != nil {
			return "", fmt.Errorf("${{ %s }}: %w", ref, err)
		}
		return s, nil
	case ir.RefPipelineName:
		return v.r.p.Metadata.Name, nil
	case ir.RefPipelineRunID:
		return v.r.opts.RunID, nil
	case ir.RefPipelineStatus:
		return v.r.status, nil
	}
	return "", fmt.Errorf("${{ %s }} has no value here", ref)
}

// Artifact implements step.Values.
func (v values) Artifact(ref ir.Ref) (cache.ArtifactRef, error) {
	o := v.sc.get(ref.Step)
	if o == nil || o.artifacts == nil {
		return cache.ArtifactRef{}, fmt.Errorf("${{ %s }}: step %s has produced no artifacts", ref, ref.Step)
	}
	a, ok := o.artifacts[ref.Name]
	if !ok {
		return cache.ArtifactRef{}, fmt.Errorf("${{ %s }}: step %s did not produce it", ref, ref.Step)
	}
	return a, nil
}

// execute runs one command step with its retries.
func (r *run) execute(ctx context.Context, n *ir.Node, sc *scope, name string) *outcome {
	fail := func(attempt int, err error) *outcome {
		r.failed.Store(true)
		r.event(name, report.Failed, attempt, err.Error())
		return &outcome{state: report.Failed, msg: err.Error()}
	}
	t, err := step.Bind(n.Step, r.p.Metadata.Name, r.opts.RunID, name, values{r, n, sc})
	if err != nil {
		return fail(1, err)
	}
	r.mu.Lock()
	r.keys[name] = t.Key().String()
	r.mu.Unlock()
	limit := 0
	var backoff *ir.Backoff
	if n.Step.Retry != nil {
		limit, backoff = n.Step.Retry.Limit, n.Step.Retry.Backoff
	}
	for attempt := 1; ; attempt++ {
		res, err := r.attempt(ctx, t, name, attempt)
		if err == nil {
			st := report.Succeeded
			if res.Cached {
				st = report.Cached
			}
			r.mu.Lock()
			r.outputs[name] = res.Params
			r.mu.Unlock()
			r.event(name, st, attempt, strings.Join(res.Warnings, "; "))
			return &outcome{state: st, params: res.Params, artifacts: res.Artifacts}
		}
		if ctx.Err() != nil {
			return fail(attempt, fmt.Errorf("interrupted"))
		}
		var verr *step.VerifyError
		if attempt > limit || errors.As(err, &verr) {
			return fail(attempt, err)
		}
		delay := backoff.Delay(attempt)
		r.event(name, report.Retrying, attempt, fmt.Sprintf("%v; retry %d of %d in %s", err, attempt, limit, delay))
		select {
		case <-ctx.Done():
			return fail(attempt, fmt.Errorf("interrupted"))
		case <-time.After(delay):
		}
	}
}

// attempt runs the task once: a cache hit on the first attempt runs
// nothing and writes nothing; otherwise the resolved task is recorded and
// the command runs in a fresh scratch directory, its output going to a log
// file made at its first byte. The files touched per step are kept few: on
// some filesystems each costs as much as starting the command. Only the
// command itself holds one of the --parallel slots (see limited), so
// this bookkeeping overlaps with other steps' commands.
func (r *run) attempt(ctx context.Context, t *step.Task, name string, attempt int) (*step.Result, error) {
	if attempt == 1 {
		if res, ok := r.exec.Hit(ctx, t); ok {
			return res, nil
		}
		if err := r.tasks.add(t); err != nil {
			return nil, err
		}
	}
	r.event(name, report.Running, attempt, "")
	log := &lazyFile{path: LogPath(r.dir, name), append: attempt > 1}
	defer func() {
		if log.Close() == nil && log.f != nil {
			r.mu.Lock()
			r.logs[name] = log.path
			r.mu.Unlock()
		}
	}()
	if attempt > 1 {
		fmt.Fprintf(log, "--- sluice: attempt %d ---\n", attempt)
	}
	work := r.scratch.get(name, attempt)
	defer r.scratch.put(work)
	if r.exec.Verify {
		return r.exec.Execute(ctx, t, work, log, log)
	}
	return r.exec.Run(ctx, t, work, log, log)
}

// LogPath is where a step's log is in the run directory runDir. A step
// that printed nothing has none.
func LogPath(runDir, step string) string { return filepath.Join(runDir, "steps", step+".log") }

// TasksPath is the file, in runDir, of the resolved tasks of the steps that
// ran: one JSON object a line, in the order they started.
func TasksPath(runDir string) string { return filepath.Join(runDir, "tasks.jsonl") }

// FindTask returns the resolved task of the named step from a run's
// TasksPath, the last one recorded under that name.
func FindTask(runDir, name string) (*step.Task, error) {
	f, err := os.Open(TasksPath(runDir))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var found *step.Task
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var t step.Task
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("%s: %w", TasksPath(runDir), err)
		}
		if t.Name() == name {
			found = &t
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("step %q did not run in %s: %w", name, filepath.Base(runDir), os.ErrNotExist)
	}
	return found, nil
}

// taskLog appends resolved tasks to one file per run: one write each, no
// file made per step.
type taskLog struct {
	mu sync.Mutex
	f  *os.File
}

func (l *taskLog) add(t *step.Task) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err = l.f.Write(append(b, '\n'))
	return err
}

// lazyFile is a log file created at the first write.
type lazyFile struct {
	path   string
	append bool
	f      *os.File
	err    error
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil && l.err == nil {
		flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if l.append {
			flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		l.f, l.err = os.OpenFile(l.path, flags, 0o644)
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Write(p)
}

func (l *lazyFile) Close() error {
	if l.f == nil {
		return l.err
	}
	return l.f.Close()
}

// scratchDirs hands out the steps' scratch directories. Making and
// removing a directory are among the dearest things a step does on some
// filesystems (each a journal write, serialized on the parent), so a
// directory a step left empty is handed to the next step as it is.
type scratchDirs struct {
	dir   string // <run>/work
	keep  bool   // --keep-work: one named directory per attempt, kept
	later func(func() error)

	mu   sync.Mutex
	free []string
	n    int
}

func (s *scratchDirs) get(name string, attempt int) string {
	if s.keep {
		return filepath.Join(s.dir, fmt.Sprintf("%s.%d", name, attempt))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		d := s.free[n-1]
		s.free = s.free[:n-1]
		return d
	}
	s.n++
	return filepath.Join(s.dir, fmt.Sprint(s.n))
}

// put takes a directory back: reused if the step left it empty, removed
// in the background otherwise.
func (s *scratchDirs) put(d string) {
	if s.keep {
		return
	}
	f, err := os.Open(d)
	if err == nil {
		_, err = f.Readdirnames(1)
		f.Close()
		if err == io.EOF {
			s.mu.Lock()
			s.free = append(s.free, d)
			s.mu.Unlock()
			return
		}
	}
	s.later(func() error { return os.RemoveAll(d) })
}
