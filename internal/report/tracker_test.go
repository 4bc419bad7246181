package report

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// snapshots are three states of a run as an engine shows them: a step
// that is a cache hit, one retried, one the run leaves running when it
// fails, one it never gets to.
func snapshots() []*Snapshot {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	pending := []string{"a", "b", "c", "d"}
	return []*Snapshot{
		{Created: at(0), Pending: pending, Runs: []StepRun{
			{Name: "a", State: Running, Attempt: 1, Time: at(1), Started: at(1)},
		}},
		{Created: at(0), Pending: pending, Runs: []StepRun{
			{Name: "a", State: Cached, Attempt: 1, Time: at(2), Started: at(1), Outputs: map[string]string{"n": "3"}},
			{Name: "b", State: Retrying, Attempt: 1, Time: at(3), Message: "exit code 1"},
			{Name: "b", State: Retrying, Attempt: 1, Time: at(3), Message: "exit code 1"}, // said again: nothing new
		}},
		{Created: at(0), Pending: pending, Ended: true, Started: at(0), Finished: at(9), Why: "the run is Failed", Runs: []StepRun{
			{Name: "a", State: Running, Attempt: 1, Time: at(4)}, // replayed: a done step stays done
			{Name: "b", State: Succeeded, Attempt: 2, Time: at(5), Started: at(2)},
			{Name: "c", State: Running, Attempt: 1, Time: at(6), Started: at(6)},
		}},
	}
}

func TestTracker(t *testing.T) {
	tr := NewTracker()
	var got []Event
	for _, s := range snapshots() {
		got = append(got, tr.Update(s)...)
	}
	want := []Event{
		{Step: "a", State: Pending}, {Step: "b", State: Pending}, {Step: "c", State: Pending}, {Step: "d", State: Pending},
		{Step: "a", State: Running, Attempt: 1},
		{Step: "a", State: Cached, Attempt: 1},
		{Step: "b", State: Retrying, Attempt: 1, Message: "exit code 1"},
		{Step: "b", State: Succeeded, Attempt: 2},
		{Step: "c", State: Running, Attempt: 1},
		{Step: "c", State: Failed, Attempt: 1, Message: "not finished: the run is Failed"},
		{Step: "d", State: Skipped, Message: "not run"},
	}
	ignoreTime := cmp.Transformer("noTime", func(e Event) Event { e.Time = time.Time{}; return e })
	if diff := cmp.Diff(want, got, ignoreTime); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestSummarize(t *testing.T) {
	ss := snapshots()
	final := ss[len(ss)-1]
	final.Runs = append(ss[1].Runs[:1], final.Runs[1:]...)
	sum := Summarize("p", "p-1", "engine", final)
	if sum.Status != Failed || sum.Pipeline != "p" || sum.Run != "p-1" || sum.Backend != "engine" || sum.Duration() != 9*time.Second {
		t.Errorf("summary %s %s %s %s %v", sum.Status, sum.Pipeline, sum.Run, sum.Backend, sum.Duration())
	}
	if a := sum.Step("a"); a == nil || !a.Cached || a.Outputs["n"] != "3" || a.Duration() != time.Second {
		t.Errorf("a: %+v", a)
	}
	if b := sum.Step("b"); b == nil || b.Attempts != 2 || b.Duration() != 3*time.Second {
		t.Errorf("b: %+v", b)
	}
	final.Succeeded = true
	if s := Summarize("p", "p-1", "engine", final).Status; s != Succeeded {
		t.Errorf("status of a run that succeeded: %s", s)
	}
}

func TestWatch(t *testing.T) {
	ss := snapshots()
	c := NewCollector()
	follow := func(n int) func(func(int) bool) (int, error) {
		return func(each func(int) bool) (int, error) {
			for i := range n {
				if each(i) {
					return i, nil
				}
			}
			return n - 1, nil
		}
	}
	last, err := Watch(context.Background(), follow(len(ss)), func(i int) *Snapshot { return ss[i] }, c)
	if err != nil || last != len(ss)-1 || len(c.Results()) != 4 {
		t.Errorf("Watch: %d, %v, %d steps", last, err, len(c.Results()))
	}
	if _, err := Watch(context.Background(), follow(2), func(i int) *Snapshot { return ss[i] }, c); !errors.Is(err, ErrNotEnded) {
		t.Errorf("Watch of a run that did not end: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Watch(ctx, follow(1), func(i int) *Snapshot { return ss[i] }, c); !errors.Is(err, context.Canceled) {
		t.Errorf("Watch after ctx ended: %v", err)
	}
}
