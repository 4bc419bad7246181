package main

import (
	"context"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/conformance"
	"github.com/sluice-dev/sluice/internal/kube"
)

type conformanceOptions struct {
	backends []string
	cases    string
	run      string
	output   string
	parallel int
	kube     kube.Flags
	cluster  conformance.Cluster
}

func newConformanceCmd() *cobra.Command {
	o := &conformanceOptions{}
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Play the conformance cases on backends and print the matrix, case × backend",
		Long: `Play every conformance case (a pipeline and what must come of it: the run's
status, each step's state and outputs, order, and what a second run must take
from the cache) on each backend, twice, and print the matrix, case × backend,
with the reason for every failure. Exit 0 when every cell passes, 1 otherwise.

The cases ship with Sluice (conformance/cases); --cases DIR plays others.
The argo and tekton backends submit to the cluster of the kubeconfig, with
an S3 store that both the pods and this machine reach (--store) and its
credentials: in the runs' namespace as a Secret (--cache-secret), here from
the environment as for 'sluice run --cache'. A backend that cannot be reached
is a column of failures that says why.`,
		Example: `  sluice conformance
  sluice conformance -b local --run 'when|groups' -o markdown
  sluice conformance -b local,argo,tekton --kubeconfig ~/.kube/e2e -n sluice \
    --store 's3://sluice/conformance?endpoint=127.0.0.1:7070&insecure=true' --cache-secret sluice-cache \
    --launcher-image sluice.dev/sluice-exec:dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConformance(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.backends, "backend", "b", []string{"local"}, "backends to play the cases on: "+strings.Join(conformance.BackendNames, ", "))
	f.StringVar(&o.cases, "cases", "", "directory of cases (NAME.txtar); default: the suite built in")
	f.StringVar(&o.run, "run", "", "play only the cases whose name matches this regular expression")
	f.StringVarP(&o.output, "output", "o", "text", "format of the matrix: text or markdown")
	f.IntVar(&o.parallel, "parallel", 3, "cases played at once on each backend (backends play at the same time)")
	f.StringVar(&o.kube.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster backends' cluster")
	f.StringVar(&o.kube.Context, "context", "", "kubeconfig context to use")
	f.StringVarP(&o.kube.Namespace, "namespace", "n", "", "namespace of the cluster backends' runs")
	f.StringVar(&o.cluster.Store, "store", "", "S3 store the cluster backends' pods and this machine reach; each case gets a prefix under it")
	f.StringVar(&o.cluster.CacheSecret, "cache-secret", "", "Secret with the store's credentials in the runs' namespace")
	f.StringVar(&o.cluster.LauncherImage, "launcher-image", defaultLauncherImage(), "image holding sluice-exec on the cluster's nodes")
	f.DurationVar(&o.cluster.Timeout, "timeout", 10*time.Minute, "longest one run of a case may take on a cluster")
	return cmd
}

func runConformance(ctx context.Context, o *conformanceOptions, stdout, stderr io.Writer) error {
	if o.output != "text" && o.output != "markdown" {
		return usageErrorf("-o %q: want text or markdown", o.output)
	}
	src := conformance.Cases()
	if o.cases != "" {
		src = os.DirFS(o.cases)
	}
	cases, err := conformance.Load(src)
	if err != nil {
		return err
	}
	if o.run != "" {
		re, err := regexp.Compile(o.run)
		if err != nil {
			return usageErrorf("--run: %v", err)
		}
		cases = slices.DeleteFunc(cases, func(c *conformance.Case) bool { return !re.MatchString(c.Name) })
		if len(cases) == 0 {
			return usageErrorf("--run %q matches no case", o.run)
		}
	}
	dir, err := os.MkdirTemp("", "sluice-conformance-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	backends, err := conformance.New(o.backends, conformance.Options{Dir: dir, Kube: o.kube, Cluster: o.cluster})
	if err != nil {
		return usageErrorf("--backend: %v", err)
	}
	m := conformance.Play(ctx, cases, backends, o.parallel, stderr)
	if o.output == "markdown" {
		m.Markdown(stdout)
	} else {
		m.Text(stdout)
	}
	if !m.Pass() {
		return errSilent
	}
	return nil
}
