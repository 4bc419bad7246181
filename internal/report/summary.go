package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// StepResult is how one step ended.
type StepResult struct {
	Name     string            `json:"name"`
	State    State             `json:"state"`
	Started  time.Time         `json:"started,omitzero"`  // first Running; zero if it never ran
	Finished time.Time         `json:"finished,omitzero"` // when it reached a final state
	Attempts int               `json:"attempts"`
	Cached   bool              `json:"cached"`
	Key      string            `json:"key,omitempty"` // cache key, when known
	Message  string            `json:"message,omitempty"`
	Outputs  map[string]string `json:"outputs,omitempty"`
	Log      string            `json:"log,omitempty"` // path of its log file
}

// Duration is the time from the first attempt's start to the end, or 0 if
// the step never ran or has not finished.
func (r *StepResult) Duration() time.Duration { return span(r.Started, r.Finished) }

// Summary is the result of one run of a pipeline on one backend.
type Summary struct {
	Pipeline string       `json:"pipeline"`
	Run      string       `json:"run,omitempty"`
	Backend  string       `json:"backend"`
	Status   State        `json:"status"` // Succeeded or Failed
	Started  time.Time    `json:"started,omitzero"`
	Finished time.Time    `json:"finished,omitzero"`
	Steps    []StepResult `json:"steps"`
}

// Duration is the run's wall time, or 0 if it has not finished.
func (s *Summary) Duration() time.Duration { return span(s.Started, s.Finished) }

// Step returns the named step's result, or nil.
func (s *Summary) Step(name string) *StepResult {
	for i := range s.Steps {
		if s.Steps[i].Name == name {
			return &s.Steps[i]
		}
	}
	return nil
}

func span(from, to time.Time) time.Duration {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return 0
	}
	return to.Sub(from)
}

// WriteJSON writes s as indented JSON. The field names are lowerCamel and
// stable, since CI scripts read them; each object also carries its
// "duration" in seconds, derived from its times.
func WriteJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// ReadJSON reads a summary written by WriteJSON. Durations are ignored:
// they follow from the times.
func ReadJSON(r io.Reader) (*Summary, error) {
	var s Summary
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	return &s, nil
}

// MarshalJSON adds the derived duration, so that json.Marshal of a Summary
// anywhere (a run.json, a `-o json`) looks the same as WriteJSON.
func (s Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	if s.Steps == nil {
		s.Steps = []StepResult{}
	}
	// Steps shadows the embedded field to come after duration.
	return json.Marshal(struct {
		plain
		Duration float64      `json:"duration"`
		Steps    []StepResult `json:"steps"`
	}{plain(s), seconds(s.Duration()), s.Steps})
}

// MarshalJSON adds the derived duration.
func (r StepResult) MarshalJSON() ([]byte, error) {
	type plain StepResult
	return json.Marshal(struct {
		plain
		Duration float64 `json:"duration"`
	}{plain(r), seconds(r.Duration())})
}

// seconds rounds to the millisecond: finer is noise in a run report.
func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }
