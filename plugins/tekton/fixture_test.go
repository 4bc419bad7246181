package tekton_test

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"knative.dev/pkg/apis"

	adapter "github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	"github.com/sluice-dev/sluice/plugins/probe"
	plugin "github.com/sluice-dev/sluice/plugins/tekton"
	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// pipelineSrc is the pipeline of the tests: produce writes a value that
// depends on a parameter, and a list, which Tekton would read as an array
// result of a custom task.
const pipelineSrc = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: p, labels: {team: ml}}
spec:
  params: [{name: n, default: "3"}]
  steps:
    - name: produce
      image: busybox:1.36
      command: [sh, -c, 'echo "n=${{ params.n }}" > ${{ outputs.params.v }}; printf "[\"a\",\"b\"]" > ${{ outputs.params.l }}']
      outputs: {params: [{name: v}, {name: l, type: list}]}
      nodeSelector: {pool: cpu}
      retry: {limit: 1}
      timeout: 1m
`

const ns = "ml"

// env is a cluster with Tekton's fake clientset, a controller whose
// prober records its requests, and a file store.
type env struct {
	t        *testing.T
	cs       *fake.Clientset
	rec      *plugin.Reconciler
	probes   *recorder
	store    string // the store's URL
	now      time.Time
	opts     adapter.Options
	recorder *record.FakeRecorder
	src      string // the pipeline: pipelineSrc unless a test sets it
}

// events are the Events recorded so far.
func (e *env) events() []string {
	var out []string
	for {
		select {
		case ev := <-e.recorder.Events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// recorder is a Prober that records each request before it asks the
// real one. The controller looks a loop's iterations up concurrently.
type recorder struct {
	plugin.Prober
	mu   sync.Mutex
	reqs []*probe.Request
}

func (r *recorder) Probe(ctx context.Context, req *probe.Request) *probe.Result {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.Prober.Probe(ctx, req)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, cs: fake.NewSimpleClientset(), now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), src: pipelineSrc}
	e.store = "file://" + filepath.Join(t.TempDir(), "store")
	e.probes = &recorder{Prober: &probe.Prober{Timeout: 2 * time.Second}}
	e.recorder = record.NewFakeRecorder(100)
	e.rec = &plugin.Reconciler{
		Events: e.recorder,
		Tekton: e.cs,
		Prober: e.probes,
		Now:    func() time.Time { return e.now },
	}
	e.opts = adapter.Options{LauncherImage: "ghcr.io/sluice-dev/sluice-exec:test", Cache: e.store, CachePlugin: true, Namespace: ns}
	return e
}

// pipelineTask compiles the pipeline with the cache plugin and returns
// one of its tasks.
func (e *env) pipelineTask(name string) v1.PipelineTask {
	e.t.Helper()
	p, params := plantest.ParsePipeline(e.t, "p.yaml", []byte(e.src), nil)
	objs, err := adapter.Compile(p, params, e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	spec := objs.PipelineRun.Spec.PipelineSpec
	if objs.Pipeline != nil {
		spec = &objs.Pipeline.Spec
		for _, task := range objs.Tasks {
			if _, err := e.cs.TektonV1().Tasks(ns).Create(context.Background(), task, metav1.CreateOptions{}); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	for _, pt := range spec.Tasks {
		if pt.Name == name {
			return pt
		}
	}
	e.t.Fatalf("no task %s", name)
	return v1.PipelineTask{}
}

// customRun creates the CustomRun Tekton's PipelineRun reconciler makes
// of a pipeline task of run (createCustomRun): the parameters (the
// context substituted), the embedded spec, the timeout, retries and
// service account, owned by and labelled with the PipelineRun.
func (e *env) customRun(run string, pt v1.PipelineTask, edit func(*cachedstep.Spec)) *v1beta1.CustomRun {
	e.t.Helper()
	ctx := context.Background()
	cr := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{
		Name: run + "-" + pt.Name, Namespace: ns, UID: types.UID("uid-" + run),
		Labels: map[string]string{"tekton.dev/pipelineRun": run, "tekton.dev/pipelineTask": pt.Name, "team": "ml"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "tekton.dev/v1", Kind: "PipelineRun", Name: run, UID: "pr-uid",
			Controller: ptr(true)}},
	}}
	for _, p := range pt.Params {
		var bp v1beta1.Param
		bp.ConvertFrom(ctx, p)
		bp.Value.StringVal = strings.ReplaceAll(bp.Value.StringVal, "$(context.pipelineRun.name)", run)
		cr.Spec.Params = append(cr.Spec.Params, bp)
	}
	spec, err := cachedstep.OfPipelineTask(&pt)
	if err != nil || spec == nil {
		e.t.Fatalf("task %s: no CachedStep: %v", pt.Name, err)
	}
	if edit != nil {
		edit(spec)
	}
	embedded, err := cachedstep.Embedded(spec)
	if err != nil {
		e.t.Fatal(err)
	}
	cr.Spec.CustomSpec = &v1beta1.EmbeddedCustomRunSpec{TypeMeta: runtime.TypeMeta{APIVersion: embedded.APIVersion, Kind: embedded.Kind}, Spec: embedded.Spec}
	cr.Spec.Timeout, cr.Spec.Retries, cr.Spec.ServiceAccountName = pt.Timeout, pt.Retries, "pipeline-runner"
	created, err := e.cs.TektonV1beta1().CustomRuns(ns).Create(ctx, cr, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return created
}

func ptr[T any](v T) *T { return &v }

// reconcile reconciles a CustomRun once, as it is in the cluster, and
// returns it as it is then.
func (e *env) reconcile(name string) *v1beta1.CustomRun {
	e.t.Helper()
	if _, err := e.rec.Reconcile(context.Background(), e.get(name)); err != nil {
		e.t.Fatalf("reconcile %s: %v", name, err)
	}
	return e.get(name)
}

func (e *env) get(name string) *v1beta1.CustomRun {
	e.t.Helper()
	cr, err := e.cs.TektonV1beta1().CustomRuns(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return cr
}

func (e *env) taskRuns() []v1.TaskRun {
	e.t.Helper()
	l, err := e.cs.TektonV1().TaskRuns(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return l.Items
}

func (e *env) taskRun(name string) *v1.TaskRun {
	e.t.Helper()
	tr, err := e.cs.TektonV1().TaskRuns(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return tr
}

// finish ends a TaskRun as Tekton would: its condition and results.
func (e *env) finish(name string, status, reason, msg string, results map[string]string) {
	e.t.Helper()
	tr := e.taskRun(name)
	tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1Status(status), Reason: reason, Message: msg})
	for _, k := range sortedKeys(results) {
		tr.Status.Results = append(tr.Status.Results, v1.TaskRunResult{Name: k, Type: v1.ResultsTypeString, Value: *v1.NewStructuredValues(results[k])})
	}
	if _, err := e.cs.TektonV1().TaskRuns(ns).UpdateStatus(context.Background(), tr, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// fill runs the step the last lookup was for with the launcher, so that
// the store holds its entry: as a first run's pod would.
func (e *env) fill() {
	e.t.Helper()
	if len(e.probes.reqs) == 0 {
		e.t.Fatal("no lookup to run the step of")
	}
	e.run(e.probes.reqs[len(e.probes.reqs)-1])
}

// run runs the step of a lookup with the launcher.
func (e *env) run(r *probe.Request) {
	e.t.Helper()
	var args []string
	for _, a := range r.Args {
		if !strings.HasPrefix(a, "--out=") {
			args = append(args, a)
		}
	}
	plantest.Launch(e.t, args, nil)
}

// condition is the Succeeded condition of a CustomRun: status, reason.
func condition(cr *v1beta1.CustomRun) (string, string, string) {
	c := cr.Status.GetCondition(apis.ConditionSucceeded)
	if c == nil {
		return "", "", ""
	}
	return string(c.Status), c.Reason, c.Message
}

func resultsOf(cr *v1beta1.CustomRun) map[string]string {
	m := map[string]string{}
	for _, r := range cr.Status.Results {
		m[r.Name] = r.Value
	}
	return m
}

var errForbidden = errors.New(`secrets "creds" is forbidden`)

type noSecrets struct{}

func (noSecrets) Secret(context.Context, string, string) (map[string][]byte, error) {
	return nil, errForbidden
}

func corev1Status(s string) corev1.ConditionStatus { return corev1.ConditionStatus(s) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
