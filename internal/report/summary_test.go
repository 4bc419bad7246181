package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sampleSummary has a step of each final state and every optional field.
func sampleSummary() *Summary {
	return &Summary{
		Pipeline: "train", Run: "20260301-120100-3f9a1c", Backend: "local", Status: Failed,
		Started: at(0), Finished: at(7.25),
		Steps: []StepResult{
			{Name: "prepare", State: Succeeded, Started: at(0.5), Finished: at(2.6), Attempts: 1,
				Key: "sha256:1111", Outputs: map[string]string{"rows": "1200", "data": "cas://sha256/abcd"}, Log: "steps/prepare/log"},
			{Name: "features", State: Cached, Finished: at(0.6), Attempts: 1, Cached: true, Key: "sha256:2222"},
			{Name: "train[1]", State: Succeeded, Started: at(2.7), Finished: at(6), Attempts: 2, Key: "sha256:3333"},
			{Name: "eval", State: Failed, Started: at(6.1), Finished: at(6.4), Attempts: 1, Message: "exit code 1", Log: "steps/eval/log"},
			{Name: "report/r1", State: Skipped, Finished: at(6.1), Message: "when is false"},
		},
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleSummary()); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.json", b.Bytes())

	// json.Marshal gives the same document, so callers may embed a Summary.
	m, err := json.MarshalIndent(sampleSummary(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b.String(), string(m)+"\n"); diff != "" {
		t.Errorf("json.Marshal differs from WriteJSON (-want +got):\n%s", diff)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   *Summary
	}{
		{"full", sampleSummary()},
		{"empty", &Summary{Pipeline: "p", Backend: "argo", Status: Succeeded}},
		{"zoned times", &Summary{Pipeline: "p", Status: Succeeded,
			Started:  time.Date(2026, 3, 1, 13, 1, 0, 123456789, time.FixedZone("CET", 3600)),
			Finished: time.Date(2026, 3, 1, 13, 2, 0, 0, time.FixedZone("CET", 3600))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, tt.in); err != nil {
				t.Fatal(err)
			}
			got, err := ReadJSON(&b)
			if err != nil {
				t.Fatal(err)
			}
			want := *tt.in
			if want.Steps == nil {
				want.Steps = []StepResult{} // written as [], read back as empty
			}
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadJSONInvalid(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		isErr error // nil: any error
	}{
		{"unknown status", `{"pipeline":"p","status":"Done","steps":[]}`, ErrUnknownState},
		{"unknown step state", `{"pipeline":"p","status":"Failed","steps":[{"name":"a","state":"Exploded"}]}`, ErrUnknownState},
		{"not JSON", `pipeline: p`, nil},
		{"wrong type", `{"steps":{}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadJSON(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("ReadJSON = %+v, want an error", s)
			}
			if tt.isErr != nil && !errors.Is(err, tt.isErr) {
				t.Errorf("ReadJSON error = %v, want one wrapping %v", err, tt.isErr)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	s := sampleSummary()
	if got, want := s.Duration(), 7250*time.Millisecond; got != want {
		t.Errorf("Summary.Duration() = %v, want %v", got, want)
	}
	for _, tt := range []struct {
		r    StepResult
		want time.Duration
	}{
		{StepResult{Started: at(1), Finished: at(3.5)}, 2500 * time.Millisecond},
		{StepResult{Finished: at(3)}, 0},                 // never ran
		{StepResult{Started: at(1)}, 0},                  // not finished
		{StepResult{Started: at(3), Finished: at(1)}, 0}, // clocks disagree
	} {
		if got := tt.r.Duration(); got != tt.want {
			t.Errorf("%+v.Duration() = %v, want %v", tt.r, got, tt.want)
		}
	}
}
