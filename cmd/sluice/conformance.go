package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/conformance"
)

type conformanceOptions struct {
	backends []string
	cases    string
	run      string
	output   string
	dir      string
}

// conformanceBackends makes the backends a conformance run can use, by
// name; cluster targets add theirs.
var conformanceBackends = map[string]func(o *conformanceOptions) (conformance.Backend, error){
	"local": func(o *conformanceOptions) (conformance.Backend, error) {
		return &conformance.Local{Dir: o.dir}, nil
	},
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

The cases ship with Sluice (conformance/cases); --cases DIR plays others.`,
		Example: `  sluice conformance
  sluice conformance -b local --run 'when|groups' -o markdown`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConformance(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.backends, "backend", "b", []string{"local"}, "backends to play the cases on: "+strings.Join(slices.Sorted(mapKeys(conformanceBackends)), ", "))
	f.StringVar(&o.cases, "cases", "", "directory of cases (NAME.txtar); default: the suite built in")
	f.StringVar(&o.run, "run", "", "play only the cases whose name matches this regular expression")
	f.StringVarP(&o.output, "output", "o", "text", "format of the matrix: text or markdown")
	return cmd
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
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
	o.dir = dir
	var backends []conformance.Backend
	for _, name := range o.backends {
		mk, ok := conformanceBackends[name]
		if !ok {
			return usageErrorf("--backend %q: want one of %s", name, strings.Join(slices.Sorted(mapKeys(conformanceBackends)), ", "))
		}
		b, err := mk(o)
		if err != nil {
			return fmt.Errorf("backend %s: %w", name, err)
		}
		backends = append(backends, b)
	}
	m := conformance.Play(ctx, cases, backends, stderr)
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
