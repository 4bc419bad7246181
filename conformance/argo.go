package conformance

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/report"
)

// Argo runs cases as Argo Workflows on a cluster.
type Argo struct {
	Cluster
	Client *argo.Client
}

func (a *Argo) Name() string { return "argo" }

func (a *Argo) Store(ctx context.Context, c *Case) (string, Values, error) {
	return a.store(ctx, c, a.Name())
}

func (a *Argo) Run(ctx context.Context, c *Case, store string) (*report.Summary, error) {
	wf, err := argo.Compile(c.Pipeline, c.Params, argo.Options{
		Namespace:     a.Client.Namespace,
		LauncherImage: a.LauncherImage,
		CacheURL:      store,
		CacheSecret:   a.CacheSecret,
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

// Pods counts the pods of a run's Workflow.
func (a *Argo) Pods(ctx context.Context, s *report.Summary) (int, error) {
	return countPods(ctx, a.Client.Kube, a.Client.Namespace, "workflows.argoproj.io/workflow="+s.Run)
}
