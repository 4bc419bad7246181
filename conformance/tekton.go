package conformance

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/report"
)

// Tekton runs cases as Tekton PipelineRuns on a cluster; with Plugin,
// each cacheable step is a CachedStep custom task that Sluice's
// controller completes from the cache or runs as a TaskRun.
type Tekton struct {
	Cluster
	Client *tekton.Client
	Plugin bool
}

func (t *Tekton) Name() string {
	if t.Plugin {
		return "tekton-plugin"
	}
	return "tekton"
}

func (t *Tekton) ZeroPodHits() bool { return t.Plugin }

func (t *Tekton) Store(ctx context.Context, c *Case) (string, Values, error) {
	return t.store(ctx, c, t.Name())
}

func (t *Tekton) Run(ctx context.Context, c *Case, store string) (*report.Summary, error) {
	objs, err := tekton.Compile(c.Pipeline, c.Params, tekton.Options{
		Namespace:     t.Client.Namespace,
		LauncherImage: t.LauncherImage,
		Cache:         store,
		CacheSecret:   t.CacheSecret,
		CachePlugin:   t.Plugin,
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

// Pods counts the pods of a run's PipelineRun, from the API (Tekton
// labels a TaskRun's pod with its PipelineRun, and so does Sluice's
// controller the TaskRuns it starts), and those of its Cached steps.
func (t *Tekton) Pods(ctx context.Context, c *Case, s *report.Summary) (Pods, error) {
	run, err := t.Client.Get(ctx, s.Run)
	if err != nil {
		return Pods{}, err
	}
	stepOf := map[string]string{} // pod → step
	for _, st := range tekton.Steps(c.Pipeline.Graph(), run) {
		for _, pod := range st.Pods {
			stepOf[pod] = st.Name
		}
	}
	return countPods(ctx, t.Client.Kube, t.Client.Namespace, "tekton.dev/pipelineRun="+s.Run, s, nil,
		func(p *corev1.Pod) string { return stepOf[p.Name] })
}
