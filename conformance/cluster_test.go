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

	"github.com/sluice-dev/sluice/conformance"
	"github.com/sluice-dev/sluice/internal/kube"
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
