package argo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

// Runs is what following a run needs from Argo, through the Kubernetes
// API (Client) or the Argo Server's (Server).
type Runs interface {
	Submit(ctx context.Context, wf *wfv1.Workflow) (*wfv1.Workflow, error)
	Get(ctx context.Context, name string) (*wfv1.Workflow, error)
	// Stop asks Argo to stop the Workflow: running steps are stopped and
	// the exit handler (onExit) runs.
	Stop(ctx context.Context, name string) error
	// Follow calls each with every new state of the Workflow until each
	// says it is done or ctx ends, and returns the last state.
	Follow(ctx context.Context, name string, each func(*wfv1.Workflow) bool) (*wfv1.Workflow, error)
}

var (
	_ Runs = (*Client)(nil)
	_ Runs = (*Server)(nil)
)

// Client talks to Argo through the Kubernetes API: Argo's clientset for
// Workflows, client-go for pods and their logs. Every call is retried
// on passing faults (kube.Backoff).
type Client struct {
	Workflows versioned.Interface
	Kube      kubernetes.Interface
	Namespace string
	Backoff   kube.Backoff
}

// NewClient returns a Client for the cluster of cfg, in namespace ns.
func NewClient(cfg *rest.Config, ns string) (*Client, error) {
	wf, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("argo client: %w", err)
	}
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Client{Workflows: wf, Kube: k, Namespace: ns, Backoff: kube.DefaultBackoff}, nil
}

func (c *Client) workflows() interface {
	Create(context.Context, *wfv1.Workflow, metav1.CreateOptions) (*wfv1.Workflow, error)
	Get(context.Context, string, metav1.GetOptions) (*wfv1.Workflow, error)
	Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (*wfv1.Workflow, error)
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
} {
	return c.Workflows.ArgoprojV1alpha1().Workflows(c.Namespace)
}

// Submit creates the Workflow in the client's namespace.
func (c *Client) Submit(ctx context.Context, wf *wfv1.Workflow) (*wfv1.Workflow, error) {
	wf = wf.DeepCopy()
	wf.Namespace = c.Namespace
	var out *wfv1.Workflow
	err := c.Backoff.Do(ctx, "submit workflow", func(ctx context.Context) error {
		var err error
		out, err = c.workflows().Create(ctx, wf, metav1.CreateOptions{})
		return err
	})
	return out, err
}

// Get reads a Workflow.
func (c *Client) Get(ctx context.Context, name string) (*wfv1.Workflow, error) {
	var out *wfv1.Workflow
	err := c.Backoff.Do(ctx, "get workflow "+name, func(ctx context.Context) error {
		var err error
		out, err = c.workflows().Get(ctx, name, metav1.GetOptions{})
		return err
	})
	return out, err
}

// Stop sets the Workflow's shutdown strategy to Stop, as `argo stop` does.
func (c *Client) Stop(ctx context.Context, name string) error {
	patch := []byte(`{"spec":{"shutdown":"` + string(wfv1.ShutdownStrategyStop) + `"}}`)
	return c.Backoff.Do(ctx, "stop workflow "+name, func(ctx context.Context) error {
		_, err := c.workflows().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
}

// Follow reads the Workflow, then watches it from that version on; a
// watch that drops is opened again from a fresh read, so no state is
// missed for long.
func (c *Client) Follow(ctx context.Context, name string, each func(*wfv1.Workflow) bool) (*wfv1.Workflow, error) {
	var last *wfv1.Workflow
	err := c.Backoff.Watch(ctx, "watch workflow "+name, func(ctx context.Context) (watch.Interface, error) {
		wf, err := c.workflows().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		w, err := c.workflows().Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: wf.ResourceVersion,
		})
		if err != nil {
			return nil, err
		}
		return primed(wf, w), nil
	}, func(ev watch.Event) (bool, error) {
		wf, ok := ev.Object.(*wfv1.Workflow)
		if !ok {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("workflow %s was deleted", name)
		}
		last = wf
		return each(wf), nil
	})
	return last, err
}

// primed is a watch that first delivers the state read before it opened.
func primed(wf *wfv1.Workflow, inner watch.Interface) watch.Interface {
	out := make(chan watch.Event)
	stop := make(chan struct{})
	go func() {
		defer close(out)
		select {
		case out <- watch.Event{Type: watch.Modified, Object: wf}:
		case <-stop:
			return
		}
		for {
			select {
			case ev, ok := <-inner.ResultChan():
				if !ok {
					return
				}
				select {
				case out <- ev:
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	return &primedWatch{out: out, stop: stop, inner: inner}
}

type primedWatch struct {
	out   chan watch.Event
	stop  chan struct{}
	inner watch.Interface
	once  sync.Once
}

func (p *primedWatch) ResultChan() <-chan watch.Event { return p.out }

func (p *primedWatch) Stop() {
	p.once.Do(func() {
		close(p.stop)
		p.inner.Stop()
	})
}

// Logs writes the logs of a run's steps to w: of step (a step's name,
// or its display name such as train[2]) or, when step is empty, of
// every step, each under a header, in the order they started. With
// follow it streams them as they are written until the steps end.
func (c *Client) Logs(ctx context.Context, p *ir.Pipeline, wf *wfv1.Workflow, step string, follow bool, w io.Writer) error {
	pods, err := c.pods(ctx, wf.Name)
	if err != nil {
		return err
	}
	runs := Steps(p.Graph(), wf)
	var picked []StepRun
	for _, r := range runs {
		if step == "" || r.Name == step || strings.HasPrefix(r.Name, step+"[") {
			picked = append(picked, r)
		}
	}
	if len(picked) == 0 {
		if step != "" {
			return fmt.Errorf("run %s has no step %q that started", wf.Name, step)
		}
		return fmt.Errorf("run %s has no step that started", wf.Name)
	}
	for _, r := range picked {
		for i, id := range r.Pods {
			pod, ok := pods[id]
			if !ok {
				continue // not scheduled yet, or deleted (podGC)
			}
			if step == "" || len(picked) > 1 || len(r.Pods) > 1 {
				head := r.Name
				if len(r.Pods) > 1 {
					head += fmt.Sprintf(" attempt %d", i+1)
				}
				fmt.Fprintf(w, "==> %s (%s) <==\n", head, r.State)
			}
			err := c.Backoff.StreamLogs(ctx, c.Kube, kube.LogRequest{Namespace: c.Namespace, Pod: pod, Container: "main", Follow: follow}, w)
			if err != nil && !kube.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// pods maps the node IDs of a Workflow's pods to the pods' names.
func (c *Client) pods(ctx context.Context, workflow string) (map[string]string, error) {
	out := map[string]string{}
	err := c.Backoff.Do(ctx, "list pods of "+workflow, func(ctx context.Context) error {
		list, err := c.Kube.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{
			LabelSelector: "workflows.argoproj.io/workflow=" + workflow,
		})
		if err != nil {
			return err
		}
		for _, p := range list.Items {
			if id := p.Annotations["workflows.argoproj.io/node-id"]; id != "" {
				out[id] = p.Name
			}
		}
		return nil
	})
	return out, err
}

// Watch follows a submitted run until its Workflow completes, passing
// each step's changes to obs, and returns the final Workflow. When ctx
// ends first, it returns the last state seen and ctx's error.
func Watch(ctx context.Context, r Runs, p *ir.Pipeline, name string, obs report.Observer) (*wfv1.Workflow, error) {
	t := NewTracker(p)
	wf, err := r.Follow(ctx, name, func(wf *wfv1.Workflow) bool {
		for _, e := range t.Update(wf) {
			obs.Event(e)
		}
		return wf.Status.Phase.Completed()
	})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err == nil && (wf == nil || !wf.Status.Phase.Completed()) {
		err = errors.New("the run did not complete")
	}
	return wf, err
}
