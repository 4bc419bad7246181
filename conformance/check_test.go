package conformance

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sluice-dev/sluice/internal/report"
)

// TestCheck: every kind of difference between a run and its case is
// reported, and a run that matches reports none.
func TestCheck(t *testing.T) {
	t0 := time.Unix(1000, 0)
	e := &Expect{
		Status: report.Succeeded,
		Steps: map[string]StepExpect{
			"a": {State: report.Succeeded, Outputs: map[string]string{"v": "1"}},
			"b": {State: report.Skipped},
			"c": {State: report.Succeeded, MinAttempts: 2},
		},
		Order: []string{"a < c"},
	}
	good := &report.Summary{Status: report.Succeeded, Steps: []report.StepResult{
		{Name: "a", State: report.Succeeded, Outputs: map[string]string{"v": "1"}, Started: t0, Finished: t0.Add(time.Second)},
		{Name: "b", State: report.Skipped},
		{Name: "c", State: report.Succeeded, Attempts: 2, Started: t0.Add(2 * time.Second), Finished: t0.Add(3 * time.Second)},
	}}
	if d := check(context.Background(), e, good, nil); len(d) != 0 {
		t.Errorf("a matching run: %q", d)
	}
	bad := &report.Summary{Status: report.Failed, Steps: []report.StepResult{
		{Name: "a", State: report.Succeeded, Outputs: map[string]string{"v": "2"}, Started: t0, Finished: t0.Add(5 * time.Second)},
		{Name: "c", State: report.Failed, Attempts: 1, Message: "exit code 3", Started: t0.Add(time.Second), Finished: t0.Add(3 * time.Second)},
		{Name: "d", State: report.Succeeded},
	}}
	got := strings.Join(check(context.Background(), e, bad, nil), "\n")
	for _, want := range []string{
		"status Failed, want Succeeded",
		`a: output v = "2", want "1"`,
		"b: not reported",
		"c: Failed (exit code 3), want Succeeded",
		"c: 1 attempts, want at least 2",
		"d: reported (Succeeded), not expected",
		"order a < c: c started 4s before a finished",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("differences lack %q:\n%s", want, got)
		}
	}
	// The rerun wants a and c Cached.
	got = strings.Join(checkRerun(context.Background(), e, good, nil), "\n")
	if !strings.Contains(got, "rerun: a: Succeeded, want Cached") || !strings.Contains(got, "rerun: c: Succeeded, want Cached") {
		t.Errorf("rerun differences:\n%s", got)
	}
}

// TestLoadErrors: a case that no run could pass is refused when loaded,
// with its file.
func TestLoadErrors(t *testing.T) {
	const pipeline = "-- pipeline.yaml --\napiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  steps: [{name: a, image: busybox, command: [\"true\"]}]\n"
	for name, expect := range map[string]string{
		"bad-status.txtar":   "status: Done\nsteps: {a: {state: Succeeded}}\n",
		"bad-state.txtar":    "status: Succeeded\nsteps: {a: {state: Running}}\n",
		"bad-field.txtar":    "status: Succeeded\nsteps: {a: {state: Succeeded, output: {}}}\n",
		"bad-order.txtar":    "status: Succeeded\nsteps: {a: {state: Succeeded}}\norder: [a < z]\n",
		"no-expect.txtar":    "",
		"bad-rerun.txtar":    "status: Succeeded\nsteps: {a: {state: Succeeded}}\nrerun: [z]\n",
		"no-steps.txtar":     "status: Succeeded\n",
		"order-syntax.txtar": "status: Succeeded\nsteps: {a: {state: Succeeded}}\norder: [a]\n",
	} {
		data := pipeline
		if expect != "" {
			data += "-- expect.yaml --\n" + expect
		}
		_, err := Load(fstest.MapFS{name: {Data: []byte(data)}})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
}

// TestMarkdown: red cells point at their reasons, and the pods each run
// started are listed for the backends that count them.
func TestMarkdown(t *testing.T) {
	m := &Matrix{Backends: []string{"local", "argo"}, Cases: []string{"a", "b"}, Cells: map[[2]string]*Cell{
		{"a", "local"}: {Pass: true},
		{"b", "local"}: {Failures: []string{"x: Failed, want Succeeded"}},
		{"a", "argo"}:  {Pass: true, Pods: []Pods{{All: 3}, {All: 2, Cached: 2}}, Cached: 2, HitTimes: []time.Duration{2 * time.Second, 4 * time.Second}},
		{"b", "argo"}:  {Pass: true, Pods: []Pods{{All: 1}, {All: 1, Cached: 1}}, Cached: 1, HitTimes: []time.Duration{3 * time.Second}},
	}}
	var b strings.Builder
	m.Markdown(&b)
	for _, want := range []string{
		"| b | ❌ (1) | ✅ |",
		"1. b on local: x: Failed, want Succeeded",
		"| a | 3 → 2 (2 cached: 2 pods) |",
		"| **all** | **4 → 3 (3 cached: 3 pods)** |",
		"| argo | 3 | 3s | 4s | 4s |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}

// podsBackend is the local runner posing as a cluster whose cache hits
// start pods anyway.
type podsBackend struct {
	*Local
	zero bool
}

func (p *podsBackend) Pods(_ context.Context, _ *Case, s *report.Summary) (Pods, error) {
	n := Pods{All: len(s.Steps)}
	for _, st := range s.Steps {
		if st.State == report.Cached {
			n.Cached++
		}
	}
	return n, nil
}

func (p *podsBackend) ZeroPodHits() bool { return p.zero }

// On a backend that promises zero-pod hits, a pod of a Cached step fails
// the cell; elsewhere it is only counted.
func TestZeroPodHits(t *testing.T) {
	cases, err := Load(Cases())
	if err != nil {
		t.Fatal(err)
	}
	var params *Case
	for _, c := range cases {
		if c.Name == "params" {
			params = c
		}
	}
	for _, zero := range []bool{false, true} {
		cell := playOne(context.Background(), params, &podsBackend{Local: &Local{Dir: t.TempDir()}, zero: zero})
		if len(cell.Pods) != 2 || cell.Pods[1].Cached != cell.Cached || cell.Cached == 0 {
			t.Fatalf("zero=%v: pods %+v, cached %d", zero, cell.Pods, cell.Cached)
		}
		if cell.Pass == zero {
			t.Errorf("zero=%v: pass %v, failures %q", zero, cell.Pass, cell.Failures)
		}
		if zero && !strings.Contains(strings.Join(cell.Failures, ";"), "Cached steps started") {
			t.Errorf("failures %q do not say that Cached steps started pods", cell.Failures)
		}
	}
}

// PlayShared: a hit recorded by one backend is a hit on the others that
// share its store (here two local runners, one store).
func TestPlayShared(t *testing.T) {
	cases, err := Load(Cases())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store := func(_ context.Context, c *Case) (string, Values, error) {
		return dir + "/" + c.Name, nil, nil
	}
	a, b := &Local{Dir: t.TempDir()}, &Local{Dir: t.TempDir()}
	m := PlayShared(context.Background(), cases, store, a, []Backend{b}, nil)
	if !m.Pass() {
		var md strings.Builder
		m.Markdown(&md)
		t.Errorf("shared play fails:\n%s", md.String())
	}
	if len(m.Cases) == 0 || len(m.Cases) == len(cases) {
		t.Errorf("played %d of %d cases, want the ones that succeed", len(m.Cases), len(cases))
	}
	for _, c := range m.Cases {
		if cell := m.Cells[[2]string{c, "local→local"}]; cell == nil || cell.Cached == 0 {
			t.Errorf("%s: %+v, want Cached steps", c, cell)
		}
	}
}
