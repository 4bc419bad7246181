package argo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	executorplugins "github.com/argoproj/argo-workflows/v3/pkg/plugins/executor"
	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	plugin "github.com/sluice-dev/sluice/plugins/argo"
	"github.com/sluice-dev/sluice/plugins/argo/check"
	"github.com/sluice-dev/sluice/plugins/probe"
)

const token = "0123456789abcdefghijklmnopqrstuv"

const stepPipeline = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: p}
spec:
  params: [{name: n, type: int, default: 3}]
  defaults: {image: busybox:1.36}
  steps:
    - name: s
      command: [sh, -c, 'echo "v=${{ params.n }}" > ${{ outputs.params.v }}; echo x > ${{ outputs.artifacts.f }}']
      outputs: {params: [{name: v}], artifacts: [{name: f}]}
`

// launcherArgs are step s's launcher arguments, as the check template
// holds them once Argo substituted them: --cache first.
func launcherArgs(t testing.TB, store, n string) []string {
	t.Helper()
	p, _ := plantest.ParsePipeline(t, "p.yaml", []byte(stepPipeline), nil)
	spec, err := plan.Spec(p.Metadata.Name, &p.Spec.Steps[0])
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--cache=" + store, "--spec-b64=" + spec, "--out-dir=/tmp/sluice/out", "--in=pipeline.runId=run-1", "--in=params.n=" + n}
}

// runStep runs the step as its pod would (launch.Run), recording it in
// the store, and returns what the launcher wrote.
func runStep(t testing.TB, args []string) *launch.Response {
	t.Helper()
	return plantest.Launch(t, args, nil)
}

// body is the agent's request for a template with the given plugin value.
func body(t testing.TB, value any) []byte {
	t.Helper()
	v, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	args := executorplugins.ExecuteTemplateArgs{
		Workflow: &executorplugins.Workflow{ObjectMeta: executorplugins.ObjectMeta{Name: "run-1", Namespace: "ml", UID: "uid-1"}},
		Template: &wfv1.Template{Name: "sluice-check-1", Plugin: &wfv1.Plugin{Object: wfv1.Object{Value: v}}},
	}
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sluiceValue(args []string, secret string) map[string]check.Request {
	return map[string]check.Request{check.Key: {Args: args, Secret: secret}}
}

// post calls the plugin as the agent does (workflow/util/plugins.Client).
func post(t testing.TB, url, tok string, b []byte) (int, *executorplugins.ExecuteTemplateReply, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+plugin.ExecutePath, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, string(data)
	}
	var reply executorplugins.ExecuteTemplateReply
	if err := json.Unmarshal(data, &reply); err != nil {
		t.Fatalf("reply %s: %v", data, err)
	}
	return resp.StatusCode, &reply, string(data)
}

// closedPort is a local address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// secrets is a SecretGetter that records what it was asked for.
type secrets struct {
	mu    sync.Mutex
	asked []string
}

func (s *secrets) Secret(_ context.Context, ns, name string) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, ns+"/"+name)
	return map[string][]byte{"accesskey": []byte("minio"), "secretkey": []byte("minio123")}, nil
}

func params(kv ...string) []wfv1.Parameter {
	var ps []wfv1.Parameter
	for i := 0; i < len(kv); i += 2 {
		ps = append(ps, wfv1.Parameter{Name: kv[i], Value: wfv1.AnyStringPtr(kv[i+1])})
	}
	return ps
}

// TestPlugin plays the agent's calls: a hit returns the step's outputs as
// its launcher wrote them, a miss none, and every fault is a miss with its
// reason (sluice-fault), so the step still runs; what is not Sluice's
// gets {}; a caller without the agent's token gets 403.
func TestPlugin(t *testing.T) {
	store := "file://" + filepath.Join(t.TempDir(), "store")
	ran := runStep(t, launcherArgs(t, store, "3"))

	// A store that never answers.
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	defer slow.Close()
	defer close(hang)

	sec := &secrets{}
	p := &plugin.Plugin{Prober: &probe.Prober{Secrets: sec, Timeout: 500 * time.Millisecond}, Token: token}
	srv := httptest.NewServer(p)
	defer srv.Close()

	missArgs := launcherArgs(t, store, "4")
	miss := (&probe.Prober{}).Probe(context.Background(), &probe.Request{Args: missArgs})
	down := launcherArgs(t, "s3://sluice?endpoint="+closedPort(t)+"&insecure=true", "3")
	hanging := launcherArgs(t, "s3://sluice?endpoint="+slow.Listener.Addr().String()+"&insecure=true", "3")

	tests := []struct {
		name       string
		tok        string
		body       []byte
		wantStatus int
		want       *wfv1.NodeResult // nil: the reply is {}
		wantFault  bool             // a miss with sluice-fault, whose message is not compared
	}{
		{
			name: "hit", tok: token, body: body(t, sluiceValue(launcherArgs(t, store, "3"), "")), wantStatus: 200,
			want: &wfv1.NodeResult{Phase: wfv1.NodeSucceeded, Message: "sluice: cache hit " + ran.Key.String() + " (run run-1)",
				Outputs: &wfv1.Outputs{Parameters: params("f", ran.Outputs["artifacts.f"], "v", ran.Outputs["params.v"], check.OutputCached, "true")}},
		},
		{
			name: "miss", tok: token, body: body(t, sluiceValue(missArgs, "")), wantStatus: 200,
			want: &wfv1.NodeResult{Phase: wfv1.NodeSucceeded, Message: miss.Message()},
		},
		{name: "wrong token", tok: "x" + token[1:], body: body(t, sluiceValue(missArgs, "")), wantStatus: 403},
		{name: "no token", body: body(t, sluiceValue(missArgs, "")), wantStatus: 403},
		{name: "not mine", tok: token, body: body(t, map[string]any{"slack": map[string]string{"text": "hi"}}), wantStatus: 200},
		{name: "not a plugin template", tok: token, body: []byte(`{"workflow": {"metadata": {"name": "run-1"}}, "template": {"name": "x", "container": {"image": "busybox"}}}`), wantStatus: 200},
		{name: "not JSON", tok: token, body: []byte(`{"template": `), wantStatus: 400},
		{name: "args not a list", tok: token, body: body(t, map[string]any{check.Key: map[string]any{"args": "--cache=x"}}), wantStatus: 200, wantFault: true},
		{name: "no args", tok: token, body: body(t, map[string]any{check.Key: map[string]any{}}), wantStatus: 200, wantFault: true},
		{name: "args the launcher refuses", tok: token, body: body(t, sluiceValue([]string{"--bogus"}, "")), wantStatus: 200, wantFault: true},
		{name: "store down", tok: token, body: body(t, sluiceValue(down, "")), wantStatus: 200, wantFault: true},
		{name: "store down, credentials from a Secret", tok: token, body: body(t, sluiceValue(down, "minio-creds")), wantStatus: 200, wantFault: true},
		{name: "slow store", tok: token, body: body(t, sluiceValue(hanging, "")), wantStatus: 200, wantFault: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			status, reply, raw := post(t, srv.URL, tt.tok, tt.body)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the reply took %v: a probe must be bounded", took)
			}
			if status != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", status, raw, tt.wantStatus)
			}
			if status != http.StatusOK {
				return
			}
			if tt.wantFault {
				if reply.Node == nil || reply.Node.Phase != wfv1.NodeSucceeded || reply.Node.Outputs == nil ||
					len(reply.Node.Outputs.Parameters) != 1 || reply.Node.Outputs.Parameters[0].Name != check.OutputFault ||
					reply.Node.Message != "sluice: cache miss: "+reply.Node.Outputs.Parameters[0].Value.String() {
					t.Errorf("reply %s, want a Succeeded miss with its reason as %s and in its message", raw, check.OutputFault)
				}
				t.Logf("reason: %s", reply.Node.Message)
				return
			}
			if diff := cmp.Diff(tt.want, reply.Node); diff != "" {
				t.Errorf("node (-want +got):\n%s", diff)
			}
			if reply.Requeue != nil {
				t.Errorf("requeue %v: a check is decided at once", reply.Requeue)
			}
		})
	}
	// The Secret named by the request, in the Workflow's namespace (the
	// store may read it more than once).
	if len(sec.asked) == 0 {
		t.Error("the credentials Secret was not read")
	}
	for _, got := range sec.asked {
		if got != "ml/minio-creds" {
			t.Errorf("Secret %s read, want ml/minio-creds", got)
		}
	}
}

// TestMethods: only POST template.execute is served; the agent stops
// calling a method that gets 404.
func TestMethods(t *testing.T) {
	srv := httptest.NewServer(&plugin.Plugin{Prober: &probe.Prober{}, Token: token})
	defer srv.Close()
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, "/api/v1/template.other", http.StatusNotFound},
		{http.MethodGet, plugin.ExecutePath, http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
	}
}

// blocking is a Prober that answers a miss once released.
type blocking struct {
	started chan struct{}
	release chan struct{}
}

func (b *blocking) Probe(ctx context.Context, _ *probe.Request) *probe.Result {
	close(b.started)
	<-b.release
	return &probe.Result{Reason: "released"}
}

// TestServeShutdown: once told to stop, the server takes no new
// connection but lets the request in flight finish.
func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blocking{started: make(chan struct{}), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- plugin.Serve(ctx, ln, &plugin.Plugin{Prober: b, Token: token}, time.Second) }()

	url := "http://" + ln.Addr().String()
	replied := make(chan int, 1)
	go func() {
		status, _, _ := post(t, url, token, body(t, sluiceValue([]string{"--cache=file:///x"}, "")))
		replied <- status
	}()
	<-b.started
	cancel()
	time.Sleep(50 * time.Millisecond) // the listener closes
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("a new connection was accepted after the shutdown began")
	}
	close(b.release)
	if status := <-replied; status != http.StatusOK {
		t.Errorf("the request in flight got %d, want 200", status)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	if err := os.WriteFile(good, []byte(token), 0o440); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o440); err != nil {
		t.Fatal(err)
	}
	if got, err := plugin.ReadToken(good); err != nil || got != token {
		t.Errorf("ReadToken: %q, %v", got, err)
	}
	for _, path := range []string{empty, filepath.Join(dir, "missing")} {
		if _, err := plugin.ReadToken(path); err == nil {
			t.Errorf("ReadToken(%s): no error", path)
		}
	}
	if _, err := plugin.ReadToken(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing token file: %v, want it to wrap os.ErrNotExist", err)
	}
}
