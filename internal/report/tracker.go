package report

import (
	"context"
	"errors"
	"strings"
	"time"
)

// StepRun is what an engine shows of one execution of a step: a cluster
// adapter reads these off the engine's objects, and Tracker turns them
// into Events.
type StepRun struct {
	Name    string // display name: "train", "train[2]"
	State   State
	Attempt int
	Message string
	Time    time.Time // of the latest change
	Started time.Time // when its first attempt started; zero if it has not
	Outputs map[string]string
}

// CompareRuns orders step runs by the time of their latest change, then
// by name; a run with no time yet sorts by name only.
func CompareRuns(a, b StepRun) int {
	if c := a.Time.Compare(b.Time); c != 0 && !a.Time.IsZero() && !b.Time.IsZero() {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// Snapshot is one state of a run on an engine, as its adapter reads it.
type Snapshot struct {
	// Created is when the run was created: the time of the first Pending
	// events.
	Created time.Time
	// Pending are the steps known before they start (those not in a
	// loop, whose iterations are known once it fans out).
	Pending []string
	// Runs are the executions the engine shows, in the order they
	// started.
	Runs []StepRun
	// Ended says the run is over; Succeeded, that it succeeded.
	Ended, Succeeded bool
	// Started and Finished are the run's own times, when the engine
	// knows them.
	Started, Finished time.Time
	// Why says how the run ended, for the steps it left unfinished:
	// "the Workflow is Failed: child failed".
	Why string
}

// Tracker turns successive Snapshots of one run into the events a local
// run gives, so that the progress table, the summary and JUnit read a
// cluster run as they read a local one. It is pure: tests feed it
// snapshots.
type Tracker struct {
	last    map[string]Event
	order   []string // display names in the order first seen
	started bool
}

// NewTracker returns a Tracker for one run.
func NewTracker() *Tracker { return &Tracker{last: map[string]Event{}} }

// Update returns the events that bring an observer from the previous
// snapshot to s: at first, Pending for each of s.Pending. Once the run
// has ended, a step that never ran is Skipped ("not run") and one left
// running is Failed.
func (t *Tracker) Update(s *Snapshot) []Event {
	var evs []Event
	if !t.started {
		t.started = true
		for _, name := range s.Pending {
			evs = append(evs, t.emit(Event{Step: name, State: Pending, Time: s.Created})...)
		}
	}
	for _, r := range s.Runs {
		evs = append(evs, t.emit(Event{Step: r.Name, State: r.State, Attempt: r.Attempt, Message: r.Message, Time: r.Time})...)
	}
	if !s.Ended {
		return evs
	}
	for _, name := range t.order {
		last := t.last[name]
		if last.State.Done() {
			continue
		}
		ev := Event{Step: name, State: Skipped, Message: "not run", Time: s.Finished}
		if last.State == Running || last.State == Retrying {
			ev.State, ev.Attempt = Failed, last.Attempt
			ev.Message = "not finished: " + s.Why
		}
		evs = append(evs, t.emit(ev)...)
	}
	return evs
}

// emit records e and returns it, unless it says nothing new.
func (t *Tracker) emit(e Event) []Event {
	last, seen := t.last[e.Step]
	if seen && (last.State.Done() || last.State == e.State && last.Attempt == e.Attempt) {
		return nil
	}
	if !seen {
		t.order = append(t.order, e.Step)
	}
	t.last[e.Step] = e
	return []Event{e}
}

// Summarize is the run summary of a snapshot, as `sluice run` writes
// it: each step's result, with its outputs and attempts, and the run's
// status and times.
func Summarize(pipeline, run, backend string, s *Snapshot) *Summary {
	c := NewCollector()
	for _, e := range NewTracker().Update(s) {
		c.Event(e)
	}
	sum := c.Summary(pipeline, run, backend)
	sum.Status = Failed
	if s.Succeeded {
		sum.Status = Succeeded
	}
	if !s.Started.IsZero() {
		sum.Started = s.Started
	}
	if !s.Finished.IsZero() {
		sum.Finished = s.Finished
	}
	for _, r := range s.Runs {
		if res := sum.Step(r.Name); res != nil {
			res.Outputs = r.Outputs
			res.Attempts = max(res.Attempts, r.Attempt)
			if res.Started.IsZero() && res.State != Skipped {
				res.Started = r.Started
			}
		}
	}
	return sum
}

// Watch feeds obs (if not nil) the events of one run until it ends.
// follow calls its function with each new state of the run, until that
// says the run has ended, and returns the last state; snapshot reads a
// state. When ctx ends first, Watch returns the last state seen and
// ctx's error.
func Watch[S any](ctx context.Context, follow func(each func(S) bool) (S, error), snapshot func(S) *Snapshot, obs Observer) (S, error) {
	t := NewTracker()
	ended := false
	last, err := follow(func(state S) bool {
		s := snapshot(state)
		for _, e := range t.Update(s) {
			if obs != nil {
				obs.Event(e)
			}
		}
		ended = s.Ended
		return ended
	})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err == nil && !ended {
		err = ErrNotEnded
	}
	return last, err
}

// ErrNotEnded is Watch's error when following stopped before the run
// ended.
var ErrNotEnded = errors.New("the run did not end")
