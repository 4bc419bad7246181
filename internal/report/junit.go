package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// LogTail is how much of a failed step's log goes into the JUnit report:
// enough for the error, small enough for CI systems that cap report size.
const LogTail = 64 << 10

// WriteJUnit writes s as JUnit XML: one testsuite named after the pipeline
// and one testcase per step, in the shape GitLab, Jenkins and the GitHub
// test-report actions read. A step is a failure if it Failed or never
// finished, skipped if it was Skipped or never started. A failed step's
// log tail goes into its system-out; a log that cannot be read is noted
// there rather than failing the report, which CI needs most when things
// went wrong.
func WriteJUnit(w io.Writer, s *Summary) error {
	suite := junitSuite{Name: s.Pipeline, junitCounts: junitCounts{Time: junitTime(s.Duration())}, Properties: &junitProperties{}}
	for _, p := range []junitProperty{
		{Name: "sluice.run", Value: s.Run},
		{Name: "sluice.backend", Value: s.Backend},
		{Name: "sluice.status", Value: string(s.Status)},
	} {
		if p.Value != "" {
			suite.Properties.Props = append(suite.Properties.Props, p)
		}
	}
	if !s.Started.IsZero() {
		// The schema's timestamp has no zone; UTC is the only reading
		// that stays right on another machine.
		suite.Timestamp = s.Started.UTC().Format("2006-01-02T15:04:05")
	}
	for i := range s.Steps {
		c := junitCaseOf(s.Pipeline, &s.Steps[i])
		suite.Tests++
		suite.Failures += boolInt(c.Failure != nil)
		suite.Skipped += boolInt(c.Skipped != nil)
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Name: s.Pipeline, junitCounts: suite.junitCounts, Suites: []junitSuite{suite}}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	b.WriteByte('\n')
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func junitCaseOf(pipeline string, r *StepResult) junitCase {
	c := junitCase{Name: r.Name, Classname: pipeline, Time: junitTime(r.Duration())}
	switch r.State {
	case Failed, Running, Retrying:
		msg := r.Message
		if r.State != Failed {
			msg = "did not finish"
		} else if msg == "" {
			msg = "failed"
		}
		text := msg
		if r.Attempts > 1 {
			text = fmt.Sprintf("failed after %d attempts: %s", r.Attempts, msg)
		}
		c.Failure = &junitFailure{Message: msg, Type: string(r.State), Text: text}
		if r.Log != "" {
			c.SystemOut = &junitOut{xmlSafe(logTail(r.Log, LogTail))}
		}
	case Skipped, Pending:
		msg := r.Message
		if r.State == Pending {
			msg = "not run"
		}
		c.Skipped = &junitSkipped{Message: msg}
	case Cached:
		c.Properties = &junitProperties{Props: []junitProperty{{Name: "sluice.cached", Value: "true"}}}
		c.SystemOut = &junitOut{"(cached)"}
		if r.Key != "" {
			c.SystemOut.Text += " key " + r.Key
		}
	}
	return c
}

func junitTime(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ansi matches the CSI and OSC escape sequences that colored tool output
// is full of; XML has no place for ESC.
var ansi = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)`)

// logTail returns the last n bytes of the file at path, from the first
// whole line, cleaned for reading: escape sequences removed and each line
// reduced to what a terminal would have shown after carriage returns
// (progress bars).
func logTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(log unavailable: %v)", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(log unavailable: %v)", err)
	}
	off := max(fi.Size()-n, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, n))
	if err != nil {
		return fmt.Sprintf("(log unavailable: %v)", err)
	}
	var head string
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
		head = fmt.Sprintf("(log truncated: last %d of %d bytes)\n", len(b), fi.Size())
	}
	lines := strings.Split(ansi.ReplaceAllString(string(b), ""), "\n")
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			l = l[j+1:]
		}
		lines[i] = l
	}
	return head + strings.Join(lines, "\n")
}

// xmlSafe replaces what XML 1.0 cannot hold, even in CDATA: invalid UTF-8
// and control characters other than tab, newline and carriage return.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// The JUnit document, in the element order the common schemas require.
type (
	junitSuites struct {
		XMLName xml.Name `xml:"testsuites"`
		Name    string   `xml:"name,attr"`
		junitCounts
		Suites []junitSuite `xml:"testsuite"`
	}
	junitCounts struct {
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Time     string `xml:"time,attr"`
	}
	junitSuite struct {
		Name string `xml:"name,attr"`
		junitCounts
		Timestamp  string           `xml:"timestamp,attr,omitempty"`
		Properties *junitProperties `xml:"properties"`
		Cases      []junitCase      `xml:"testcase"`
	}
	junitProperties struct {
		Props []junitProperty `xml:"property"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name       string           `xml:"name,attr"`
		Classname  string           `xml:"classname,attr"`
		Time       string           `xml:"time,attr"`
		Properties *junitProperties `xml:"properties"`
		Skipped    *junitSkipped    `xml:"skipped"`
		Failure    *junitFailure    `xml:"failure"`
		SystemOut  *junitOut        `xml:"system-out"`
	}
	// junitOut is CDATA so that a log stays readable in the file; the
	// encoder splits any "]]>" in it.
	junitOut struct {
		Text string `xml:",cdata"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)
