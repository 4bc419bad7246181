package tekton_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
	"sigs.k8s.io/yaml"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/ir"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testOptions are the options every case compiles with, unless its
// options section says otherwise.
var testOptions = tekton.Options{
	LauncherImage: "ghcr.io/sluice-dev/sluice-exec:test",
	Cache:         "s3://sluice-cache/runs?endpoint=minio.sluice:9000&insecure=true",
	CacheSecret:   "sluice-cache",
}

// compileYAML parses and compiles a pipeline with parameters given as
// name=value.
func compileYAML(t testing.TB, name string, src []byte, overrides []string, opts tekton.Options) (*tekton.Objects, error) {
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
	return tekton.Compile(p, params, opts)
}

// mustValidate runs Tekton's own SetDefaults and Validate on the objects,
// with the feature flags the docs say the output needs.
func mustValidate(t testing.TB, objs *tekton.Objects) {
	t.Helper()
	ctx, err := tekton.Context(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tekton.Validate(ctx, objs); err != nil {
		t.Fatalf("Tekton rejects the objects: %v", err)
	}
}

// marshal renders objects as a YAML stream.
func marshal(t testing.TB, objs *tekton.Objects) []byte {
	t.Helper()
	var b bytes.Buffer
	for i, o := range objs.List() {
		if i > 0 {
			b.WriteString("---\n")
		}
		y, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(y)
	}
	return b.Bytes()
}

// lines returns the non-empty, trimmed lines of a section.
func lines(data []byte) []string {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// caseOptions applies a case's options section: KEY=VALUE lines.
func caseOptions(t *testing.T, data []byte) tekton.Options {
	opts := testOptions
	for _, l := range lines(data) {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "emit":
			opts.Emit = tekton.Emit(v)
		case "namespace":
			opts.Namespace = v
		case "serviceAccount":
			opts.ServiceAccount = v
		case "cache":
			opts.Cache = v
		case "cacheSecret":
			opts.CacheSecret = v
		case "maxMatrix":
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			opts.MaxMatrix = n
		default:
			t.Fatalf("unknown option %q", k)
		}
	}
	return opts
}

func section(a *txtar.Archive, name string) []byte {
	for _, f := range a.Files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}

func setSection(a *txtar.Archive, name string, data []byte) {
	for i := range a.Files {
		if a.Files[i].Name == name {
			a.Files[i].Data = data
			return
		}
	}
	a.Files = append(a.Files, txtar.File{Name: name, Data: data})
}

// TestGolden compiles each testdata/*.txtar case's pipeline.yaml (with its
// params and options sections) and compares the objects, which must pass
// Tekton's validation, with objects.yaml; or, for a pipeline Tekton cannot
// run, the error with error.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden cases in testdata")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			a, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			src := section(a, "pipeline.yaml")
			if src == nil {
				t.Fatal("no pipeline.yaml section")
			}
			objs, err := compileYAML(t, "pipeline.yaml", src, lines(section(a, "params")), caseOptions(t, section(a, "options")))
			name, got := "objects.yaml", []byte(nil)
			if err != nil {
				if !errors.Is(err, tekton.ErrUnsupported) && !errors.Is(err, tekton.ErrLimit) {
					t.Errorf("error %v wraps neither ErrUnsupported nor ErrLimit", err)
				}
				name, got = "error", []byte(err.Error()+"\n")
			} else {
				mustValidate(t, objs)
				got = marshal(t, objs)
			}
			if *update {
				setSection(a, name, got)
				if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := section(a, name)
			if want == nil {
				t.Fatalf("no %s section; got:\n%s\n(go test ./adapters/tekton -update rewrites the golden files)", name, got)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s\n(go test ./adapters/tekton -update rewrites the golden files)", name, diff)
			}
		})
	}
}

// TestExamples compiles every example, in both forms, and validates the
// objects with Tekton's own code.
func TestExamples(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, file := range files {
		for _, emit := range []tekton.Emit{tekton.EmitPipelineRun, tekton.EmitPipeline} {
			t.Run(filepath.Base(file)+"/"+string(emit), func(t *testing.T) {
				src, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				opts := testOptions
				opts.Emit = emit
				objs, err := compileYAML(t, file, src, nil, opts)
				if err != nil {
					t.Fatalf("Compile: %v", err)
				}
				mustValidate(t, objs)
			})
		}
	}
}
