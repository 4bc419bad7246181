package argo

import (
	"context"
	"io"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	wf, k, err := kube.Connect(cfg, "argo", versioned.NewForConfig)
	if err != nil {
		return nil, err
	}
	return &Client{Workflows: wf, Kube: k, Namespace: ns, Backoff: kube.DefaultBackoff}, nil
}

func (c *Client) workflows() kube.Objects[*wfv1.Workflow, *wfv1.WorkflowList] {
	return kube.Objects[*wfv1.Workflow, *wfv1.WorkflowList]{
		Kind: c.Workflows.ArgoprojV1alpha1().Workflows(c.Namespace), Noun: "workflow", Backoff: c.Backoff,
	}
}

// Submit creates the Workflow in the client's namespace.
func (c *Client) Submit(ctx context.Context, wf *wfv1.Workflow) (*wfv1.Workflow, error) {
	wf = wf.DeepCopy()
	wf.Namespace = c.Namespace
	return c.workflows().Create(ctx, wf)
}

// Get reads a Workflow.
func (c *Client) Get(ctx context.Context, name string) (*wfv1.Workflow, error) {
	return c.workflows().Get(ctx, name)
}

// Stop sets the Workflow's shutdown strategy to Stop, as `argo stop` does.
func (c *Client) Stop(ctx context.Context, name string) error {
	return c.workflows().MergePatch(ctx, name, []byte(`{"spec":{"shutdown":"`+string(wfv1.ShutdownStrategyStop)+`"}}`))
}

// Follow reads the Workflow, then watches it from that version on; a
// watch that drops is opened again from a fresh read, so no state is
// missed for long.
func (c *Client) Follow(ctx context.Context, name string, each func(*wfv1.Workflow) bool) (*wfv1.Workflow, error) {
	return c.workflows().Follow(ctx, name, each)
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
	var steps []kube.StepLogs
	for _, r := range Steps(p.Graph(), wf) {
		names := make([]string, len(r.Pods))
		for i, id := range r.Pods {
			names[i] = pods[id] // "": not scheduled yet, or deleted (podGC)
		}
		steps = append(steps, kube.StepLogs{Name: r.Name, State: string(r.State), Container: "main", Pods: names})
	}
	return c.Backoff.WriteLogs(ctx, c.Kube, c.Namespace, wf.Name, steps, step, follow, w)
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
	g := p.Graph()
	return report.Watch(ctx, func(each func(*wfv1.Workflow) bool) (*wfv1.Workflow, error) {
		return r.Follow(ctx, name, each)
	}, func(wf *wfv1.Workflow) *report.Snapshot { return Snapshot(g, wf) }, obs)
}
