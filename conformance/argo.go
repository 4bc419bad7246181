package conformance

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/report"
)

// Argo runs cases as Argo Workflows on a cluster; with Plugin, each
// cacheable step asks Sluice's executor plugin before any pod exists.
type Argo struct {
	Cluster
	Client *argo.Client
	Plugin bool
}

func (a *Argo) Name() string {
	if a.Plugin {
		return "argo-plugin"
	}
	return "argo"
}

func (a *Argo) ZeroPodHits() bool { return a.Plugin }

func (a *Argo) Store(ctx context.Context, c *Case) (string, Values, error) {
	return a.store(ctx, c, a.Name())
}

func (a *Argo) Run(ctx context.Context, c *Case, store string) (*report.Summary, error) {
	wf, err := argo.Compile(c.Pipeline, c.Params, argo.Options{
		Namespace:     a.Client.Namespace,
		LauncherImage: a.LauncherImage,
		CacheURL:      store,
		CacheSecret:   a.CacheSecret,
		CachePlugin:   a.Plugin,
	})
	if err != nil {
		return nil, err
	}
	created, err := a.Client.Submit(ctx, wf)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout())
	defer cancel()
	final, err := argo.Watch(ctx, a.Client, c.Pipeline, created.Name, nil)
	if err != nil {
		_ = a.Client.Stop(context.WithoutCancel(ctx), created.Name)
		return nil, fmt.Errorf("workflow %s: %w", created.Name, err)
	}
	return argo.Summarize(c.Pipeline, final), nil
}

// Pods counts the pods of a run's Workflow, from the API, and those of
// its Cached steps: a pod belongs to the step whose node it ran (its
// node-id annotation). The agent pod, which runs the executor plugins,
// is left out: Argo deletes it as soon as the Workflow completes, so
// whether it is still there to count is a race.
func (a *Argo) Pods(ctx context.Context, c *Case, s *report.Summary) (Pods, error) {
	wf, err := a.Client.Get(ctx, s.Run)
	if err != nil {
		return Pods{}, err
	}
	stepOf := map[string]string{} // node ID → step
	for _, st := range argo.Steps(c.Pipeline.Graph(), wf) {
		for _, id := range st.Pods {
			stepOf[id] = st.Name
		}
	}
	agent := func(p *corev1.Pod) bool { return p.Labels["workflows.argoproj.io/component"] == "agent" }
	return countPods(ctx, a.Client.Kube, a.Client.Namespace, "workflows.argoproj.io/workflow="+s.Run, s, agent,
		func(p *corev1.Pod) string { return stepOf[p.Annotations["workflows.argoproj.io/node-id"]] })
}
