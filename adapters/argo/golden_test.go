package argo_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	"github.com/argoproj/argo-workflows/v3/workflow/templateresolution"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/ir"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

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
	return argo.Compile(p, params, opts)
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden cases in testdata")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			a := parseArchive(data)
			src := a.get("pipeline.yaml")
			if src == nil {
				t.Fatal("no pipeline.yaml section")
			}
			var overrides []string
			for _, line := range strings.Split(string(a.get("params")), "\n") {
				if line = strings.TrimSpace(line); line != "" {
					overrides = append(overrides, line)
				}
			}
			wf, err := compileYAML(t, file, src, overrides, testOptions)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			argoValidate(t, wf)
			got, err := yaml.Marshal(wf)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				a.set("workflow.yaml", got)
				if err := os.WriteFile(file, a.format(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := a.get("workflow.yaml")
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("workflow (-want +got):\n%s\n(go test ./adapters/argo -update rewrites the golden files)", diff)
			}
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
			wf, err := compileYAML(t, file, src, nil, testOptions)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			argoValidate(t, wf)
		})
	}
}

// archive is a txtar archive (golang.org/x/tools/txtar's format): a
// comment, then files, each introduced by a line "-- NAME --".
type archive struct {
	comment []byte
	files   []archiveFile
}

type archiveFile struct {
	name string
	data []byte
}

func parseArchive(data []byte) *archive {
	a := &archive{}
	var cur *archiveFile
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		s := strings.TrimRight(string(line), "\n")
		if strings.HasPrefix(s, "-- ") && strings.HasSuffix(s, " --") && len(s) > 6 {
			a.files = append(a.files, archiveFile{name: strings.TrimSpace(s[3 : len(s)-3])})
			cur = &a.files[len(a.files)-1]
			continue
		}
		if cur == nil {
			a.comment = append(a.comment, line...)
		} else {
			cur.data = append(cur.data, line...)
		}
	}
	return a
}

func (a *archive) get(name string) []byte {
	for _, f := range a.files {
		if f.name == name {
			return f.data
		}
	}
	return nil
}

func (a *archive) set(name string, data []byte) {
	for i := range a.files {
		if a.files[i].name == name {
			a.files[i].data = data
			return
		}
	}
	a.files = append(a.files, archiveFile{name: name, data: data})
}

func (a *archive) format() []byte {
	var b bytes.Buffer
	b.Write(a.comment)
	for _, f := range a.files {
		b.WriteString("-- " + f.name + " --\n")
		b.Write(f.data)
		if len(f.data) > 0 && f.data[len(f.data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
