package argo_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	"github.com/argoproj/argo-workflows/v3/workflow/templateresolution"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
)

// testOptions are the options every golden case compiles with.
var testOptions = argo.Options{
	LauncherImage: "ghcr.io/sluice-dev/sluice-exec:test",
	CacheURL:      "s3://sluice-cache/runs?endpoint=minio.sluice:9000&insecure=true",
	CacheSecret:   "sluice-cache",
}

// argoValidate runs Argo's own validator, as `argo lint` does, with the
// empty template getters of its own tests (a Workflow of ours refers to
// no WorkflowTemplate).
func argoValidate(t testing.TB, wf *wfv1.Workflow) {
	t.Helper()
	cs := fake.NewSimpleClientset()
	wftmpl := templateresolution.WrapWorkflowTemplateInterface(cs.ArgoprojV1alpha1().WorkflowTemplates(metav1.NamespaceDefault))
	cwftmpl := templateresolution.WrapClusterWorkflowTemplateInterface(cs.ArgoprojV1alpha1().ClusterWorkflowTemplates())
	if err := validate.ValidateWorkflow(wftmpl, cwftmpl, wf.DeepCopy(), nil, validate.ValidateOpts{Lint: true}); err != nil {
		t.Fatalf("Argo's validator rejects the Workflow: %v", err)
	}
	_ = context.Background
}

// compileYAML parses and compiles a pipeline with params given as k=v.
func compileYAML(t testing.TB, name string, src []byte, overrides []string, opts argo.Options) (*wfv1.Workflow, error) {
	t.Helper()
	p, params := plantest.ParsePipeline(t, name, src, overrides)
	return argo.Compile(p, params, opts)
}

// caseOptions applies a case's options section (KEY=VALUE lines) to
// testOptions.
func caseOptions(t *testing.T, c *plantest.Case) argo.Options {
	t.Helper()
	opts := testOptions
	for _, l := range c.Lines("options") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "cachePlugin":
			b, err := strconv.ParseBool(v)
			if err != nil {
				t.Fatalf("option %s: %v", l, err)
			}
			opts.CachePlugin = b
		case "cacheSecret":
			opts.CacheSecret = v
		case "namespace":
			opts.Namespace = v
		default:
			t.Fatalf("unknown option %q", k)
		}
	}
	return opts
}

// TestGolden compiles each testdata/*.txtar case's pipeline.yaml (with its
// params and options) and compares the Workflow, which must pass Argo's
// validation, with workflow.yaml, and the specs it carries with specs.
func TestGolden(t *testing.T) {
	for _, c := range plantest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			p, params := c.Pipeline(t)
			wf, err := argo.Compile(p, params, caseOptions(t, c))
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			argoValidate(t, wf)
			got, err := yaml.Marshal(wf)
			if err != nil {
				t.Fatal(err)
			}
			c.Check(t, "workflow.yaml", got)
		})
	}
}

func TestExamples(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			plugin := testOptions
			plugin.CachePlugin = true
			for _, opts := range []argo.Options{testOptions, plugin} {
				wf, err := compileYAML(t, file, src, nil, opts)
				if err != nil {
					t.Fatalf("Compile (cache plugin %v): %v", opts.CachePlugin, err)
				}
				argoValidate(t, wf)
			}
		})
	}
}
