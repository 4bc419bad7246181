package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/adapters/local"
	"github.com/sluice-dev/sluice/cache"
	_ "github.com/sluice-dev/sluice/cache/s3" // s3:// cache URLs
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
	_ "github.com/sluice-dev/sluice/plugins/store" // plugin:/// cache URLs: out-of-process stores
)

type runOptions struct {
	file       string
	params     []string
	parallel   int
	cache      cacheFlags
	executor   string
	junit      string
	output     string
	runsDir    string
	secretsDir string
	keepWork   bool
}

// cacheFlags are the flags that pick a cache store, shared by run and cache.
type cacheFlags struct {
	dir     string
	url     string
	noCache bool
}

func (c *cacheFlags) register(cmd *cobra.Command, withNoCache bool) {
	cmd.Flags().StringVar(&c.dir, "cache-dir", "", "cache directory (default $XDG_CACHE_HOME/sluice)")
	cmd.Flags().StringVar(&c.url, "cache", "", "cache store URL: a path, file:///path, or s3://bucket/prefix?endpoint=host:port&region=r (see docs/cache.md); overrides --cache-dir")
	if withNoCache {
		cmd.Flags().BoolVar(&c.noCache, "no-cache", false, "neither read nor write the cache")
	}
}

func (c *cacheFlags) open(ctx context.Context) (cache.Store, error) {
	url := c.url
	if url == "" {
		url = c.dir
	}
	if url == "" {
		dir, err := cache.DefaultDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory: %w (set --cache-dir)", err)
		}
		url = dir
	}
	return cache.Open(ctx, url)
}

func newRunCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a pipeline on this machine",
		Long: `Run a pipeline on this machine: each step's command runs on the host (or in its
image with --executor docker|podman), as soon as what it needs is done, with at
most --parallel commands at once. Steps whose cache key matches a finished step
are not run again: they are reported Cached and their recorded outputs reused.

Each run writes .sluice/runs/<run-id>/ with per-step logs, the resolved inputs,
the outputs and run.json. Exit code: 0 when the pipeline succeeded, 1 when it
failed, 130 when interrupted (Ctrl-C; the cache stays consistent).

Set SLUICE_CACHE_VERIFY=1 to re-run cache hits and compare their outputs with
the cached ones, for steps you doubt are deterministic.`,
		Example: `  sluice run examples/housing.yaml
  sluice run examples/housing.yaml -p rows=2000 --parallel 4 --junit report.xml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completePipelineFiles(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			return runRun(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.params, "param", "p", nil, "set a pipeline parameter: -p name=value (repeatable)")
	f.IntVar(&o.parallel, "parallel", 0, "most commands running at once (default: number of CPUs)")
	o.cache.register(cmd, true)
	f.StringVar(&o.executor, "executor", "process", "where commands run: "+strings.Join(step.ExecutorNames(), ", "))
	f.StringVar(&o.junit, "junit", "", "write a JUnit XML report to this file")
	f.StringVarP(&o.output, "output", "o", "", "print the run summary: json")
	f.StringVar(&o.runsDir, "runs-dir", filepath.Join(".sluice", "runs"), "where run directories go")
	f.StringVar(&o.secretsDir, "secrets-dir", filepath.Join(".sluice", "secrets"), "local secrets: DIR/<secret>/<key> files")
	f.BoolVar(&o.keepWork, "keep-work", false, "keep each step's scratch directory")
	_ = cmd.RegisterFlagCompletionFunc("executor", cobra.FixedCompletions(step.ExecutorNames(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// errInterrupted exits 130, as a shell does for Ctrl-C.
var errInterrupted = errors.New("interrupted")

func runRun(ctx context.Context, o *runOptions, stdout, stderr io.Writer) error {
	if o.output != "" && o.output != "json" {
		return usageErrorf("unknown output format %q: use json", o.output)
	}
	exec, err := step.NewExecutor(o.executor)
	if err != nil {
		return usageErrorf("%v", err)
	}
	overrides, err := ir.ParseOverrides(o.params)
	if err != nil {
		return usageErrorf("%v", err)
	}
	p, err := ir.Load(o.file)
	if err != nil {
		return err
	}
	params, err := p.ResolveParams(overrides)
	if err != nil {
		return err
	}
	if c, ok := exec.(step.Container); ok {
		if err := c.Available(ctx); err != nil {
			return fmt.Errorf("--executor %s: %w", o.executor, err)
		}
	}
	store, err := o.cache.open(ctx)
	if err != nil {
		return err
	}
	// Progress goes to stdout, unless stdout carries the JSON summary.
	progressOut := stdout
	if o.output == "json" {
		progressOut = stderr
	}
	f, _ := progressOut.(*os.File)
	progress := report.NewProgress(progressOut, f != nil && report.IsTerminal(f))
	sum, runErr := local.Run(ctx, p, params, local.Options{
		Store:    store,
		Executor: exec,
		Parallel: o.parallel,
		NoCache:  o.cache.noCache,
		Verify:   step.VerifyFromEnv(),
		RunsDir:  o.runsDir,
		Observer: progress,
		Secrets:  local.SecretsFrom(o.secretsDir),
		KeepWork: o.keepWork,
	})
	progress.Close()
	if sum == nil {
		return runErr
	}
	if o.junit != "" {
		if err := writeFileAtomic(o.junit, func(w io.Writer) error { return report.WriteJUnit(w, sum) }); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if o.output == "json" {
		if err := report.WriteJSON(stdout, sum); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s: %s in %s (run %s)\n", sum.Pipeline, sum.Status, sum.Duration().Round(1e6), sum.Run)
		printFailures(stderr, sum)
	}
	switch {
	case errors.Is(runErr, local.ErrInterrupted):
		return errInterrupted
	case runErr != nil:
		return runErr
	case sum.Status != report.Succeeded:
		return errSilent
	}
	return nil
}

// printFailures points at the log of every failed step.
func printFailures(w io.Writer, sum *report.Summary) {
	var failed []report.StepResult
	for _, s := range sum.Steps {
		if s.State == report.Failed {
			failed = append(failed, s)
		}
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].Name < failed[j].Name })
	for _, s := range failed {
		fmt.Fprintf(w, "step %s failed: %s", s.Name, s.Message)
		if s.Log != "" {
			fmt.Fprintf(w, " (log: %s)", s.Log)
		}
		fmt.Fprintln(w)
	}
}

// writeFileAtomic writes a file through a temporary sibling, so a reader
// never sees half of it.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
