package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/internal/report"
)

// Values turns an output's text as a backend reports it into the value:
// on a cluster, a value too long or too odd to travel inline is a value
// ref to fetch from the store. nil takes texts as they are.
type Values func(ctx context.Context, text string) (string, error)

// check compares one run's summary with the case's expectations and
// returns every difference.
func check(ctx context.Context, e *Expect, s *report.Summary, values Values) []string {
	var out []string
	if s.Status != e.Status {
		out = append(out, fmt.Sprintf("status %s, want %s", s.Status, e.Status))
	}
	got := map[string]*report.StepResult{}
	for i := range s.Steps {
		got[s.Steps[i].Name] = &s.Steps[i]
	}
	for _, name := range sortedKeys(e.Steps) {
		want := e.Steps[name]
		r, ok := got[name]
		if !ok {
			out = append(out, fmt.Sprintf("%s: not reported", name))
			continue
		}
		if r.State != want.State {
			msg := ""
			if r.Message != "" {
				msg = " (" + oneLine(r.Message) + ")"
			}
			out = append(out, fmt.Sprintf("%s: %s%s, want %s", name, r.State, msg, want.State))
		}
		if want.MinAttempts > 0 && r.Attempts < want.MinAttempts && r.State != report.Cached {
			out = append(out, fmt.Sprintf("%s: %d attempts, want at least %d", name, r.Attempts, want.MinAttempts))
		}
		if want.Message != "" && !strings.Contains(r.Message, want.Message) {
			out = append(out, fmt.Sprintf("%s: message %q, want it to hold %q", name, oneLine(r.Message), want.Message))
		}
		for _, o := range sortedKeys(want.Outputs) {
			text, ok := r.Outputs[o]
			if !ok {
				out = append(out, fmt.Sprintf("%s: no output %s", name, o))
				continue
			}
			v := text
			if values != nil {
				var err error
				if v, err = values(ctx, text); err != nil {
					out = append(out, fmt.Sprintf("%s: output %s: %v", name, o, err))
					continue
				}
			}
			if v != want.Outputs[o] {
				out = append(out, fmt.Sprintf("%s: output %s = %q, want %q", name, o, v, want.Outputs[o]))
			}
		}
	}
	for _, name := range sortedKeys(got) {
		if _, ok := e.Steps[name]; !ok {
			out = append(out, fmt.Sprintf("%s: reported (%s), not expected", name, got[name].State))
		}
	}
	for _, o := range e.Order {
		a, b, _ := orderPair(o)
		ra, rb := got[a], got[b]
		if ra == nil || rb == nil || ra.Finished.IsZero() || rb.Started.IsZero() {
			continue // reported above, or one of them never ran
		}
		if rb.Started.Before(ra.Finished) {
			out = append(out, fmt.Sprintf("order %s: %s started %s before %s finished", o, b,
				ra.Finished.Sub(rb.Started), a))
		}
	}
	return out
}

// checkRerun checks a second run: the same outcome, and every step the
// case names Cached.
func checkRerun(ctx context.Context, e *Expect, s *report.Summary, values Values) []string {
	cached := e.rerunCached()
	rerun := *e
	rerun.Steps = map[string]StepExpect{}
	for name, st := range e.Steps {
		if slices.Contains(cached, name) {
			st.State = report.Cached
		}
		rerun.Steps[name] = st
	}
	var out []string
	for _, d := range check(ctx, &rerun, s, values) {
		out = append(out, "rerun: "+d)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
