package conformance

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/tools/txtar"

	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

// Case is one pipeline and what must come of running it.
type Case struct {
	Name     string
	File     string // where it was read from, for messages
	Pipeline *ir.Pipeline
	Params   map[string]ir.Value
	Expect   Expect
}

// Expect is what a run of a case must report.
type Expect struct {
	// Status is the run's: Succeeded or Failed.
	Status report.State `yaml:"status"`
	// Steps are every step the run reports, by display name ("train",
	// "train[2]", "report/r1"): its final state and, where given, output
	// values (exact text) and a substring of its message.
	Steps map[string]StepExpect `yaml:"steps"`
	// Order lists constraints "A < B": step A finished before B started.
	Order []string `yaml:"order"`
	// Rerun lists the steps that must be Cached when the case runs again
	// with the same store. Without it: every step that Succeeded.
	Rerun *[]string `yaml:"rerun"`
}

// StepExpect is one step's expected outcome.
type StepExpect struct {
	State   report.State      `yaml:"state"`
	Outputs map[string]string `yaml:"outputs"`
	Message string            `yaml:"message"`
	// MinAttempts, when set, is the least number of attempts (a retry
	// that eventually succeeds).
	MinAttempts int `yaml:"minAttempts"`
}

// Load reads every case of fsys (NAME.txtar files at its root): sections
// pipeline.yaml, expect.yaml and, optionally, params (NAME=VALUE lines).
func Load(fsys fs.FS) ([]*Case, error) {
	files, err := fs.Glob(fsys, "*.txtar")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no cases (*.txtar)")
	}
	var cases []*Case
	var errs []string
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err == nil {
			var c *Case
			if c, err = parseCase(f, data); err == nil {
				cases = append(cases, c)
				continue
			}
		}
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return cases, nil
}

func parseCase(file string, data []byte) (*Case, error) {
	a := txtar.Parse(data)
	sec := map[string][]byte{}
	for _, f := range a.Files {
		sec[f.Name] = f.Data
	}
	c := &Case{Name: strings.TrimSuffix(path.Base(file), ".txtar"), File: file}
	if sec["pipeline.yaml"] == nil || sec["expect.yaml"] == nil {
		return nil, fmt.Errorf("%s: want sections pipeline.yaml and expect.yaml", file)
	}
	p, err := ir.Parse(file+"#pipeline.yaml", sec["pipeline.yaml"])
	if err != nil {
		return nil, err
	}
	var overrides []string
	for _, l := range strings.Split(string(sec["params"]), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			overrides = append(overrides, l)
		}
	}
	o, err := ir.ParseOverrides(overrides)
	if err == nil {
		c.Params, err = p.ResolveParams(o)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: params: %w", file, err)
	}
	c.Pipeline = p
	d := yaml.NewDecoder(bytes.NewReader(sec["expect.yaml"]))
	d.KnownFields(true)
	if err := d.Decode(&c.Expect); err != nil {
		return nil, fmt.Errorf("%s#expect.yaml: %w", file, err)
	}
	if err := c.Expect.check(); err != nil {
		return nil, fmt.Errorf("%s#expect.yaml: %w", file, err)
	}
	return c, nil
}

// check catches expectations that no run could meet.
func (e *Expect) check() error {
	var errs []string
	if e.Status != report.Succeeded && e.Status != report.Failed {
		errs = append(errs, fmt.Sprintf("status %q: want Succeeded or Failed", e.Status))
	}
	if len(e.Steps) == 0 {
		errs = append(errs, "steps: none")
	}
	for name, s := range e.Steps {
		if !s.State.Done() {
			errs = append(errs, fmt.Sprintf("steps.%s.state %q: want Succeeded, Cached, Skipped or Failed", name, s.State))
		}
	}
	for _, o := range e.Order {
		a, b, err := orderPair(o)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, n := range []string{a, b} {
			if _, ok := e.Steps[n]; !ok {
				errs = append(errs, fmt.Sprintf("order %q: no step %q in steps", o, n))
			}
		}
	}
	if e.Rerun != nil {
		for _, n := range *e.Rerun {
			if _, ok := e.Steps[n]; !ok {
				errs = append(errs, fmt.Sprintf("rerun: no step %q in steps", n))
			}
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func orderPair(o string) (string, string, error) {
	a, b, ok := strings.Cut(o, "<")
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if !ok || a == "" || b == "" {
		return "", "", fmt.Errorf("order %q: want \"A < B\"", o)
	}
	return a, b, nil
}

// rerunCached are the steps a second run must report Cached.
func (e *Expect) rerunCached() []string {
	if e.Rerun != nil {
		return *e.Rerun
	}
	var out []string
	for name, s := range e.Steps {
		if s.State == report.Succeeded {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
