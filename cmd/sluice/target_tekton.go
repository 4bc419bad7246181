package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

// flagEmit is compile's --emit, for -t tekton.
const flagEmit = "emit"

func init() {
	registerTarget("tekton", target{compile: compileTekton, flags: tektonFlags})
	registerClusterTarget("tekton", clusterTarget{submit: submitTekton, open: openTekton})
}

func tektonFlags(cmd *cobra.Command, o *compileOptions) {
	emit := string(tekton.EmitPipelineRun)
	o.extra[flagEmit] = &emit
	cmd.Flags().Var(&enumValue{p: &emit, allowed: []string{string(tekton.EmitPipelineRun), string(tekton.EmitPipeline)}}, flagEmit,
		"with -t tekton: pipelinerun (one PipelineRun, everything embedded) or pipeline (Tasks, a Pipeline and a PipelineRun that references it, to keep in Git)")
	_ = cmd.RegisterFlagCompletionFunc(flagEmit, cobra.FixedCompletions(
		[]string{string(tekton.EmitPipelineRun), string(tekton.EmitPipeline)}, cobra.ShellCompDirectiveNoFileComp))
}

// compileTekton compiles for Tekton and checks the objects with Tekton's
// own validation, as its admission webhook will.
func compileTekton(p *ir.Pipeline, params map[string]ir.Value, o *compileOptions) ([]any, error) {
	opts := tekton.Options{
		Namespace:      o.namespace,
		ServiceAccount: o.serviceAccount,
		LauncherImage:  o.launcherImage,
		Cache:          o.cacheURL,
		CacheSecret:    o.cacheSecret,
		CachePlugin:    o.cachePlugin,
	}
	if e := o.extra[flagEmit]; e != nil {
		opts.Emit = tekton.Emit(*e)
	}
	objs, err := tekton.Compile(p, params, opts)
	if err != nil {
		return nil, err
	}
	if err := tekton.Validate(context.Background(), objs); err != nil {
		return nil, fmt.Errorf("Tekton rejects the compiled objects (a bug in sluice: please report it): %w", err)
	}
	var out []any
	for _, obj := range objs.List() {
		out = append(out, obj)
	}
	return out, nil
}

// tektonClient connects to Tekton through Kubernetes. Tests replace it.
var tektonClient = func(c *connFlags) (*tekton.Client, string, error) {
	cfg, ns, err := c.flags().Load()
	if err != nil {
		return nil, "", err
	}
	cl, err := tekton.NewClient(cfg, ns)
	if err != nil {
		return nil, "", err
	}
	return cl, ns, nil
}

// tektonConnect connects to Tekton, which has no API server of its own.
func tektonConnect(c *connFlags) (*tekton.Client, string, error) {
	if c.argoURL != "" {
		return nil, "", usageErrorf("--argo-server is for -t argo")
	}
	return tektonClient(c)
}

func submitTekton(ctx context.Context, p *ir.Pipeline, objs []any, o *submitOptions) (clusterRun, error) {
	pr, ok := objs[0].(*v1.PipelineRun)
	if !ok || len(objs) != 1 {
		return nil, usageErrorf("submit creates one PipelineRun with everything embedded: leave out --%s %s", flagEmit, tekton.EmitPipeline)
	}
	client, ns, err := tektonConnect(&o.conn)
	if err != nil {
		return nil, err
	}
	created, err := client.Submit(ctx, pr)
	if err != nil {
		return nil, err
	}
	return tektonRun(client, p, ns, created.Name), nil
}

func openTekton(ctx context.Context, c *connFlags, name string) (clusterRun, error) {
	client, ns, err := tektonConnect(c)
	if err != nil {
		return nil, err
	}
	r, err := client.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return tektonRun(client, tekton.PipelineOf(r.PipelineRun), ns, name), nil
}

// tektonRun is a run of p on Tekton.
func tektonRun(client *tekton.Client, p *ir.Pipeline, ns, name string) clusterRun {
	return &engineRun[*tekton.Run]{
		runID: runID{
			target: "tekton", kind: "pipelinerun", ns: ns, name: name,
			stopHint: fmt.Sprintf("tkn pipelinerun cancel %s -n %s   (or: kubectl patch pipelinerun %s -n %s --type merge -p '{\"spec\":{\"status\":\"%s\"}}')",
				name, ns, name, ns, v1.PipelineRunSpecStatusCancelled),
			stopNote: "its onExit steps do not run",
		},
		get: func(ctx context.Context) (*tekton.Run, error) { return client.Get(ctx, name) },
		follow: func(ctx context.Context, obs report.Observer) (*tekton.Run, error) {
			return tekton.Watch(ctx, client, p, name, obs)
		},
		state: func(r *tekton.Run) runState {
			return runState{sum: tekton.Summarize(p, r), ended: r.Done(), ok: r.Succeeded(), phase: r.Phase(), message: r.Message()}
		},
		cancel: func(ctx context.Context) error { return client.Cancel(ctx, name) },
		logsOf: func(ctx context.Context, r *tekton.Run, step string, follow bool, w io.Writer) error {
			return client.Logs(ctx, p, r, step, follow, w)
		},
	}
}
