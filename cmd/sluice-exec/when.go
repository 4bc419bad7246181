package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-dev/sluice/internal/launch"
)

// whenCmd is `sluice-exec when`: it decides a step's when condition (and,
// for a loop, which items run) from the values passed in, and writes the
// outcome where the engine reads it, for it to gate the step on and fan
// out over the items.
func whenCmd(args []string, stdout io.Writer) error {
	var (
		specB64, cache, outDir string
		outs                   launch.ListFlag
		values                 launch.ValueFlags
	)
	fs := flag.NewFlagSet("when", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&specB64, "spec-b64", "", "the step's condition: name, when and forEach, `B64` as for run")
	fs.StringVar(&cache, "cache", "", "the store `URL`, to fetch values passed as value refs (env "+launch.CacheEnv+")")
	fs.Var(&outs, "out", "write output NAME (when: true or false; items: the loop's items that run; kept: the same with their indexes; iterations: every item and whether it runs; runs: whether each runs) to PATH: `NAME=PATH`")
	fs.StringVar(&outDir, "out-dir", "", "write "+launch.WhenFile+" and, for a loop, "+launch.ItemsFile+", "+launch.KeptFile+", "+launch.IterationsFile+" and "+launch.RunsFile+" to `DIR`")
	values.Register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: sluice-exec when --spec-b64 B64 (--out-dir DIR | --out when=PATH [--out items=PATH]) [--in KEY=VALUE]... [-- ELEMENTS]")
			fs.PrintDefaults()
			return errHelp
		}
		return usageError("when: %v", err)
	}
	if specB64 == "" {
		return usageError("when: --spec-b64 is required")
	}
	spec, err := launch.DecodeCondition(specB64)
	if err != nil {
		return usageError("when: --spec-b64: %v", err)
	}
	paths, err := whenPaths(outs, outDir, spec.Step.ForEach != nil)
	if err != nil {
		return usageError("when: %v", err)
	}
	in, err := values.Bindings(fs.Args())
	if err != nil {
		return &launch.Error{Code: launch.ExitUsage, Err: err}
	}
	if _, ok := in.Index(); ok {
		return usageError("when: --index and --in-item are run's: a condition is no iteration")
	}
	if cache == "" {
		cache = os.Getenv(launch.CacheEnv)
	}
	res, err := launch.When(context.Background(), &launch.WhenRequest{Spec: spec, In: in, Store: cache})
	if err != nil {
		return err
	}
	texts := res.Texts()
	for _, name := range []string{launch.OutItems, launch.OutKept, launch.OutIterations, launch.OutRuns, launch.OutWhen} { // when last: it gates the step
		path, ok := paths[name]
		if !ok {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return &launch.Error{Code: launch.ExitOutputs, Err: err}
		}
		if err := os.WriteFile(path, []byte(texts[name]), 0o644); err != nil {
			return &launch.Error{Code: launch.ExitOutputs, Err: err}
		}
	}
	fmt.Fprintln(stdout, texts[launch.OutWhen])
	return nil
}

// whenPaths is where each output goes: --out NAME=PATH, or the files of
// --out-dir.
func whenPaths(outs []string, dir string, loop bool) (map[string]string, error) {
	paths := map[string]string{}
	if dir != "" {
		for name, file := range launch.WhenFiles {
			if loop || name == launch.OutWhen {
				paths[name] = filepath.Join(dir, file)
			}
		}
	}
	for _, o := range outs {
		name, path, ok := strings.Cut(o, "=")
		_, known := launch.WhenFiles[name]
		switch {
		case !ok || path == "":
			return nil, fmt.Errorf("--out %q: want NAME=PATH", o)
		case !known:
			return nil, fmt.Errorf("--out %s: no such output (want %s, %s, %s, %s or %s)", name,
				launch.OutWhen, launch.OutItems, launch.OutKept, launch.OutIterations, launch.OutRuns)
		case name != launch.OutWhen && !loop:
			return nil, fmt.Errorf("--out %s: the step does not loop", name)
		}
		paths[name] = path
	}
	if _, ok := paths[launch.OutWhen]; !ok {
		return nil, errors.New("--out when=PATH or --out-dir DIR is required")
	}
	return paths, nil
}
