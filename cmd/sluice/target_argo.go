package main

import (
	"context"
	"fmt"
	"io"
	"os"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

func init() {
	registerTarget("argo", target{compile: compileArgo, flags: argoFlags})
	registerClusterTarget("argo", clusterTarget{submit: submitArgo, open: openArgo})
}

// flagMaxBytes is shared by every target that bounds its objects' size.
const flagMaxBytes = "max-bytes"

func argoFlags(cmd *cobra.Command, o *compileOptions) {
	if cmd.Flags().Lookup(flagMaxBytes) != nil {
		return
	}
	v := new(string)
	o.extra[flagMaxBytes] = v
	cmd.Flags().StringVar(v, flagMaxBytes, "", "largest object to write, in bytes or as a quantity such as 1Mi or 1536Ki (Argo's default: 1Mi, its own limit; etcd's is 1.5Mi)")
}

func compileArgo(p *ir.Pipeline, params map[string]ir.Value, o *compileOptions) ([]any, error) {
	opts := argo.Options{
		Namespace:      o.namespace,
		ServiceAccount: o.serviceAccount,
		LauncherImage:  o.launcherImage,
		CacheURL:       o.cacheURL,
		CacheSecret:    o.cacheSecret,
		CachePlugin:    o.cachePlugin,
	}
	if v := o.extra[flagMaxBytes]; v != nil && *v != "" {
		q, err := resource.ParseQuantity(*v)
		if err != nil || q.Value() <= 0 {
			return nil, usageErrorf("--%s %q: want a positive number of bytes (1048576, 1Mi)", flagMaxBytes, *v)
		}
		opts.MaxBytes = int(q.Value())
	}
	wf, err := argo.Compile(p, params, opts)
	if err != nil {
		return nil, err
	}
	return []any{wf}, nil
}

// argoRuns connects to Argo: through the Argo Server when asked, else
// through Kubernetes. client is nil for the Argo Server, which serves no
// pod logs here. Tests replace it.
var argoRuns = func(c *connFlags) (runs argo.Runs, client *argo.Client, ns string, err error) {
	if c.argoURL != "" {
		ns := c.flags().Namespace
		if ns == "" {
			ns = "default"
		}
		return &argo.Server{URL: c.argoURL, Token: os.Getenv(argo.TokenEnv), Namespace: ns}, nil, ns, nil
	}
	cfg, ns, err := c.flags().Load()
	if err != nil {
		return nil, nil, "", err
	}
	cl, err := argo.NewClient(cfg, ns)
	if err != nil {
		return nil, nil, "", err
	}
	return cl, cl, ns, nil
}

func submitArgo(ctx context.Context, p *ir.Pipeline, objs []any, o *submitOptions) (clusterRun, error) {
	wf, ok := objs[0].(*wfv1.Workflow)
	if !ok || len(objs) != 1 {
		return nil, fmt.Errorf("argo: compiled %d objects, want one Workflow", len(objs))
	}
	runs, client, ns, err := argoRuns(&o.conn)
	if err != nil {
		return nil, err
	}
	if o.logs && client == nil {
		return nil, usageErrorf("--logs needs Kubernetes access; through --argo-server, use 'argo logs'")
	}
	created, err := runs.Submit(ctx, wf)
	if err != nil {
		return nil, err
	}
	return argoRun(runs, client, p, ns, created.Name), nil
}

func openArgo(ctx context.Context, c *connFlags, name string) (clusterRun, error) {
	runs, client, ns, err := argoRuns(c)
	if err != nil {
		return nil, err
	}
	wf, err := runs.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return argoRun(runs, client, argo.PipelineOf(wf), ns, name), nil
}

// argoRun is a run of p on Argo; client is nil through the Argo Server.
func argoRun(runs argo.Runs, client *argo.Client, p *ir.Pipeline, ns, name string) clusterRun {
	r := &engineRun[*wfv1.Workflow]{
		runID: runID{
			target: "argo", kind: "workflow", ns: ns, name: name,
			stopHint: fmt.Sprintf("argo stop %s -n %s   (or: kubectl patch workflow %s -n %s --type merge -p '{\"spec\":{\"shutdown\":\"Stop\"}}')",
				name, ns, name, ns),
			stopNote: "its onExit steps still run",
		},
		get: func(ctx context.Context) (*wfv1.Workflow, error) { return runs.Get(ctx, name) },
		follow: func(ctx context.Context, obs report.Observer) (*wfv1.Workflow, error) {
			return argo.Watch(ctx, runs, p, name, obs)
		},
		state: func(wf *wfv1.Workflow) runState {
			phase := string(wf.Status.Phase)
			if phase == "" {
				phase = "Pending"
			}
			return runState{
				sum:   argo.Summarize(p, wf),
				ended: wf.Status.Phase.Completed(), ok: wf.Status.Phase == wfv1.WorkflowSucceeded,
				phase: phase, message: wf.Status.Message,
			}
		},
		cancel: func(ctx context.Context) error { return runs.Stop(ctx, name) },
		noLogs: "logs need Kubernetes access; through the Argo Server, use 'argo logs'",
	}
	if client != nil {
		r.logsOf = func(ctx context.Context, wf *wfv1.Workflow, step string, follow bool, w io.Writer) error {
			return client.Logs(ctx, p, wf, step, follow, w)
		}
	}
	return r
}
