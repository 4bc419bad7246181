package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// TestInstallTektonPlugin compares `sluice install tekton-plugin` with
// the golden files in testdata/install (-update rewrites them), and checks
// that the Deployment runs this binary's `plugin serve tekton` with flags
// it takes, as a non-root user with a read-only root filesystem, under
// the ServiceAccount the ClusterRole is bound to.
func TestInstallTektonPlugin(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"tekton-plugin.yaml", nil},
		{"tekton-plugin.json", []string{"-n", "ci", "--image", "registry.example.com/sluice:v1", "-o", "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, stdout, stderr := sluice(t, append([]string{"install", "tekton-plugin"}, tt.args...)...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
			}
			checkGolden(t, filepath.Join("testdata", "install", tt.golden), stdout, "InstallTektonPlugin")

			var kinds []string
			var dep appsv1.Deployment
			var role rbacv1.ClusterRole
			var binding rbacv1.ClusterRoleBinding
			for _, doc := range objectsOf(t, stdout) {
				var meta struct{ Kind string }
				if err := json.Unmarshal(doc, &meta); err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, meta.Kind)
				into := map[string]any{"Deployment": &dep, "ClusterRole": &role, "ClusterRoleBinding": &binding}[meta.Kind]
				if into != nil {
					if err := json.Unmarshal(doc, into); err != nil {
						t.Fatal(err)
					}
				}
			}
			if diff := cmp.Diff([]string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment"}, kinds); diff != "" {
				t.Errorf("kinds, in the order to apply them (-want +got):\n%s", diff)
			}
			pod := dep.Spec.Template.Spec
			c := pod.Containers[0]
			if c.Command[0] != "/usr/bin/sluice" {
				t.Errorf("command %q: the plugin image holds /usr/bin/sluice", c.Command)
			}
			root := newRootCmd(io.Discard, io.Discard)
			cmd, rest, err := root.Find(c.Args)
			if err != nil || cmd.CommandPath() != "sluice plugin serve tekton" {
				t.Fatalf("the Deployment runs %q: %v, %v", c.Args, cmd, err)
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("its flags %q: %v", rest, err)
			}
			sc := c.SecurityContext
			if !*pod.SecurityContext.RunAsNonRoot || *pod.SecurityContext.RunAsUser == 0 || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation {
				t.Errorf("pod security %+v, container %+v: want non-root, read-only, no escalation", pod.SecurityContext, sc)
			}
			if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
				t.Errorf("resources %+v: want requests and a memory limit", c.Resources)
			}
			s := binding.Subjects[0]
			if binding.RoleRef.Name != role.Name || s.Name != pod.ServiceAccountName || s.Namespace != dep.Namespace {
				t.Errorf("the ClusterRole %s is bound to %s/%s, the Deployment runs as %s/%s", binding.RoleRef.Name, s.Namespace, s.Name, dep.Namespace, pod.ServiceAccountName)
			}
			// What the controller does, the ClusterRole grants.
			for _, need := range []struct{ group, resource, verb string }{
				{"tekton.dev", "customruns", "watch"}, {"tekton.dev", "customruns/status", "update"},
				{"tekton.dev", "taskruns", "create"}, {"tekton.dev", "taskruns", "watch"}, {"tekton.dev", "taskruns", "patch"},
				{"tekton.dev", "tasks", "get"}, {"", "secrets", "get"}, {"", "events", "create"},
			} {
				if !grants(role.Rules, need.group, need.resource, need.verb) {
					t.Errorf("the ClusterRole does not grant %s on %s.%s", need.verb, need.resource, need.group)
				}
			}
		})
	}
}

func grants(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

func TestInstallTektonPluginUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "Not_A_Name"},
		{"--image", ""},
		{"-o", "xml"},
	} {
		code, stdout, stderr := sluice(t, append([]string{"install", "tekton-plugin"}, args...)...)
		if code != exitUsage || stdout != "" {
			t.Errorf("%q: exit code %d, stdout %q, stderr %q; want %d and nothing on stdout", args, code, stdout, stderr, exitUsage)
		}
	}
}

// TestServeTektonPlugin runs `sluice plugin serve tekton` against an API
// server that has no CustomRun: it lists and watches CustomRuns and
// TaskRuns in every namespace, and stops when its context ends (SIGTERM).
func TestServeTektonPlugin(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	done := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		kind := map[string]string{"customruns": "CustomRun", "taskruns": "TaskRun"}[filepath.Base(r.URL.Path)]
		apiVersion := "tekton.dev/" + filepath.Base(filepath.Dir(r.URL.Path))
		if r.URL.Query().Get("watch") == "true" {
			w.WriteHeader(http.StatusOK)
			if r.URL.Query().Get("sendInitialEvents") == "true" {
				// client-go's informers list by watching: no object, then
				// the bookmark that ends the initial events.
				fmt.Fprintf(w, `{"type": "BOOKMARK", "object": {"kind": %q, "apiVersion": %q, "metadata": {"resourceVersion": "1", "annotations": {"k8s.io/initial-events-end": "true"}}}}`+"\n", kind, apiVersion)
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		fmt.Fprintf(w, `{"kind": %q, "apiVersion": %q, "metadata": {"resourceVersion": "1"}, "items": []}`, kind+"List", apiVersion)
	}))
	defer api.Close()
	defer close(done)
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: `+api.URL+`}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: ml}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}

	srv := serve(t, "plugin", "serve", "tekton", "--kubeconfig", kubeconfig)
	stderr := srv.Stderr
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "watching"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the controller did not start; stderr:\n%s", stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), `in="all namespaces"`) {
		t.Errorf("stderr %q: want it to watch all namespaces", stderr.String())
	}
	mu.Lock()
	for _, want := range []string{"/apis/tekton.dev/v1beta1/customruns", "/apis/tekton.dev/v1/taskruns"} {
		if !slices.Contains(paths, want) {
			t.Errorf("no request for %s (cluster-wide); requests %q", want, paths)
		}
	}
	mu.Unlock()
	srv.stop(t)
}

func TestServeTektonPluginUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--workers", "0"}, exitUsage},
		{[]string{"--lookup-timeout", "0s"}, exitUsage},
		{[]string{"--kubeconfig", filepath.Join(t.TempDir(), "none")}, exitFailure},
	} {
		code, _, stderr := sluice(t, append([]string{"plugin", "serve", "tekton"}, tc.args...)...)
		if code != tc.code {
			t.Errorf("%q: exit code %d, want %d; stderr %q", tc.args, code, tc.code, stderr)
		}
	}
}

// syncBuffer is a bytes.Buffer that a goroutine writes while the test
// reads it.

// TestCompileTektonCachePlugin: compile -t tekton --cache-plugin makes
// each cacheable step a CachedStep (Tekton's validation passing), and
// needs --cache.
func TestCompileTektonCachePlugin(t *testing.T) {
	file := pipelineFile(t, tektonPipeline)
	code, stdout, stderr := sluice(t, append([]string{"compile", "-t", "tekton", file, "--cache-plugin", "-n", "ml"}, tektonCacheFlags...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var pr v1.PipelineRun
	if err := yaml.UnmarshalStrict([]byte(stdout), &pr); err != nil {
		t.Fatalf("output is not a PipelineRun: %v\n%s", err, stdout)
	}
	var kinds []string
	for _, pt := range pr.Spec.PipelineSpec.Tasks {
		kinds = append(kinds, pt.Name+":"+pt.TaskSpec.Kind)
	}
	if diff := cmp.Diff([]string{"greet:CachedStep", "shout-when:", "shout:CachedStep"}, kinds); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
	code, _, stderr = sluice(t, "compile", "-t", "tekton", file, "--cache-plugin")
	if code != exitFailure || !strings.Contains(stderr, "--cache") {
		t.Errorf("without --cache: exit %d, stderr %q; want a failure that names --cache", code, stderr)
	}
}
