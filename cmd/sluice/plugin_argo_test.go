package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoplugins "github.com/argoproj/argo-workflows/v3/workflow/util/plugins"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/sluice-dev/sluice/adapters/argo"
	argoplugin "github.com/sluice-dev/sluice/plugins/argo"
	"github.com/sluice-dev/sluice/plugins/argo/check"
)

// TestInstallArgoPlugin compares `sluice install argo-plugin` with the
// golden files in testdata/install (-update rewrites them), has Argo's
// controller code read the ConfigMap back (plugin.FromConfigMap, which
// validates it), and checks that the sidecar's command line is this
// binary's `plugin serve argo`, with flags it takes.
func TestInstallArgoPlugin(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"argo-plugin.yaml", []string{"-n", "ml"}},
		{"argo-plugin-agent.json", []string{"-n", "ml", "--workflow-service-account", "argo-workflow", "--cache-secret", "minio-creds",
			"--port", "7355", "--image", "registry.example.com/sluice:v1", "-o", "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, stdout, stderr := sluice(t, append([]string{"install", "argo-plugin"}, tt.args...)...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
			}
			checkGolden(t, filepath.Join("testdata", "install", tt.golden), stdout, "InstallArgoPlugin")

			var cm *corev1.ConfigMap
			for _, doc := range objectsOf(t, stdout) {
				var obj corev1.ConfigMap
				if err := json.Unmarshal(doc, &obj); err != nil {
					t.Fatal(err)
				}
				if obj.Kind == "ConfigMap" {
					cm = &obj
				}
			}
			if cm == nil {
				t.Fatal("no ConfigMap")
			}
			p, err := argoplugins.FromConfigMap(cm)
			if err != nil {
				t.Fatalf("Argo's controller would not load the plugin: %v", err)
			}
			c := p.Spec.Sidecar.Container
			if p.Name != argoPluginName || !p.Spec.Sidecar.AutomountServiceAccountToken || c.Name != argoPluginSA {
				t.Errorf("plugin %s (token mounted: %v), container %s", p.Name, p.Spec.Sidecar.AutomountServiceAccountToken, c.Name)
			}
			if c.Command[0] != "/usr/bin/sluice" {
				t.Errorf("command %q: the plugin image holds /usr/bin/sluice", c.Command)
			}
			root := newRootCmd(io.Discard, io.Discard)
			cmd, rest, err := root.Find(c.Args)
			if err != nil || cmd.CommandPath() != "sluice plugin serve argo" {
				t.Fatalf("the sidecar runs %q: %v, %v", c.Args, cmd, err)
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("the sidecar's flags %q: %v", rest, err)
			}
			if addr := cmd.Flags().Lookup("addr").Value.String(); !strings.HasSuffix(addr, fmt.Sprintf(":%d", c.Ports[0].ContainerPort)) {
				t.Errorf("listens on %s, but Argo calls the container port %d", addr, c.Ports[0].ContainerPort)
			}
		})
	}
}

// objectsOf splits install's output (a YAML stream, or a JSON List) into
// each object's JSON.
func objectsOf(t *testing.T, out string) [][]byte {
	t.Helper()
	var list struct{ Items []json.RawMessage }
	if err := json.Unmarshal([]byte(out), &list); err == nil {
		var docs [][]byte
		for _, it := range list.Items {
			docs = append(docs, it)
		}
		return docs
	}
	var docs [][]byte
	for _, doc := range strings.Split(out, "---\n") {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, j)
	}
	return docs
}

func TestInstallArgoPluginUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--port", "0"},
		{"--port", "70000"},
		{"--workflow-service-account", "Not_A_Name"},
		{"-n", "ml", "--cache-secret", "a/b"},
		{"-o", "xml"},
	} {
		code, stdout, stderr := sluice(t, append([]string{"install", "argo-plugin"}, args...)...)
		if code != exitUsage || stdout != "" {
			t.Errorf("%q: exit code %d, stdout %q, stderr %q; want %d and nothing on stdout", args, code, stdout, stderr, exitUsage)
		}
	}
}

// TestServeArgoPlugin runs `sluice plugin serve argo` as the sidecar does
// (without Kubernetes: it then reads no Secret, and says so), answers the
// agent, refuses anyone else, and stops when its context ends (SIGTERM).
func TestServeArgoPlugin(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cr3t"), 0o440); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	srv := serve(t, "plugin", "serve", "argo", "--addr", addr, "--token-file", tokenFile,
		"--kubeconfig", filepath.Join(dir, "no-kubeconfig"))

	call := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+argoplugin.ExecutePath,
			strings.NewReader(`{"workflow": {"metadata": {"name": "w", "namespace": "ml"}}, "template": {"name": "t", "plugin": {"slack": {}}}}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	var status int
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if status, body = call("s3cr3t"); status != 0 {
			break
		}
	}
	if status != http.StatusOK || body != "{}" {
		t.Fatalf("another plugin's template: %d %s, want 200 {}", status, body)
	}
	if status, _ := call("guess"); status != http.StatusForbidden {
		t.Errorf("a wrong token: %d, want 403", status)
	}
	srv.stop(t)
}

func TestServeArgoPluginNoToken(t *testing.T) {
	code, _, stderr := sluice(t, "plugin", "serve", "argo", "--addr", "127.0.0.1:0", "--token-file", filepath.Join(t.TempDir(), "none"))
	if code != exitFailure {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitFailure, stderr)
	}
}

// TestCompileArgoCachePlugin: --cache-plugin reaches the adapter: the
// steps run through the plugin's check, whose request names the
// credentials Secret; without it there is no plugin template.
func TestCompileArgoCachePlugin(t *testing.T) {
	file := pipelineFile(t, argoPipeline)
	for _, withPlugin := range []bool{false, true} {
		args := append([]string{"compile", "-t", "argo", file, "-o", "json"}, argoCacheFlags...)
		if withPlugin {
			args = append(args, "--cache-plugin")
		}
		code, stdout, stderr := sluice(t, args...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var wf wfv1.Workflow
		if err := json.Unmarshal([]byte(stdout), &wf); err != nil {
			t.Fatal(err)
		}
		var reqs []check.Request
		for _, tm := range wf.Spec.Templates {
			if tm.Plugin == nil {
				continue
			}
			var v map[string]check.Request
			if err := json.Unmarshal(tm.Plugin.Value, &v); err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, v[check.Key])
		}
		if got := len(reqs) > 0; got != withPlugin {
			t.Errorf("--cache-plugin %v: %d plugin templates", withPlugin, len(reqs))
		}
		for _, r := range reqs {
			if r.Secret != "minio" || len(r.Args) == 0 || r.Args[0] != "--cache=s3://sluice/cache?endpoint=minio.ml:9000&credentials="+argo.CredentialsDir {
				t.Errorf("plugin request %+v", r)
			}
		}
	}
}
