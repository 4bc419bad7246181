package conformance

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/report"
)

// Tekton runs cases as Tekton PipelineRuns on a cluster.
type Tekton struct {
	Cluster
	Client *tekton.Client
}

func (t *Tekton) Name() string { return "tekton" }

func (t *Tekton) Store(ctx context.Context, c *Case) (string, Values, error) {
	return t.store(ctx, c, t.Name())
}

func (t *Tekton) Run(ctx context.Context, c *Case, store string) (*report.Summary, error) {
	objs, err := tekton.Compile(c.Pipeline, c.Params, tekton.Options{
		Namespace:     t.Client.Namespace,
		LauncherImage: t.LauncherImage,
		Cache:         store,
		CacheSecret:   t.CacheSecret,
	})
	if err != nil {
		return nil, err
	}
	created, err := t.Client.Submit(ctx, objs.PipelineRun)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout())
	defer cancel()
	final, err := tekton.Watch(ctx, t.Client, c.Pipeline, created.Name, nil)
	if err != nil {
		_ = t.Client.Cancel(context.WithoutCancel(ctx), created.Name)
		return nil, fmt.Errorf("pipelinerun %s: %w", created.Name, err)
	}
	return tekton.Summarize(c.Pipeline, final), nil
}

// Pods counts the pods of a run's PipelineRun.
func (t *Tekton) Pods(ctx context.Context, s *report.Summary) (int, error) {
	return countPods(ctx, t.Client.Kube, t.Client.Namespace, "tekton.dev/pipelineRun="+s.Run)
}
