package kube_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/kube/kubetest"
)

func configMaps(cs *fake.Clientset) kube.Objects[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return kube.Objects[*corev1.ConfigMap, *corev1.ConfigMapList]{
		Kind: cs.CoreV1().ConfigMaps("ns"), Noun: "configmap", Backoff: kubetest.Backoff,
	}
}

func labelled(name, run, v string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"run": run}},
		Data: map[string]string{"v": v}}
}

// TestObjects: create, get and patch go through passing faults; Follow
// starts from the object as read, passes over other objects' events,
// and goes on across a dropped watch.
func TestObjects(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewSimpleClientset()
	kubetest.Fail(cs, "create", "configmaps", apierrors.NewTooManyRequests("slow down", 0))
	kubetest.Fail(cs, "get", "configmaps", apierrors.NewInternalError(errors.New("boom")))
	kubetest.Fail(cs, "patch", "configmaps", apierrors.NewConflict(gr, "c", errors.New("changed")))
	cms := configMaps(cs)
	if _, err := cms.Create(ctx, labelled("c", "r", "1")); err != nil {
		t.Fatal(err)
	}
	if got, err := cms.Get(ctx, "c"); err != nil || got.Data["v"] != "1" {
		t.Fatalf("Get: %v, %v", got, err)
	}
	if err := cms.MergePatch(ctx, "c", []byte(`{"data":{"v":"2"}}`)); err != nil {
		t.Fatal(err)
	}
	watches := kubetest.DropWatches(cs, "configmaps", 1, 0)
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = cs.CoreV1().ConfigMaps("ns").Create(ctx, labelled("other", "r", "9"), metav1.CreateOptions{})
		_, _ = cs.CoreV1().ConfigMaps("ns").Update(ctx, labelled("c", "r", "3"), metav1.UpdateOptions{})
	}()
	var seen []string
	last, err := cms.Follow(ctx, "c", func(cm *corev1.ConfigMap) bool {
		seen = append(seen, cm.Data["v"])
		return cm.Data["v"] == "3"
	})
	if err != nil || last.Data["v"] != "3" {
		t.Fatalf("Follow: %v, %v", last, err)
	}
	// 2 as read before each watch (the fake may repeat it), then 3; never
	// the other object's 9.
	if got := strings.Join(seen, ","); !strings.HasPrefix(got, "2,2,") || !strings.HasSuffix(got, ",3") || strings.Contains(got, "9") {
		t.Errorf("states %s, want 2 read before the dropped watch, 2 read again, then 3", got)
	}
	if watches.Opened() != 2 {
		t.Errorf("%d watches opened, want 2", watches.Opened())
	}
}

// TestFollowList: the objects a selector picks, as listed, then their
// changes; others are passed over.
func TestFollowList(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewSimpleClientset(labelled("a", "r", "1"), labelled("x", "other", "1"))
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = cs.CoreV1().ConfigMaps("ns").Create(ctx, labelled("y", "other", "1"), metav1.CreateOptions{})
		_, _ = cs.CoreV1().ConfigMaps("ns").Create(ctx, labelled("b", "r", "1"), metav1.CreateOptions{})
	}()
	var seen []string
	err := configMaps(cs).FollowList(ctx, "run=r", func(t watch.EventType, cm *corev1.ConfigMap) bool {
		seen = append(seen, string(t)+" "+cm.Name)
		return cm.Name == "b"
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, ", "); got != "ADDED a, ADDED b" {
		t.Errorf("events %s", got)
	}
}

func TestWriteLogs(t *testing.T) {
	cs := fake.NewSimpleClientset()
	steps := []kube.StepLogs{
		{Name: "prep", State: "Cached", Container: "main", Pods: []string{"p-1"}},
		{Name: "train[0]", State: "Succeeded", Container: "main", Pods: []string{"p-2", "p-3"}},
		{Name: "train[1]", State: "Pending", Container: "main", Pods: []string{""}},
	}
	for _, tc := range []struct{ step, want string }{
		{"prep", "fake logs"},
		{"train", "==> train[0] attempt 1 (Succeeded) <==\nfake logs==> train[0] attempt 2 (Succeeded) <==\nfake logs"},
		{"", "==> prep (Cached) <==\nfake logs==> train[0] attempt 1 (Succeeded) <==\nfake logs==> train[0] attempt 2 (Succeeded) <==\nfake logs"},
	} {
		var buf bytes.Buffer
		if err := kubetest.Backoff.WriteLogs(context.Background(), cs, "ns", "run-1", steps, tc.step, false, &buf); err != nil {
			t.Fatalf("%q: %v", tc.step, err)
		}
		if buf.String() != tc.want {
			t.Errorf("%q:\n%s\nwant:\n%s", tc.step, buf.String(), tc.want)
		}
	}
	if err := kubetest.Backoff.WriteLogs(context.Background(), cs, "ns", "run-1", steps, "nope", false, &bytes.Buffer{}); err == nil {
		t.Error("no error for an unknown step")
	}
}

func TestExplainExit(t *testing.T) {
	for msg, want := range map[string]string{
		"Error (exit code 69)":            "Error (exit code 69): the store could not be opened, or an input not fetched",
		`"step-run" exited with code 124`: `"step-run" exited with code 124: the step's timeout stopped the command`,
		`"step-run" exited with code 3`:   `"step-run" exited with code 3`,
		"OOMKilled":                       "OOMKilled",
	} {
		if got := kube.ExplainExit(msg); got != want {
			t.Errorf("ExplainExit(%q) = %q, want %q", msg, got, want)
		}
	}
}
