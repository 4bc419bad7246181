package report

import (
	"sync"
	"time"
)

// Collector is an Observer that keeps one StepResult per step, for the run
// summary. The zero value is not ready; use NewCollector.
type Collector struct {
	mu    sync.Mutex
	steps steps
}

var _ Observer = (*Collector)(nil)

// NewCollector returns an empty Collector.
func NewCollector() *Collector { return &Collector{} }

// Event folds e into the step's result: Started is the first Running,
// Finished the final state, Attempts the highest attempt seen and Message
// the latest event's message.
func (c *Collector) Event(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.steps.apply(e)
}

// Results returns a copy of every step's result, in the order the steps
// were first seen.
func (c *Collector) Results() []StepResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]StepResult(nil), c.steps.list...)
}

// Summary returns a Summary of the events so far. Status is Succeeded only
// when every step ended Succeeded, Cached or Skipped; Started and Finished
// are the earliest and latest event times. Callers that know better (the
// run's own start time, cache keys, log paths) overwrite the fields.
func (c *Collector) Summary(pipeline, run, backend string) *Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &Summary{
		Pipeline: pipeline,
		Run:      run,
		Backend:  backend,
		Status:   Succeeded,
		Started:  c.steps.first,
		Finished: c.steps.last,
		Steps:    append([]StepResult{}, c.steps.list...),
	}
	for _, r := range s.Steps {
		if !r.State.Done() || r.State == Failed {
			s.Status = Failed
		}
	}
	return s
}

// steps folds events into results kept in first-seen order; Collector and
// Progress both build on it.
type steps struct {
	list        []StepResult
	index       map[string]int
	first, last time.Time
}

// apply records e, whose Time must be set, and returns the step's result,
// or nil when e is ignored because the step is already done.
func (s *steps) apply(e Event) *StepResult {
	i, ok := s.index[e.Step]
	if !ok {
		if s.index == nil {
			s.index = map[string]int{}
		}
		i = len(s.list)
		s.index[e.Step] = i
		s.list = append(s.list, StepResult{Name: e.Step, State: Pending})
	}
	if s.first.IsZero() || e.Time.Before(s.first) {
		s.first = e.Time
	}
	if e.Time.After(s.last) {
		s.last = e.Time
	}
	r := &s.list[i]
	if r.State.Done() && !e.State.Done() {
		return nil
	}
	r.State, r.Message, r.Cached = e.State, e.Message, e.State == Cached
	attempt := e.Attempt
	if attempt == 0 && e.State == Running {
		attempt = 1
	}
	r.Attempts = max(r.Attempts, attempt)
	switch {
	case e.State == Running && r.Started.IsZero():
		r.Started = e.Time
	case e.State.Done():
		r.Finished = e.Time
	}
	return r
}
