package tekton

import (
	"context"
	"io"
	"maps"
	"sync"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

// Client submits PipelineRuns and follows them through the Kubernetes
// API: Tekton's clientset for PipelineRuns and their TaskRuns, client-go
// for the pods' logs. Every call is retried on passing faults
// (kube.Backoff).
type Client struct {
	Tekton    versioned.Interface
	Kube      kubernetes.Interface
	Namespace string
	Backoff   kube.Backoff
}

// NewClient returns a Client for the cluster of cfg, in namespace ns.
func NewClient(cfg *rest.Config, ns string) (*Client, error) {
	t, k, err := kube.Connect(cfg, "tekton", versioned.NewForConfig)
	if err != nil {
		return nil, err
	}
	return &Client{Tekton: t, Kube: k, Namespace: ns, Backoff: kube.DefaultBackoff}, nil
}

// Run is a PipelineRun with the TaskRuns and CustomRuns it started, by
// name: what following a run reads. With the cache plugin, TaskRuns also
// holds those that CachedStep CustomRuns started (owned by them).
type Run struct {
	PipelineRun *v1.PipelineRun
	TaskRuns    map[string]*v1.TaskRun
	CustomRuns  map[string]*v1beta1.CustomRun
}

// Done reports whether the PipelineRun has ended.
func (r *Run) Done() bool { return r.PipelineRun.IsDone() }

// Succeeded reports whether the PipelineRun ended well.
func (r *Run) Succeeded() bool {
	return r.PipelineRun.Status.GetCondition(succeeded).IsTrue()
}

// Phase is the PipelineRun's state in Tekton's words, its condition's
// reason ("Running", "Succeeded", "Completed", "Failed", "Cancelled",
// "PipelineRunTimeout"), or "Pending" before it has one.
func (r *Run) Phase() string {
	if c := r.PipelineRun.Status.GetCondition(succeeded); c != nil && c.Reason != "" {
		return c.Reason
	}
	return "Pending"
}

// Message is what Tekton says of the PipelineRun's state.
func (r *Run) Message() string {
	if c := r.PipelineRun.Status.GetCondition(succeeded); c != nil {
		return c.Message
	}
	return ""
}

func (c *Client) pipelineRuns() kube.Objects[*v1.PipelineRun, *v1.PipelineRunList] {
	return kube.Objects[*v1.PipelineRun, *v1.PipelineRunList]{
		Kind: c.Tekton.TektonV1().PipelineRuns(c.Namespace), Noun: "pipelinerun", Backoff: c.Backoff,
	}
}

func (c *Client) taskRuns() kube.Objects[*v1.TaskRun, *v1.TaskRunList] {
	return kube.Objects[*v1.TaskRun, *v1.TaskRunList]{
		Kind: c.Tekton.TektonV1().TaskRuns(c.Namespace), Noun: "taskrun", Backoff: c.Backoff,
	}
}

func (c *Client) customRuns() kube.Objects[*v1beta1.CustomRun, *v1beta1.CustomRunList] {
	return kube.Objects[*v1beta1.CustomRun, *v1beta1.CustomRunList]{
		Kind: c.Tekton.TektonV1beta1().CustomRuns(c.Namespace), Noun: "customrun", Backoff: c.Backoff,
	}
}

// listCustomRuns lists a run's CustomRuns: none where the cluster has no
// CustomRuns to list.
func (c *Client) listCustomRuns(ctx context.Context, run string) (map[string]*v1beta1.CustomRun, error) {
	crs, err := c.customRuns().List(ctx, ofRun(run))
	if kube.IsNotFound(err) {
		return map[string]*v1beta1.CustomRun{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]*v1beta1.CustomRun, len(crs))
	for _, cr := range crs {
		out[cr.Name] = cr
	}
	return out, nil
}

// ofRun selects the TaskRuns of a PipelineRun by the label Tekton gives
// them.
func ofRun(name string) string { return pipeline.PipelineRunLabelKey + "=" + name }

// Submit creates the PipelineRun in the client's namespace.
func (c *Client) Submit(ctx context.Context, pr *v1.PipelineRun) (*v1.PipelineRun, error) {
	pr = pr.DeepCopy()
	pr.Namespace = c.Namespace
	return c.pipelineRuns().Create(ctx, pr)
}

// Get reads a PipelineRun, its TaskRuns and its CustomRuns.
func (c *Client) Get(ctx context.Context, name string) (*Run, error) {
	pr, err := c.pipelineRuns().Get(ctx, name)
	if err != nil {
		return nil, err
	}
	trs, err := c.taskRuns().List(ctx, ofRun(name))
	if err != nil {
		return nil, err
	}
	r := &Run{PipelineRun: pr, TaskRuns: map[string]*v1.TaskRun{}}
	for _, tr := range trs {
		r.TaskRuns[tr.Name] = tr
	}
	if r.CustomRuns, err = c.listCustomRuns(ctx, name); err != nil {
		return nil, err
	}
	return r, nil
}

// Cancel sets the PipelineRun's spec.status to Cancelled, as `tkn
// pipelinerun cancel` does: its running TaskRuns are cancelled and its
// finally tasks (onExit steps) do not run.
func (c *Client) Cancel(ctx context.Context, name string) error {
	return c.pipelineRuns().MergePatch(ctx, name, []byte(`{"spec":{"status":"`+v1.PipelineRunSpecStatusCancelled+`"}}`))
}

// Follow watches the PipelineRun, its TaskRuns and its CustomRuns,
// calling each with every new state of the run until each says it is
// done or ctx ends, and returns the last state. The watches are reopened
// when they drop (kube.Objects); once the PipelineRun has ended, its
// TaskRuns and CustomRuns are read again, so the last state holds their
// final states whatever order the watches delivered them in.
func (c *Client) Follow(ctx context.Context, name string, each func(*Run) bool) (*Run, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		state    = &Run{TaskRuns: map[string]*v1.TaskRun{}, CustomRuns: map[string]*v1beta1.CustomRun{}}
		last     *Run
		done     bool
		childErr error
	)
	// seen applies one change and passes the new state on; each runs
	// under mu, one state at a time.
	seen := func(change func()) bool {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return true
		}
		change()
		if state.PipelineRun == nil {
			return false
		}
		if state.Done() {
			if trs, err := c.taskRuns().List(ctx, ofRun(name)); err == nil {
				state.TaskRuns = map[string]*v1.TaskRun{}
				for _, tr := range trs {
					state.TaskRuns[tr.Name] = tr
				}
			}
			if crs, err := c.listCustomRuns(ctx, name); err == nil {
				state.CustomRuns = crs
			}
		}
		last = &Run{PipelineRun: state.PipelineRun, TaskRuns: maps.Clone(state.TaskRuns), CustomRuns: maps.Clone(state.CustomRuns)}
		if each(last) {
			done = true
			cancel()
		}
		return done
	}
	failed := func(err error) {
		if err != nil && ctx.Err() == nil && !kube.IsNotFound(err) {
			mu.Lock()
			childErr = err
			mu.Unlock()
			cancel()
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		failed(c.taskRuns().FollowList(ctx, ofRun(name), func(t watch.EventType, tr *v1.TaskRun) bool {
			return seen(func() {
				if t == watch.Deleted {
					delete(state.TaskRuns, tr.Name)
				} else {
					state.TaskRuns[tr.Name] = tr
				}
			})
		}))
	}()
	go func() {
		defer wg.Done()
		failed(c.customRuns().FollowList(ctx, ofRun(name), func(t watch.EventType, cr *v1beta1.CustomRun) bool {
			return seen(func() {
				if t == watch.Deleted {
					delete(state.CustomRuns, cr.Name)
				} else {
					state.CustomRuns[cr.Name] = cr
				}
			})
		}))
	}()
	_, err := c.pipelineRuns().Follow(ctx, name, func(pr *v1.PipelineRun) bool {
		return seen(func() { state.PipelineRun = pr })
	})
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	switch {
	case done:
		return last, nil
	case childErr != nil:
		return last, childErr
	}
	return last, err
}

// Logs writes the logs of a run's steps to w: of step (a step's name,
// or its display name such as train[2]) or, when step is empty, of
// every step, each under a header, in the order they started. With
// follow it streams them as they are written until the steps end.
func (c *Client) Logs(ctx context.Context, p *ir.Pipeline, r *Run, step string, follow bool, w io.Writer) error {
	var steps []kube.StepLogs
	for _, s := range Steps(p.Graph(), r) {
		steps = append(steps, kube.StepLogs{Name: s.Name, State: string(s.State), Container: s.Container, Pods: s.Pods})
	}
	return c.Backoff.WriteLogs(ctx, c.Kube, c.Namespace, r.PipelineRun.Name, steps, step, follow, w)
}

// Watch follows a submitted run until its PipelineRun ends, passing each
// step's changes to obs, and returns the final state. When ctx ends
// first, it returns the last state seen and ctx's error.
func Watch(ctx context.Context, c *Client, p *ir.Pipeline, name string, obs report.Observer) (*Run, error) {
	g := p.Graph()
	return report.Watch(ctx, func(each func(*Run) bool) (*Run, error) {
		return c.Follow(ctx, name, each)
	}, func(r *Run) *report.Snapshot { return Snapshot(g, r) }, obs)
}
