package kube_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/sluice-dev/sluice/internal/kube"
)

// noSleep is a Backoff that records its waits instead of waiting.
func noSleep(waits *[]time.Duration) kube.Backoff {
	return kube.Backoff{Attempts: 5, Sleep: func(_ context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return nil
	}}
}

var gr = schema.GroupResource{Group: "argoproj.io", Resource: "workflows"}

func TestRetriable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"conflict", apierrors.NewConflict(gr, "w", errors.New("changed")), true},
		{"generated name taken", apierrors.NewGenerateNameConflict(gr, "w-abc", 1), true},
		{"name taken", apierrors.NewAlreadyExists(gr, "w"), false},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 2), true},
		{"internal", apierrors.NewInternalError(errors.New("boom")), true},
		{"unavailable", apierrors.NewServiceUnavailable("etcd"), true},
		{"server timeout", apierrors.NewServerTimeout(gr, "create", 1), true},
		{"502", apierrors.NewGenericServerResponse(502, "get", gr, "w", "bad gateway", 0, true), true},
		{"not found", apierrors.NewNotFound(gr, "w"), false},
		{"forbidden", apierrors.NewForbidden(gr, "w", errors.New("rbac")), false},
		{"invalid", apierrors.NewBadRequest("bad"), false},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kube.Retriable(tc.err); got != tc.want {
				t.Errorf("Retriable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestDo(t *testing.T) {
	t.Run("retries passing faults", func(t *testing.T) {
		var waits []time.Duration
		faults := []error{
			apierrors.NewTooManyRequests("slow down", 3),
			apierrors.NewInternalError(errors.New("boom")),
			apierrors.NewConflict(gr, "w", errors.New("changed")),
		}
		calls := 0
		err := noSleep(&waits).Do(context.Background(), "create workflow", func(context.Context) error {
			calls++
			if calls <= len(faults) {
				return faults[calls-1]
			}
			return nil
		})
		if err != nil || calls != 4 {
			t.Fatalf("Do: err %v after %d calls, want success after 4", err, calls)
		}
		if len(waits) != 3 || waits[0] < 3*time.Second {
			t.Errorf("waits %v: want 3, the first honouring Retry-After 3s", waits)
		}
	})
	t.Run("stops on a lasting fault", func(t *testing.T) {
		var waits []time.Duration
		calls := 0
		err := noSleep(&waits).Do(context.Background(), "get workflow", func(context.Context) error {
			calls++
			return apierrors.NewNotFound(gr, "w")
		})
		if calls != 1 || !apierrors.IsNotFound(err) || !strings.HasPrefix(err.Error(), "get workflow: ") {
			t.Errorf("Do: %v after %d calls, want the NotFound at once", err, calls)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		var waits []time.Duration
		calls := 0
		err := noSleep(&waits).Do(context.Background(), "get workflow", func(context.Context) error {
			calls++
			return apierrors.NewServiceUnavailable("down")
		})
		if calls != 5 || !apierrors.IsServiceUnavailable(err) {
			t.Errorf("Do: %v after %d calls, want ServiceUnavailable after 5", err, calls)
		}
	})
	t.Run("context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		b := kube.Backoff{Sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }}
		err := b.Do(ctx, "list", func(context.Context) error { return apierrors.NewInternalError(errors.New("x")) })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Do: %v, want context.Canceled", err)
		}
	})
}

// TestWatch: a watch that drops, one that ends in 410 Gone and one whose
// opening fails are all reopened; the handler sees every event once.
func TestWatch(t *testing.T) {
	var waits []time.Duration
	b := noSleep(&waits)
	cs := fake.NewSimpleClientset()
	opens := 0
	cs.PrependWatchReactor("configmaps", func(k8stesting.Action) (bool, watch.Interface, error) {
		opens++
		w := watch.NewFake()
		go func() {
			switch opens {
			case 1:
				w.Add(cm("1"))
				w.Stop() // dropped
			case 2:
				w.Error(&apierrors.NewResourceExpired("too old").ErrStatus)
			case 3:
				w.Add(cm("2"))
				w.Modify(cm("3"))
			}
		}()
		return true, w, nil
	})
	failOpen := true
	cs.PrependWatchReactor("configmaps", func(k8stesting.Action) (bool, watch.Interface, error) {
		if opens == 1 && failOpen {
			failOpen = false
			return true, nil, apierrors.NewServiceUnavailable("apiserver restarting")
		}
		return false, nil, nil
	})
	var seen []string
	err := b.Watch(context.Background(), "watch configmaps", func(ctx context.Context) (watch.Interface, error) {
		return cs.CoreV1().ConfigMaps("ns").Watch(ctx, metav1.ListOptions{})
	}, func(ev watch.Event) (bool, error) {
		v := ev.Object.(*corev1.ConfigMap).Data["v"]
		seen = append(seen, v)
		return v == "3", nil
	})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if got := strings.Join(seen, ","); got != "1,2,3" {
		t.Errorf("events %s, want 1,2,3", got)
	}
	if opens != 3 {
		t.Errorf("%d watches opened, want 3", opens)
	}
}

func cm(v string) runtime.Object {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns"}, Data: map[string]string{"v": v}}
}

func TestWatchGivesUp(t *testing.T) {
	var waits []time.Duration
	cs := fake.NewSimpleClientset()
	cs.PrependWatchReactor("configmaps", func(k8stesting.Action) (bool, watch.Interface, error) {
		w := watch.NewFake()
		go w.Stop()
		return true, w, nil
	})
	err := noSleep(&waits).Watch(context.Background(), "watch", func(ctx context.Context) (watch.Interface, error) {
		return cs.CoreV1().ConfigMaps("ns").Watch(ctx, metav1.ListOptions{})
	}, func(watch.Event) (bool, error) { return false, nil })
	if !errors.Is(err, kube.ErrWatchClosed) {
		t.Errorf("Watch: %v, want ErrWatchClosed", err)
	}
}

func TestStreamLogs(t *testing.T) {
	cs := fake.NewSimpleClientset()
	var buf bytes.Buffer
	var waits []time.Duration
	// The fake clientset answers every log request with "fake logs".
	err := noSleep(&waits).StreamLogs(context.Background(), cs, kube.LogRequest{Namespace: "ns", Pod: "p", Container: "main"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != "fake logs" {
		t.Errorf("log %q, want %q", buf.String(), "fake logs")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "https://one.example:6443"}
- name: c2
  cluster: {server: "https://two.example:6443"}
users:
- name: u
  user: {token: t0k3n}
contexts:
- name: one
  context: {cluster: c1, user: u, namespace: ml}
- name: two
  context: {cluster: c2, user: u}
current-context: one
`
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags    kube.Flags
		host, ns string
	}{
		{kube.Flags{Kubeconfig: path}, "https://one.example:6443", "ml"},
		{kube.Flags{Kubeconfig: path, Namespace: "other"}, "https://one.example:6443", "other"},
		{kube.Flags{Kubeconfig: path, Context: "two"}, "https://two.example:6443", "default"},
	} {
		rc, ns, err := tc.flags.Load()
		if err != nil {
			t.Fatalf("Load(%+v): %v", tc.flags, err)
		}
		if rc.Host != tc.host || ns != tc.ns {
			t.Errorf("Load(%+v) = %s, %s; want %s, %s", tc.flags, rc.Host, ns, tc.host, tc.ns)
		}
	}
	if _, _, err := (kube.Flags{Kubeconfig: path, Context: "nope"}).Load(); err == nil {
		t.Error("Load with an unknown context: no error")
	}
}
