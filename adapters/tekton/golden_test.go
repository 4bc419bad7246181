package tekton_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
)

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
	p, params := plantest.ParsePipeline(t, name, src, overrides)
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

// caseOptions applies a case's options section: KEY=VALUE lines.
func caseOptions(t *testing.T, c *plantest.Case) tekton.Options {
	opts := testOptions
	for _, l := range c.Lines("options") {
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
		case "cachePlugin":
			b, err := strconv.ParseBool(v)
			if err != nil {
				t.Fatal(err)
			}
			opts.CachePlugin = b
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

// TestGolden compiles each testdata/*.txtar case's pipeline.yaml (with its
// params and options sections) and compares the objects, which must pass
// Tekton's validation, with objects.yaml; or, for a pipeline Tekton cannot
// run, the error with error.
func TestGolden(t *testing.T) {
	for _, c := range plantest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			p, params := c.Pipeline(t)
			objs, err := tekton.Compile(p, params, caseOptions(t, c))
			if err != nil {
				if !errors.Is(err, tekton.ErrUnsupported) && !errors.Is(err, tekton.ErrLimit) {
					t.Errorf("error %v wraps neither ErrUnsupported nor ErrLimit", err)
				}
				c.Check(t, "error", []byte(err.Error()+"\n"))
				return
			}
			mustValidate(t, objs)
			c.Check(t, "objects.yaml", marshal(t, objs))
		})
	}
}

// TestExamples compiles every example, in both forms, with and without
// the cache plugin, and validates the objects with Tekton's own code.
func TestExamples(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, file := range files {
		for _, emit := range []tekton.Emit{tekton.EmitPipelineRun, tekton.EmitPipeline} {
			for _, plugin := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/plugin=%v", filepath.Base(file), emit, plugin), func(t *testing.T) {
					src, err := os.ReadFile(file)
					if err != nil {
						t.Fatal(err)
					}
					opts := testOptions
					opts.Emit, opts.CachePlugin = emit, plugin
					objs, err := compileYAML(t, file, src, nil, opts)
					if err != nil {
						t.Fatalf("Compile: %v", err)
					}
					mustValidate(t, objs)
				})
			}
		}
	}
}
