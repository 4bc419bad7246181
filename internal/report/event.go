package report

import (
	"errors"
	"fmt"
	"time"
)

// State is where one step is in its life.
type State string

// The states of a step. Pending, Running and Retrying are transient; the
// others are final (see Done).
const (
	Pending   State = "Pending"
	Running   State = "Running"
	Succeeded State = "Succeeded"
	Cached    State = "Cached"
	Skipped   State = "Skipped"
	Failed    State = "Failed"
	Retrying  State = "Retrying"
)

// allStates is the order in which counts per state are listed.
var allStates = []State{Running, Retrying, Pending, Succeeded, Cached, Skipped, Failed}

// ErrUnknownState is returned when decoding a state name that is not one
// of the constants above.
var ErrUnknownState = errors.New("unknown state")

// Done reports whether s is final: Succeeded, Cached, Skipped or Failed.
func (s State) Done() bool {
	switch s {
	case Succeeded, Cached, Skipped, Failed:
		return true
	}
	return false
}

// UnmarshalText accepts only the known state names, so a summary written by
// a newer or broken producer fails loudly rather than counting as neither
// passed nor failed.
func (s *State) UnmarshalText(b []byte) error {
	for _, k := range allStates {
		if string(b) == string(k) {
			*s = k
			return nil
		}
	}
	return fmt.Errorf("state %q: %w", b, ErrUnknownState)
}

// Event is one change of one step's state.
type Event struct {
	// Step is the display name: "train", "train[2]" for a forEach
	// iteration, "report/r1" for a group member.
	Step    string
	State   State
	Attempt int       // 1-based; 0 when the step never ran
	Time    time.Time // zero means now
	// Message is the reason for Skipped, Failed or Retrying, such as
	// "exit code 3" or "when is false"; warnings on other states.
	Message string
}

// Observer receives events. Implementations must be safe for concurrent
// use: steps run in parallel and each reports for itself.
type Observer interface {
	Event(Event)
}

// ObserverFunc adapts a function to Observer; the function must itself be
// safe for concurrent use.
type ObserverFunc func(Event)

// Event calls f(e).
func (f ObserverFunc) Event(e Event) { f(e) }

// Multi returns an Observer that passes each event to every non-nil obs,
// in order.
func Multi(obs ...Observer) Observer {
	m := make(multi, 0, len(obs))
	for _, o := range obs {
		if o != nil {
			m = append(m, o)
		}
	}
	return m
}

type multi []Observer

func (m multi) Event(e Event) {
	for _, o := range m {
		o.Event(e)
	}
}
