package report

import (
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// t0 is when every scripted run starts.
var t0 = time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)

// at is t0 plus a number of seconds.
func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// clock is a settable time source for Progress.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// script is a run with every kind of step: plain, retried, cached without
// running, failed, skipped and one still running at the end.
var script = []Event{
	{Step: "prepare", State: Pending, Time: at(0)},
	{Step: "features", State: Pending, Time: at(0)},
	{Step: "train[0]", State: Pending, Time: at(0)},
	{Step: "train[1]", State: Pending, Time: at(0)},
	{Step: "eval", State: Pending, Time: at(0)},
	{Step: "report/r1", State: Pending, Time: at(0)},
	{Step: "publish", State: Pending, Time: at(0)},
	{Step: "prepare", State: Running, Attempt: 1, Time: at(0.5)},
	{Step: "features", State: Cached, Attempt: 1, Time: at(0.6)},
	{Step: "prepare", State: Succeeded, Attempt: 1, Time: at(2.6)},
	{Step: "train[0]", State: Running, Attempt: 1, Time: at(2.7)},
	{Step: "train[1]", State: Running, Attempt: 1, Time: at(2.7)},
	{Step: "train[1]", State: Retrying, Attempt: 1, Time: at(3.0), Message: "exit code 137; retry 1 of 2 in 1s"},
	{Step: "train[1]", State: Running, Attempt: 2, Time: at(4.0)},
	{Step: "train[0]", State: Succeeded, Attempt: 1, Time: at(4.8)},
	{Step: "train[1]", State: Succeeded, Attempt: 2, Time: at(6.0)},
	{Step: "eval", State: Running, Attempt: 1, Time: at(6.1)},
	{Step: "report/r1", State: Skipped, Time: at(6.1), Message: "when is false"},
	{Step: "eval", State: Failed, Attempt: 1, Time: at(6.4), Message: "exit code 1"},
	{Step: "publish", State: Running, Attempt: 1, Time: at(6.5)},
}
