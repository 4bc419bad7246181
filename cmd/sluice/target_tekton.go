package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/ir"
)

// flagEmit is compile's --emit, for -t tekton.
const flagEmit = "emit"

func init() {
	registerTarget("tekton", target{compile: compileTekton, flags: tektonFlags})
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
