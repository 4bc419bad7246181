package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parsed is the JUnit document as a CI system reads it, declared apart from
// the writer's types so the test does not trust them.
type parsed struct {
	XMLName xml.Name `xml:"testsuites"`
	Tests   int      `xml:"tests,attr"`
	Suites  []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name       string `xml:"name,attr"`
			Classname  string `xml:"classname,attr"`
			Time       string `xml:"time,attr"`
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestWriteJUnit(t *testing.T) {
	dir := t.TempDir()
	evalLog := filepath.Join(dir, "eval.log")
	// Colors, a progress bar redrawn with \r, CRLF, a NUL and markup.
	log := "loading model\r\n\x1b[1;31mepoch 1/3\x1b[0m 10%\repoch 1/3 100%\n" +
		"Traceback: x <&> \"y\" ]]>\x00\nAssertionError: accuracy 0.41 < 0.9\n"
	if err := os.WriteFile(evalLog, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}

	mixed := sampleSummary()
	mixed.Step("eval").Log = evalLog
	mixed.Steps = append(mixed.Steps,
		StepResult{Name: "upload", State: Failed, Started: at(6.5), Finished: at(7.25), Attempts: 3,
			Message: "exit code 2", Log: filepath.Join("testdata", "no-such.log")},
		StepResult{Name: "serve", State: Running, Started: at(6.5), Attempts: 1},
		StepResult{Name: "notify", State: Pending},
	)

	tests := []struct {
		name                           string
		in                             *Summary
		tests, failures, skipped, hits int
	}{
		{"mixed", mixed, 8, 3, 2, 1},
		{"succeeded", &Summary{Pipeline: "hello", Run: "r2", Backend: "argo", Status: Succeeded,
			Started: at(0), Finished: at(1.5),
			Steps: []StepResult{
				{Name: "say", State: Succeeded, Started: at(0.1), Finished: at(1.4), Attempts: 1},
				{Name: "echo", State: Cached, Finished: at(0.2), Cached: true},
			}}, 2, 0, 0, 1},
		{"empty", &Summary{Pipeline: "nothing", Backend: "tekton", Status: Succeeded}, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJUnit(&b, tt.in); err != nil {
				t.Fatal(err)
			}
			golden(t, "junit_"+tt.name+".xml", b.Bytes())

			var doc parsed
			if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatalf("parse back: %v", err)
			}
			if len(doc.Suites) != 1 {
				t.Fatalf("got %d testsuites, want 1", len(doc.Suites))
			}
			s := doc.Suites[0]
			var failures, skipped, hits int
			for _, c := range s.Cases {
				if c.Classname != tt.in.Pipeline {
					t.Errorf("testcase %s: classname = %q, want %q", c.Name, c.Classname, tt.in.Pipeline)
				}
				if c.Failure != nil {
					failures++
				}
				if c.Skipped != nil {
					skipped++
				}
				if len(c.Properties) == 1 && c.Properties[0] == (struct {
					Name  string `xml:"name,attr"`
					Value string `xml:"value,attr"`
				}{"sluice.cached", "true"}) && strings.Contains(c.SystemOut, "(cached)") {
					hits++
				}
			}
			got := fmt.Sprintln(s.Name, doc.Tests, s.Tests, len(s.Cases), s.Failures, failures, s.Skipped, skipped, s.Errors, hits)
			want := fmt.Sprintln(tt.in.Pipeline, tt.tests, tt.tests, tt.tests, tt.failures, tt.failures, tt.skipped, tt.skipped, 0, tt.hits)
			if got != want {
				t.Errorf("name, tests (root, suite, cases), failures (attr, cases), skipped (attr, cases), errors, cache hits =\n%swant\n%s", got, want)
			}
		})
	}
}

func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "line %05d: héllo\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got := logTail(path, LogTail)
	head, body, _ := strings.Cut(got, "\n")
	if !strings.HasPrefix(head, "(log truncated: last ") {
		t.Errorf("first line = %q, want the truncation note", head)
	}
	if len(body) > LogTail {
		t.Errorf("tail is %d bytes, want at most %d", len(body), LogTail)
	}
	if !strings.HasPrefix(body, "line ") || !strings.HasSuffix(body, "line 19999: héllo\n") {
		t.Errorf("tail should start at a whole line and end with the last; got %q … %q", body[:20], body[len(body)-20:])
	}

	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("only\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := logTail(short, LogTail); got != "only\n" {
		t.Errorf("short log tail = %q, want it whole", got)
	}
}
