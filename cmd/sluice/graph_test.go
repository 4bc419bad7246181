package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// checkGolden compares got with the golden file, which -update rewrites;
// test names the test that -update should be run with.
func checkGolden(t *testing.T, golden, got, test string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got); go test ./cmd/sluice -run %s -update rewrites it if this is intended:\n%s", golden, test, diff)
	}
}

// TestGraphGolden renders every testdata/graph/*.yaml in every format and
// compares with the golden files beside it (NAME.dot, NAME.mmd); -update
// rewrites them. Dot output also goes through Graphviz when it is
// installed.
func TestGraphGolden(t *testing.T) {
	exts := map[string]string{"dot": ".dot", "mermaid": ".mmd"}
	files, err := filepath.Glob("testdata/graph/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/graph/*.yaml: %v", err)
	}
	for _, file := range files {
		for _, f := range graphFormats {
			golden := strings.TrimSuffix(file, ".yaml") + exts[f.name]
			t.Run(filepath.Base(golden), func(t *testing.T) {
				code, stdout, stderr := sluice(t, "graph", "-o", f.name, file)
				if code != exitOK || stderr != "" {
					t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
				}
				checkGolden(t, golden, stdout, "Graph")
				if f.name == "dot" {
					checkDot(t, stdout)
				}
			})
		}
	}
}

// checkDot runs Graphviz on a dot graph, when it is installed.
func checkDot(t *testing.T, graph string) {
	t.Helper()
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Log("Graphviz dot not installed: output not checked")
		return
	}
	cmd := exec.Command(dot, "-Tsvg", "-o", os.DevNull)
	cmd.Stdin = strings.NewReader(graph)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("dot rejects the graph: %v\n%s", err, out)
	}
}

func TestGraphDefaultIsDot(t *testing.T) {
	_, def, _ := sluice(t, "graph", "testdata/valid.yaml")
	_, dot, _ := sluice(t, "graph", "-o", "dot", "testdata/valid.yaml")
	if def == "" || def != dot {
		t.Errorf("graph without -o:\n%s\nwant the dot output:\n%s", def, dot)
	}
}

func TestGraphInvalid(t *testing.T) {
	code, stdout, stderr := sluice(t, "graph", "testdata/invalid.yaml")
	if code != exitFailure || stdout != "" {
		t.Errorf("exit code %d, stdout %q; want 1 and nothing", code, stdout)
	}
	if diff := cmp.Diff(wantErrors(t, "testdata/invalid.yaml"), stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

func TestLabelEscaping(t *testing.T) {
	lines := []string{`a "b" \ c`, "x < y && z > #1\nnext"}
	if got, want := dotLabel(lines), `"a \"b\" \\ c\nx < y && z > #1\nnext"`; got != want {
		t.Errorf("dotLabel = %s, want %s", got, want)
	}
	if got, want := mermaidLabel(lines), `"a #quot;b#quot; \ c<br>x #lt; y #amp;#amp; z #gt; #35;1<br>next"`; got != want {
		t.Errorf("mermaidLabel = %s, want %s", got, want)
	}
}
