package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/ir"
)

// clusterTarget is an engine that runs pipelines on a cluster: it submits
// what its target compiled and finds runs by name; following them,
// their status and their logs are the same for all (follow.go). Each
// registers itself from its own file (target_argo.go, target_tekton.go),
// beside its target.
type clusterTarget struct {
	// submit creates what the target compiled and returns the new run.
	submit func(ctx context.Context, p *ir.Pipeline, objs []any, o *submitOptions) (clusterRun, error)
	// open finds a run by name.
	open func(ctx context.Context, c *connFlags, name string) (clusterRun, error)
}

var clusterTargets = newRegistry[clusterTarget]("cluster target")

func registerClusterTarget(name string, t clusterTarget) { clusterTargets.add(name, t) }

func clusterTargetNames() []string { return clusterTargets.names() }

// clusterTargetFor returns the named cluster target, or the only one
// when none is named.
func clusterTargetFor(name string) (clusterTarget, error) {
	names := clusterTargetNames()
	if name == "" {
		if len(names) == 1 {
			t, _ := clusterTargets.get(names[0])
			return t, nil
		}
		return clusterTarget{}, usageErrorf("-t is required: one of %s", strings.Join(names, ", "))
	}
	t, ok := clusterTargets.get(name)
	if !ok {
		return clusterTarget{}, usageErrorf("target %q cannot run on a cluster: use one of %s", name, strings.Join(names, ", "))
	}
	return t, nil
}

// connFlags are how a command reaches a cluster: kubectl's flags, or an
// engine's own API server.
type connFlags struct {
	kube      kube.Flags
	argoURL   string
	namespace *string // shared with compile's -n where there is one
}

func (c *connFlags) register(cmd *cobra.Command, withNamespace bool) {
	f := cmd.Flags()
	f.StringVar(&c.kube.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config; in a pod, the in-cluster config)")
	f.StringVar(&c.kube.Context, "context", "", "kubeconfig context to use")
	f.StringVar(&c.argoURL, "argo-server", "", "submit and follow through the Argo Server's API at this URL instead of Kubernetes (token from $ARGO_TOKEN)")
	if withNamespace {
		c.namespace = new(string)
		f.StringVarP(c.namespace, "namespace", "n", "", "namespace of the run (default: the context's)")
	}
}

func (c *connFlags) flags() kube.Flags {
	k := c.kube
	if c.namespace != nil {
		k.Namespace = *c.namespace
	}
	return k
}

type submitOptions struct {
	compile           compileOptions
	conn              connFlags
	wait              bool
	logs              bool
	junit             string
	cancelOnInterrupt bool
}

func newSubmitCmd() *cobra.Command {
	o := &submitOptions{compile: compileOptions{extra: map[string]*string{}}}
	cmd := &cobra.Command{
		Use:   "submit -t TARGET FILE",
		Short: "Compile a pipeline and run it on a cluster (Argo Workflows, Tekton)",
		Long: `Compile a pipeline (as 'sluice compile' does) and submit it to a cluster. With
--wait, follow the run with the same live progress table as 'sluice run'
(cached steps show as Cached) and exit with its result: 0 when it succeeded,
1 when it failed. Ctrl-C stops following and says how to follow or stop the
run; with --cancel-on-interrupt it stops the run instead (for CI).`,
		Example: `  sluice submit -t argo examples/housing.yaml -n ml --cache 's3://sluice/cache?endpoint=minio.ml:9000' --cache-secret minio --wait
  sluice submit -t argo pipeline.yaml -p rows=5000 --wait --logs --junit report.xml --cancel-on-interrupt
  sluice submit -t tekton examples/housing.yaml -n ml --cache 's3://sluice/cache?endpoint=minio.ml:9000' --cache-secret minio --wait
  ARGO_TOKEN=... sluice submit -t argo pipeline.yaml --argo-server https://argo.example.com -n ml --wait`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completePipelineFiles(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.compile.file = args[0]
			return runSubmit(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	addCompileFlags(cmd, &o.compile)
	o.conn.register(cmd, false)
	o.conn.namespace = &o.compile.namespace
	f := cmd.Flags()
	f.BoolVar(&o.wait, "wait", false, "follow the run until it ends; the exit code is its result")
	f.BoolVar(&o.logs, "logs", false, "stream the steps' logs while following (implies --wait)")
	f.StringVar(&o.junit, "junit", "", "with --wait, write a JUnit XML report to this file")
	f.BoolVar(&o.cancelOnInterrupt, "cancel-on-interrupt", false, "on Ctrl-C (SIGINT, SIGTERM), stop the run instead of leaving it running")
	return cmd
}

func runSubmit(ctx context.Context, o *submitOptions, stdout, stderr io.Writer) error {
	if o.logs {
		o.wait = true
	}
	if o.junit != "" && !o.wait {
		return usageErrorf("--junit needs --wait")
	}
	ct, err := clusterTargetFor(o.compile.target)
	if err != nil {
		return err
	}
	if _, ok := targets.get(o.compile.target); !ok {
		return usageErrorf("-t is required: one of %s", strings.Join(clusterTargetNames(), ", "))
	}
	objs, p, err := compileFile(&o.compile)
	if err != nil {
		return err
	}
	run, err := ct.submit(ctx, p, objs, o)
	if err != nil {
		return err
	}
	id := run.id()
	fmt.Fprintf(stderr, "submitted %s/%s\n", id.ns, id.name)
	if !o.wait {
		fmt.Fprintln(stdout, id.name)
		return nil
	}
	return follow(ctx, run, followOptions{logs: o.logs, junit: o.junit, cancel: o.cancelOnInterrupt}, stdout, stderr)
}
