package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/launch"
)

// The output names of `when`, as --out NAME=PATH takes them.
const (
	outWhen       = "when"
	outItems      = "items"
	outIterations = "iterations"
	outRuns       = "runs"
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
	fs.Var(&outs, "out", "write output NAME (when: true or false; items: the loop's items that run; iterations: every item and whether it runs; runs: whether each runs) to PATH: `NAME=PATH`")
	fs.StringVar(&outDir, "out-dir", "", "write "+launch.WhenFile+" and, for a loop, "+launch.ItemsFile+" and "+launch.IterationsFile+" to `DIR`")
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
	if cache == "" {
		cache = os.Getenv(launch.CacheEnv)
	}
	res, err := launch.When(context.Background(), &launch.WhenRequest{Spec: spec, In: in, Store: cache})
	if err != nil {
		return err
	}
	texts := map[string]string{outWhen: strconv.FormatBool(res.Run)}
	if res.Items != nil {
		texts[outItems] = launch.EncodeItems(res.Items)
		texts[outIterations] = launch.EncodeIterations(res.Iterations)
		texts[outRuns] = launch.EncodeRuns(res.Iterations)
	}
	for _, name := range []string{outItems, outIterations, outRuns, outWhen} { // when last: it gates the step
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
	fmt.Fprintln(stdout, texts[outWhen])
	return nil
}

// whenPaths is where each output goes: --out NAME=PATH, or the files of
// --out-dir.
func whenPaths(outs []string, dir string, loop bool) (map[string]string, error) {
	paths := map[string]string{}
	if dir != "" {
		paths[outWhen] = filepath.Join(dir, launch.WhenFile)
		if loop {
			paths[outItems] = filepath.Join(dir, launch.ItemsFile)
			paths[outIterations] = filepath.Join(dir, launch.IterationsFile)
			paths[outRuns] = filepath.Join(dir, launch.RunsFile)
		}
	}
	for _, o := range outs {
		name, path, ok := strings.Cut(o, "=")
		switch {
		case !ok || path == "":
			return nil, fmt.Errorf("--out %q: want NAME=PATH", o)
		case name != outWhen && name != outItems && name != outIterations && name != outRuns:
			return nil, fmt.Errorf("--out %s: no such output (want %s, %s, %s or %s)", name, outWhen, outItems, outIterations, outRuns)
		case name != outWhen && !loop:
			return nil, fmt.Errorf("--out %s: the step does not loop", name)
		}
		paths[name] = path
	}
	if _, ok := paths[outWhen]; !ok {
		return nil, errors.New("--out when=PATH or --out-dir DIR is required")
	}
	return paths, nil
}
