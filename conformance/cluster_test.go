//go:build conformance

package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sluice-dev/sluice/conformance"
	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/report"
)

// TestBackends plays every case on the backends named in
// $SLUICE_CONFORMANCE (default: local,argo,tekton), the cluster ones
// through $KUBECONFIG, with the store $SLUICE_CONFORMANCE_STORE, whose
// credentials are the Secret $SLUICE_CONFORMANCE_SECRET in the namespace
// $SLUICE_CONFORMANCE_NAMESPACE and the AWS_* variables here, and the
// launcher image $SLUICE_CONFORMANCE_IMAGE. The matrix goes to the log and,
// with $SLUICE_CONFORMANCE_REPORT, to that file as Markdown.
//
//	go test ./conformance -tags conformance -run TestBackends -v
//
// conformance/cluster's `make e2e` sets all of it up.
func TestBackends(t *testing.T) {
	names := strings.Split(env("SLUICE_CONFORMANCE", "local,argo,tekton"), ",")
	cases, err := conformance.Load(conformance.Cases())
	if err != nil {
		t.Fatal(err)
	}
	backends, err := conformance.New(names, options(t))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	m := conformance.Play(context.Background(), cases, backends, 3, &log)
	t.Logf("\n%s", log.String())
	var md bytes.Buffer
	m.Markdown(&md)
	t.Logf("\n%s", md.String())
	if path := os.Getenv("SLUICE_CONFORMANCE_REPORT"); path != "" {
		if err := os.WriteFile(path, md.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !m.Pass() {
		t.Error("some cases fail: see the matrix")
	}
}

// TestSharedStore shows one cache across backends: every case that
// succeeds runs on the local runner, then on each backend of
// $SLUICE_SHARED (default argo-plugin,tekton-plugin) against the same S3
// store, where every step the local run recorded must be Cached. With
// $SLUICE_CONFORMANCE_REPORT, the matrix is appended to that file.
func TestSharedStore(t *testing.T) {
	names := strings.Split(env("SLUICE_SHARED", "argo-plugin,tekton-plugin"), ",")
	cases, err := conformance.Load(conformance.Cases())
	if err != nil {
		t.Fatal(err)
	}
	o := options(t)
	backends, err := conformance.New(append([]string{"local"}, names...), o)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	m := conformance.PlayShared(context.Background(), cases, o.Cluster.SharedStore, backends[0], backends[1:], &log)
	t.Logf("\n%s", log.String())
	var md bytes.Buffer
	m.Markdown(&md)
	t.Logf("\n%s", md.String())
	if path := os.Getenv("SLUICE_CONFORMANCE_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err == nil {
			_, err = fmt.Fprintf(f, "\n## One store, three backends\n\nEach case that succeeds, run once on the local runner, then once on each engine against the same S3 store: every step the local run recorded must come from the cache there.\n\n%s", md.String())
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !m.Pass() {
		t.Error("a step recorded locally was not a hit on an engine: see the matrix")
	}
}

// options are the backends' options from the environment.
func options(t *testing.T) conformance.Options {
	return conformance.Options{
		Dir:  t.TempDir(),
		Kube: kube.Flags{Namespace: os.Getenv("SLUICE_CONFORMANCE_NAMESPACE")},
		Cluster: conformance.Cluster{
			Store:         os.Getenv("SLUICE_CONFORMANCE_STORE"),
			CacheSecret:   os.Getenv("SLUICE_CONFORMANCE_SECRET"),
			LauncherImage: os.Getenv("SLUICE_CONFORMANCE_IMAGE"),
			Timeout:       5 * time.Minute,
			Prefix:        "play-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		},
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TestPluginDown: a cache plugin that is not there never fails a run
// that would otherwise succeed. On Argo, without the executor plugin the
// check fails and each step runs, saying why; on Tekton, a CachedStep
// waits for its controller (as any custom task does), and the run
// succeeds once the controller is back.
func TestPluginDown(t *testing.T) {
	if os.Getenv("SLUICE_PLUGIN_FAULTS") == "" {
		t.Skip("takes the cluster's cache plugins down for a while: set SLUICE_PLUGIN_FAULTS=1 (make e2e does, after the other tests)")
	}
	cases, err := conformance.Load(conformance.Cases())
	if err != nil {
		t.Fatal(err)
	}
	var params *conformance.Case
	for _, c := range cases {
		if c.Name == "params" {
			params = c
		}
	}
	o := options(t)
	backends, err := conformance.New([]string{"argo-plugin", "tekton-plugin"}, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("argo", func(t *testing.T) {
		a, ok := backends[0].(*conformance.Argo)
		if !ok {
			t.Fatalf("no Argo backend: %v", backends[0])
		}
		cms := a.Client.Kube.CoreV1().ConfigMaps(a.Client.Namespace)
		const name = "sluice-cache-executor-plugin"
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the executor plugin's ConfigMap: %v", err)
		}
		if err := cms.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cm.ResourceVersion, cm.UID = "", ""
			if _, err := cms.Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
				t.Errorf("put the executor plugin back: %v", err)
			}
		})
		time.Sleep(3 * time.Second) // the controller's informer sees the plugin go
		store, _, err := a.Store(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		s, err := a.Run(ctx, params, store)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status != report.Succeeded {
			t.Fatalf("run %s: %s, want Succeeded without the plugin", s.Run, s.Status)
		}
		for _, st := range s.Steps {
			if st.State != report.Succeeded || !strings.Contains(st.Message, "cache check") {
				t.Errorf("step %s: %s %q, want Succeeded, saying why the cache check failed", st.Name, st.State, st.Message)
			}
			t.Logf("%s: %s: %s", st.Name, st.State, st.Message)
		}
	})

	t.Run("tekton", func(t *testing.T) {
		tk, ok := backends[1].(*conformance.Tekton)
		if !ok {
			t.Fatalf("no Tekton backend: %v", backends[1])
		}
		deps := tk.Client.Kube.AppsV1().Deployments("sluice-system")
		const name = "sluice-tekton-plugin"
		scale := func(n int32) {
			t.Helper()
			sc, err := deps.GetScale(ctx, name, metav1.GetOptions{})
			if err == nil {
				sc.Spec.Replicas = n
				_, err = deps.UpdateScale(ctx, name, sc, metav1.UpdateOptions{})
			}
			if err != nil {
				t.Fatalf("scale %s to %d: %v", name, n, err)
			}
		}
		scale(0)
		back := false
		t.Cleanup(func() {
			if !back {
				scale(1)
			}
		})
		store, _, err := tk.Store(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			s   *report.Summary
			err error
		}
		done := make(chan result, 1)
		go func() {
			s, err := tk.Run(ctx, params, store)
			done <- result{s, err}
		}()
		select {
		case r := <-done:
			t.Fatalf("the run ended without the controller: %+v, %v", r.s, r.err)
		case <-time.After(20 * time.Second):
		}
		scale(1)
		back = true
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.s.Status != report.Succeeded {
			t.Fatalf("run %s: %s, want Succeeded once the controller is back", r.s.Run, r.s.Status)
		}
	})
}
