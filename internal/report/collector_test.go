package report

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCollector(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		want   []StepResult
	}{{
		name: "ran and succeeded",
		events: []Event{
			{Step: "a", State: Pending, Time: at(0)},
			{Step: "a", State: Running, Attempt: 1, Time: at(1)},
			{Step: "a", State: Succeeded, Attempt: 1, Time: at(3)},
		},
		want: []StepResult{{Name: "a", State: Succeeded, Started: at(1), Finished: at(3), Attempts: 1}},
	}, {
		name: "retried: started at the first attempt, message of the last event",
		events: []Event{
			{Step: "a", State: Running, Attempt: 1, Time: at(1)},
			{Step: "a", State: Retrying, Attempt: 1, Time: at(2), Message: "exit code 1"},
			{Step: "a", State: Running, Attempt: 2, Time: at(3)},
			{Step: "a", State: Retrying, Attempt: 2, Time: at(4), Message: "exit code 2"},
			{Step: "a", State: Running, Attempt: 3, Time: at(5)},
			{Step: "a", State: Failed, Attempt: 3, Time: at(6), Message: "exit code 3"},
		},
		want: []StepResult{{Name: "a", State: Failed, Started: at(1), Finished: at(6), Attempts: 3, Message: "exit code 3"}},
	}, {
		name: "retry then success clears the message",
		events: []Event{
			{Step: "a", State: Running, Attempt: 1, Time: at(1)},
			{Step: "a", State: Retrying, Attempt: 1, Time: at(2), Message: "exit code 1"},
			{Step: "a", State: Running, Attempt: 2, Time: at(3)},
			{Step: "a", State: Succeeded, Attempt: 2, Time: at(4)},
		},
		want: []StepResult{{Name: "a", State: Succeeded, Started: at(1), Finished: at(4), Attempts: 2}},
	}, {
		name: "cache hit without running",
		events: []Event{
			{Step: "a", State: Pending, Time: at(0)},
			{Step: "a", State: Cached, Time: at(1)},
		},
		want: []StepResult{{Name: "a", State: Cached, Finished: at(1), Cached: true}},
	}, {
		name: "cache hit after running the launcher",
		events: []Event{
			{Step: "a", State: Running, Attempt: 1, Time: at(1)},
			{Step: "a", State: Cached, Attempt: 1, Time: at(2)},
		},
		want: []StepResult{{Name: "a", State: Cached, Started: at(1), Finished: at(2), Attempts: 1, Cached: true}},
	}, {
		name: "skipped",
		events: []Event{
			{Step: "a", State: Skipped, Time: at(1), Message: "when is false"},
		},
		want: []StepResult{{Name: "a", State: Skipped, Finished: at(1), Message: "when is false"}},
	}, {
		name: "running without an attempt number counts as attempt 1",
		events: []Event{
			{Step: "a", State: Running, Time: at(1)},
		},
		want: []StepResult{{Name: "a", State: Running, Started: at(1), Attempts: 1}},
	}, {
		name: "a done step does not move back",
		events: []Event{
			{Step: "a", State: Running, Attempt: 1, Time: at(1)},
			{Step: "a", State: Succeeded, Attempt: 1, Time: at(2)},
			{Step: "a", State: Running, Attempt: 1, Time: at(3)},
		},
		want: []StepResult{{Name: "a", State: Succeeded, Started: at(1), Finished: at(2), Attempts: 1}},
	}, {
		name: "first-seen order",
		events: []Event{
			{Step: "b", State: Running, Attempt: 1, Time: at(1)},
			{Step: "a", State: Running, Attempt: 1, Time: at(2)},
			{Step: "b", State: Succeeded, Attempt: 1, Time: at(3)},
		},
		want: []StepResult{
			{Name: "b", State: Succeeded, Started: at(1), Finished: at(3), Attempts: 1},
			{Name: "a", State: Running, Started: at(2), Attempts: 1},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCollector()
			for _, e := range tt.events {
				c.Event(e)
			}
			if diff := cmp.Diff(tt.want, c.Results()); diff != "" {
				t.Errorf("Results() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCollectorSummary(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		want   State
	}{
		{"empty run", nil, Succeeded},
		{"all done well", []Event{
			{Step: "a", State: Succeeded, Time: at(1)},
			{Step: "b", State: Cached, Time: at(2)},
			{Step: "c", State: Skipped, Time: at(3)},
		}, Succeeded},
		{"one failed", []Event{
			{Step: "a", State: Succeeded, Time: at(1)},
			{Step: "b", State: Failed, Time: at(2)},
		}, Failed},
		{"one unfinished", []Event{
			{Step: "a", State: Succeeded, Time: at(1)},
			{Step: "b", State: Running, Time: at(2)},
		}, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCollector()
			for _, e := range tt.events {
				c.Event(e)
			}
			s := c.Summary("p", "r1", "local")
			if s.Status != tt.want {
				t.Errorf("Status = %s, want %s", s.Status, tt.want)
			}
			if len(s.Steps) != len(tt.events) {
				t.Errorf("len(Steps) = %d, want %d", len(s.Steps), len(tt.events))
			}
		})
	}

	c := NewCollector()
	for _, e := range script {
		c.Event(e)
	}
	s := c.Summary("train", "r1", "local")
	if !s.Started.Equal(at(0)) || !s.Finished.Equal(at(6.5)) {
		t.Errorf("Started, Finished = %v, %v; want the first and last event times", s.Started, s.Finished)
	}
	if r := s.Step("train[1]"); r == nil || r.Attempts != 2 || r.Duration() != 3300*time.Millisecond {
		t.Errorf(`Step("train[1]") = %+v, want 2 attempts over 3.3s`, r)
	}
}
