package plantest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/ir"
)

// Update is the -update flag of the adapters' golden tests.
var Update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Case is one golden case: a txtar archive (testdata/NAME.txtar) whose
// sections are the pipeline (pipeline.yaml), parameter overrides
// (params: NAME=VALUE lines), the adapter's options (options: KEY=VALUE
// lines), and what the adapter made of them.
type Case struct {
	Name string
	file string
	a    *txtar.Archive
}

// Cases are the golden cases in testdata.
func Cases(t testing.TB) []*Case {
	t.Helper()
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden cases in testdata")
	}
	var cases []*Case
	for _, f := range files {
		a, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, &Case{Name: strings.TrimSuffix(filepath.Base(f), ".txtar"), file: f, a: a})
	}
	return cases
}

// Section is the named section's text, nil when there is none.
func (c *Case) Section(name string) []byte {
	for _, f := range c.a.Files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}

// Lines are a section's non-empty lines, trimmed, less # comments.
func (c *Case) Lines(name string) []string {
	var out []string
	for _, l := range strings.Split(string(c.Section(name)), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Pipeline parses the case's pipeline.yaml and resolves its parameters
// with the params section's overrides.
func (c *Case) Pipeline(t testing.TB) (*ir.Pipeline, map[string]ir.Value) {
	t.Helper()
	src := c.Section("pipeline.yaml")
	if src == nil {
		t.Fatal("no pipeline.yaml section")
	}
	return ParsePipeline(t, "pipeline.yaml", src, c.Lines("params"))
}

// ParsePipeline parses a pipeline and resolves its parameters with overrides
// given as NAME=VALUE.
func ParsePipeline(t testing.TB, name string, src []byte, overrides []string) (*ir.Pipeline, map[string]ir.Value) {
	t.Helper()
	p, err := ir.Parse(name, src)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	o, err := ir.ParseOverrides(overrides)
	if err != nil {
		t.Fatal(err)
	}
	params, err := p.ResolveParams(o)
	if err != nil {
		t.Fatalf("params: %v", err)
	}
	return p, params
}

// Check compares got with the named section, and the launcher specs that
// got carries, decoded, with the specs section (so that a reviewer reads
// what each task runs); with -update it rewrites both instead.
func (c *Case) Check(t *testing.T, name string, got []byte) {
	t.Helper()
	want := map[string][]byte{name: got, "specs": Specs(got)}
	for _, sec := range []string{name, "specs"} {
		if *Update {
			c.set(sec, want[sec])
			continue
		}
		have := c.Section(sec)
		if have == nil && len(want[sec]) > 0 {
			t.Errorf("no %s section; got:\n%s\n(go test -update rewrites the golden files)", sec, want[sec])
			continue
		}
		if diff := cmp.Diff(string(have), string(want[sec])); diff != "" {
			t.Errorf("%s (-want +got):\n%s\n(go test -update rewrites the golden files)", sec, diff)
		}
	}
	if *Update {
		if err := os.WriteFile(c.file, txtar.Format(c.a), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (c *Case) set(name string, data []byte) {
	for i := range c.a.Files {
		if c.a.Files[i].Name == name {
			if len(data) == 0 {
				c.a.Files = append(c.a.Files[:i], c.a.Files[i+1:]...)
			} else {
				c.a.Files[i].Data = data
			}
			return
		}
	}
	if len(data) > 0 {
		c.a.Files = append(c.a.Files, txtar.File{Name: name, Data: data})
	}
}

// b64Token is text that may be an encoded launcher spec.
var b64Token = regexp.MustCompile(`[A-Za-z0-9+/]{24,}={0,2}`)

// Specs lists the launcher specs (launch.Spec.Encode's form) in text, in
// order of first appearance, one JSON object a line.
func Specs(text []byte) []byte {
	var b bytes.Buffer
	seen := map[string]bool{}
	for _, tok := range b64Token.FindAll(text, -1) {
		if seen[string(tok)] {
			continue
		}
		seen[string(tok)] = true
		js, err := launch.SpecJSON(string(tok))
		if err != nil || !json.Valid(js) || !bytes.HasPrefix(js, []byte(`{"pipeline":`)) {
			continue
		}
		b.Write(js)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
