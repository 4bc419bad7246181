package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
)

// Options configure a local run.
type Options struct {
	Store    cache.Store
	Executor step.Executor // step.Process{} when nil
	Parallel int           // commands at once; runtime.NumCPU() when 0
	NoCache  bool
	Verify   bool
	RunsDir  string // where run directories go; ".sluice/runs" when empty
	RunID    string // generated when empty
	Observer report.Observer
	Secrets  step.Secrets // SecretsFrom(".sluice/secrets") when nil
	// KeepWork keeps each step's scratch directory after the run.
	KeepWork bool
}

// ErrInterrupted is returned when the run was stopped from outside (Ctrl-C).
var ErrInterrupted = errors.New("run interrupted")

// Run runs the pipeline with the given parameter values and returns its
// summary. The summary's Status says whether the pipeline succeeded; the
// error is for a run that could not be carried out or was interrupted.
func Run(ctx context.Context, p *ir.Pipeline, params map[string]ir.Value, opts Options) (*report.Summary, error) {
	if opts.Executor == nil {
		opts.Executor = step.Process{}
	}
	if opts.Parallel <= 0 {
		opts.Parallel = runtime.NumCPU()
	}
	if opts.RunsDir == "" {
		opts.RunsDir = filepath.Join(".sluice", "runs")
	}
	if opts.Secrets == nil {
		opts.Secrets = SecretsFrom(filepath.Join(".sluice", "secrets"))
	}
	if opts.RunID == "" {
		opts.RunID = NewRunID(time.Now())
	}
	dir, err := filepath.Abs(filepath.Join(opts.RunsDir, opts.RunID))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "steps"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "work"), 0o755); err != nil {
		return nil, err
	}
	sem := make(chan struct{}, opts.Parallel)
	col := report.NewCollector()
	obs := report.Observer(col)
	if opts.Observer != nil {
		obs = report.Multi(col, opts.Observer)
	}
	r := &run{
		p:      p,
		g:      p.Graph(),
		params: params,
		opts:   opts,
		dir:    dir,
		obs:    obs,
		exec: &step.Runner{
			Store:    opts.Store,
			Exec:     limited{opts.Executor, sem},
			Secrets:  opts.Secrets,
			NoCache:  opts.NoCache,
			Verify:   opts.Verify,
			ReadBack: true,
		},
		keys:    map[string]string{},
		outputs: map[string]map[string]string{},
		logs:    map[string]string{},
	}
	tf, err := os.OpenFile(TasksPath(dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	r.tasks.f = tf
	sum := &report.Summary{Pipeline: p.Metadata.Name, Run: opts.RunID, Backend: "local", Started: time.Now()}
	for _, n := range r.g.All() {
		if n.Step.Group == nil && !n.InForEach() {
			r.event(n.Name(), report.Pending, 0, "")
		}
	}
	r.exec.Defer = r.later
	r.scratch = scratchDirs{dir: filepath.Join(dir, "work"), keep: opts.KeepWork, later: r.later}
	top := &scope{results: map[string]*outcome{}}
	r.runScope(ctx, r.g.Steps, top)
	status := ir.StatusSucceeded
	if r.failed.Load() {
		status = ir.StatusFailed
	}
	interrupted := ctx.Err() != nil
	if !interrupted && len(r.g.OnExit) > 0 {
		r.status = status
		exit := &scope{results: map[string]*outcome{}}
		r.runScope(ctx, r.g.OnExit, exit)
		if r.failed.Load() {
			status = ir.StatusFailed
		}
	}
	r.bg.Wait()
	if !opts.KeepWork {
		_ = os.RemoveAll(filepath.Join(dir, "work"))
	}
	for _, w := range r.bgErrs {
		fmt.Fprintf(os.Stderr, "sluice: warning: %v\n", w)
	}
	sum.Finished = time.Now()
	sum.Status = report.State(status)
	sum.Steps = col.Results()
	for i := range sum.Steps {
		s := &sum.Steps[i]
		s.Key = r.key(s.Name)
		s.Outputs = r.outputs[s.Name]
		s.Log = r.logs[s.Name]
	}
	if interrupted {
		sum.Status = report.Failed
	}
	if err := writeJSON(filepath.Join(dir, "run.json"), sum); err != nil {
		return sum, err
	}
	if interrupted {
		return sum, ErrInterrupted
	}
	return sum, nil
}

// NewRunID makes a run id that sorts by time: 20261122-051500-3f9a1c.
func NewRunID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

type run struct {
	p      *ir.Pipeline
	g      *ir.Graph
	params map[string]ir.Value
	opts   Options
	dir    string
	obs    report.Observer
	exec   *step.Runner
	failed atomic.Bool
	status string // pipeline.status, for onExit steps

	mu      sync.Mutex
	keys    map[string]string            // display name → cache key
	outputs map[string]map[string]string // display name → output values
	logs    map[string]string            // display name → log file
	tasks   taskLog
	scratch scratchDirs

	bg     sync.WaitGroup // work no step waits for: cache entries, cleanup
	bgErrs []error
}

// later runs work in the background; Run waits for it before returning.
// Its failures are warnings: a lost cache entry is a future miss.
func (r *run) later(work func() error) {
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		if err := work(); err != nil {
			r.mu.Lock()
			r.bgErrs = append(r.bgErrs, err)
			r.mu.Unlock()
		}
	}()
}

func (r *run) key(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[name]
}

func (r *run) event(name string, st report.State, attempt int, msg string) {
	r.obs.Event(report.Event{Step: name, State: st, Attempt: attempt, Time: time.Now(), Message: msg})
}

// outcome is what a step (or a loop, aggregated) left for its readers.
type outcome struct {
	state     report.State
	msg       string
	notRun    bool // not run because of a failure or an interruption
	params    map[string]string
	artifacts map[string]cache.ArtifactRef
}

// scope holds the outcomes visible at one level: the whole run, or one
// iteration of a forEach loop (whose item it binds). Groups without
// forEach share their parent's scope.
type scope struct {
	parent *scope
	item   *ir.Value
	idx    []int // iteration indexes, outermost first

	mu      sync.Mutex
	results map[string]*outcome
}

func (s *scope) set(name string, o *outcome) {
	s.mu.Lock()
	s.results[name] = o
	s.mu.Unlock()
}

func (s *scope) get(name string) *outcome {
	for ; s != nil; s = s.parent {
		s.mu.Lock()
		o := s.results[name]
		s.mu.Unlock()
		if o != nil {
			return o
		}
	}
	return nil
}

func (s *scope) child(item ir.Value, i int) *scope {
	idx := append(append([]int(nil), s.idx...), i)
	return &scope{parent: s, item: &item, idx: idx, results: map[string]*outcome{}}
}

func display(name string, idx []int) string {
	for _, i := range idx {
		name += fmt.Sprintf("[%d]", i)
	}
	return name
}

// runScope runs the nodes of one scope, each as soon as its dependencies
// are done, and waits for all of them.
func (r *run) runScope(ctx context.Context, nodes []*ir.Node, sc *scope) {
	done := make(map[*ir.Node]chan struct{}, len(nodes))
	for _, n := range nodes {
		done[n] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[n])
			for _, d := range n.Deps {
				<-done[d.Node]
			}
			sc.set(n.Name(), r.node(ctx, n, sc))
		}()
	}
	wg.Wait()
}

// blocked says why a node cannot run, or "". notRun is true when the
// reason is a failure or an interruption rather than a when or a skip.
func (r *run) blocked(ctx context.Context, n *ir.Node, sc *scope) (why string, notRun bool) {
	if ctx.Err() != nil {
		return "interrupted", true
	}
	for _, d := range n.Deps {
		o := sc.get(d.Node.Name())
		switch {
		case o == nil || o.state == report.Failed:
			return "not run: " + d.Node.Name() + " failed", true
		case o.notRun:
			return o.msg, true
		case o.state == report.Skipped && d.Data:
			return "needs outputs of skipped step " + d.Node.Name(), false
		}
	}
	if r.failed.Load() && !n.OnExit {
		return "not run: the pipeline failed", true
	}
	return "", false
}

// node runs one node of a scope: a step, a group, or a loop of either.
func (r *run) node(ctx context.Context, n *ir.Node, sc *scope) *outcome {
	if why, notRun := r.blocked(ctx, n, sc); why != "" {
		o := r.skip(n, sc, why)
		o.notRun = notRun
		return o
	}
	if n.Step.ForEach == nil {
		return r.body(ctx, n, sc)
	}
	items, err := r.items(n, sc)
	if err != nil {
		r.failed.Store(true)
		name := display(n.Name(), sc.idx)
		r.event(name, report.Failed, 1, err.Error())
		return &outcome{state: report.Failed, msg: err.Error()}
	}
	limit := n.Step.ForEach.Parallelism
	if limit <= 0 || limit > len(items) {
		limit = len(items)
	}
	loopSem := make(chan struct{}, max(limit, 1))
	iters := make([]*scope, len(items))
	outs := make([]*outcome, len(items))
	var wg sync.WaitGroup
	for i, item := range items {
		iters[i] = sc.child(item, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			loopSem <- struct{}{}
			defer func() { <-loopSem }()
			outs[i] = r.body(ctx, n, iters[i])
		}()
	}
	wg.Wait()
	return r.aggregate(n, sc, iters, outs)
}

// items evaluates a loop's items in the scope around the loop.
func (r *run) items(n *ir.Node, sc *scope) ([]ir.Value, error) {
	v := *n.Step.ForEach.Items
	if s, ok := v.Interface().(string); ok {
		text, err := ir.Expand(s, values{r, n, sc}.Value)
		if err != nil {
			return nil, fmt.Errorf("forEach.items: %w", err)
		}
		v, err = ir.ParseValue(text, ir.TypeList)
		if err != nil {
			return nil, fmt.Errorf("forEach.items: %w", err)
		}
	}
	l, ok := v.List()
	if !ok {
		return nil, fmt.Errorf("forEach.items: not a list")
	}
	return l, nil
}

// body runs a node once in scope sc (one iteration, for a loop): the when
// condition, then the step or the group's members.
func (r *run) body(ctx context.Context, n *ir.Node, sc *scope) *outcome {
	name := display(n.Name(), sc.idx)
	if n.Step.When != "" {
		ok, err := r.when(n, sc)
		if err != nil {
			r.failed.Store(true)
			r.event(name, report.Failed, 1, err.Error())
			return &outcome{state: report.Failed, msg: err.Error()}
		}
		if !ok {
			return r.skip(n, sc, "when is false")
		}
	}
	if n.Step.Group == nil {
		return r.execute(ctx, n, sc, name)
	}
	r.runScope(ctx, n.Children, sc)
	o := &outcome{state: report.Succeeded}
	for _, c := range n.Children {
		if co := sc.get(c.Name()); co == nil || co.state == report.Failed {
			o.state = report.Failed
		}
	}
	return o
}

func (r *run) when(n *ir.Node, sc *scope) (bool, error) {
	w, err := ir.ParseWhen(n.Step.When)
	if err != nil {
		return false, err
	}
	ok, err := w.Eval(values{r, n, sc}.Value)
	if err != nil {
		return false, fmt.Errorf("when: %w", err)
	}
	return ok, nil
}

// skip marks a node, and every step inside it, Skipped.
func (r *run) skip(n *ir.Node, sc *scope, why string) *outcome {
	var mark func(*ir.Node)
	mark = func(m *ir.Node) {
		if m.Step.Group == nil {
			r.event(display(m.Name(), sc.idx), report.Skipped, 0, why)
		}
		for _, c := range m.Children {
			sc.set(c.Name(), &outcome{state: report.Skipped, msg: why})
			mark(c)
		}
	}
	mark(n)
	return &outcome{state: report.Skipped, msg: why}
}

// aggregate turns a loop's iterations into one outcome: each output
// parameter becomes the JSON list of the iterations' values, for the loop
// and for every step inside a looped group.
func (r *run) aggregate(n *ir.Node, sc *scope, iters []*scope, outs []*outcome) *outcome {
	agg := func(name string, outputs *ir.Outputs, get func(i int) *outcome) *outcome {
		o := &outcome{state: report.Skipped, params: map[string]string{}}
		all := map[report.State]int{}
		for i := range iters {
			if x := get(i); x != nil {
				all[x.state]++
			}
		}
		switch {
		case all[report.Failed] > 0:
			o.state = report.Failed
		case all[report.Skipped] == len(iters) && len(iters) > 0:
			o.state = report.Skipped
		default:
			o.state = report.Succeeded
		}
		if outputs == nil {
			return o
		}
		for _, p := range outputs.Params {
			list := make([]any, 0, len(iters))
			for i := range iters {
				x := get(i)
				if x == nil || x.params == nil {
					continue
				}
				if v, ok := x.params[p.Name]; ok {
					list = append(list, step.ListElem(v, p.Typ(), x.list()))
				}
			}
			o.params[p.Name] = step.JSONList(list)
		}
		o.params[listMarker] = "1"
		return o
	}
	var walk func(m *ir.Node)
	walk = func(m *ir.Node) {
		for _, c := range m.Children {
			sc.set(c.Name(), agg(c.Name(), c.Step.Outputs, func(i int) *outcome { return iters[i].get(c.Name()) }))
			walk(c)
		}
	}
	walk(n)
	return agg(n.Name(), n.Step.Outputs, func(i int) *outcome { return outs[i] })
}

// listMarker flags an aggregated outcome: its values are JSON lists.
const listMarker = "\x00list"

func (o *outcome) list() bool { return o.params[listMarker] != "" }

// limited is an executor that runs at most cap(sem) commands at once:
// what --parallel bounds is the commands, not the runner's bookkeeping.
type limited struct {
	step.Executor
	sem chan struct{}
}

func (l limited) Run(ctx context.Context, c *step.Cmd) (int, error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return -1, ctx.Err()
	}
	defer func() { <-l.sem }()
	return l.Executor.Run(ctx, c)
}
