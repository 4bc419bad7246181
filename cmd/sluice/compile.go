package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ir"
)

// target is one engine a pipeline compiles to. Each engine registers
// itself from its own file (target_argo.go, target_tekton.go), so adding
// one touches nothing here.
type target struct {
	// compile translates a validated pipeline with resolved parameters
	// into the engine's objects, ready to print or submit.
	compile func(p *ir.Pipeline, params map[string]ir.Value, o *compileOptions) ([]any, error)
	// flags adds the target's own flags, if any.
	flags func(cmd *cobra.Command, o *compileOptions)
}

var targets = newRegistry[target]("target")

func registerTarget(name string, t target) { targets.add(name, t) }

func targetNames() []string { return targets.names() }

// compileOptions are the flags every target shares.
type compileOptions struct {
	file           string
	target         string
	params         []string
	output         string
	namespace      string
	serviceAccount string
	launcherImage  string
	cacheURL       string
	cacheSecret    string
	// cachePlugin makes each cacheable step ask the engine's cache plugin
	// before any pod exists (sluice install ENGINE-plugin).
	cachePlugin bool
	// extra holds target-specific flag values, by flag name.
	extra map[string]*string
}

func addCompileFlags(cmd *cobra.Command, o *compileOptions) {
	f := cmd.Flags()
	f.StringVarP(&o.target, "target", "t", "", "engine to compile for: "+strings.Join(targetNames(), ", "))
	f.StringArrayVarP(&o.params, "param", "p", nil, "set a pipeline parameter: -p name=value (repeatable)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the objects")
	f.StringVar(&o.serviceAccount, "service-account", "", "service account the steps' pods run as")
	f.StringVar(&o.launcherImage, "launcher-image", defaultLauncherImage(), "image holding sluice-exec, copied into every step's pod")
	f.StringVar(&o.cacheURL, "cache", "", "cache store URL the steps use in the cluster (s3://bucket/prefix?endpoint=…)")
	f.StringVar(&o.cacheSecret, "cache-secret", "", "Secret with the store's credentials (keys accesskey, secretkey), mounted into every step")
	f.BoolVar(&o.cachePlugin, "cache-plugin", false, "look each cacheable step up through the engine's cache plugin first, so a hit starts no pod (see 'sluice install --help')")
	_ = cmd.RegisterFlagCompletionFunc("target", cobra.FixedCompletions(targetNames(), cobra.ShellCompDirectiveNoFileComp))
	for _, name := range targetNames() {
		if t, _ := targets.get(name); t.flags != nil {
			t.flags(cmd, o)
		}
	}
}

// defaultLauncherImage is the launcher image of this build's version.
func defaultLauncherImage() string {
	return "ghcr.io/sluice-dev/sluice-exec:" + version
}

func newCompileCmd() *cobra.Command {
	o := &compileOptions{extra: map[string]*string{}}
	cmd := &cobra.Command{
		Use:   "compile -t TARGET FILE",
		Short: "Translate a pipeline into an engine's objects (Argo Workflow, Tekton PipelineRun)",
		Long: `Translate a pipeline into the objects an engine runs, and print them. Nothing
is submitted: pipe the output to kubectl, keep it in Git, or use 'sluice submit'.
Every step runs under the launcher (sluice-exec), so cluster runs share the
cache, content-addressed artifacts and cached-step short-circuit of local runs.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completePipelineFiles(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			return runCompile(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	addCompileFlags(cmd, o)
	addOutputFlag(cmd, &o.output, formatYAML, formatJSON)
	return cmd
}

// compileFile loads, validates and compiles the pipeline named in o.
func compileFile(o *compileOptions) ([]any, *ir.Pipeline, error) {
	t, ok := targets.get(o.target)
	if !ok {
		if o.target == "" {
			return nil, nil, usageErrorf("-t is required: one of %s", strings.Join(targetNames(), ", "))
		}
		return nil, nil, usageErrorf("unknown target %q: use one of %s", o.target, strings.Join(targetNames(), ", "))
	}
	overrides, err := ir.ParseOverrides(o.params)
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	p, err := ir.Load(o.file)
	if err != nil {
		return nil, nil, err
	}
	params, err := p.ResolveParams(overrides)
	if err != nil {
		return nil, nil, err
	}
	objs, err := t.compile(p, params, o)
	if err != nil {
		return nil, nil, fmt.Errorf("compile %s for %s: %w", o.file, o.target, err)
	}
	return objs, p, nil
}

func runCompile(_ context.Context, o *compileOptions, stdout io.Writer) error {
	objs, _, err := compileFile(o)
	if err != nil {
		return err
	}
	return writeObjects(stdout, o.output, objs)
}

// writeObjects prints objects as one YAML stream (documents separated by
// ---) or, for JSON, one object or a List.
func writeObjects(w io.Writer, format string, objs []any) error {
	if format == formatJSON {
		if len(objs) == 1 {
			return writeJSON(w, objs[0])
		}
		return writeJSON(w, map[string]any{"apiVersion": "v1", "kind": "List", "items": objs})
	}
	for i, obj := range objs {
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if err := writeKubeYAML(w, obj); err != nil {
			return err
		}
	}
	return nil
}
