package launch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
)

// DefaultMaxValueBytes is the default bound on an output value written
// inline: under Tekton's 4 KiB limit on a task's results, with room left
// for the artifact URIs and Tekton's own bookkeeping.
const DefaultMaxValueBytes = 3072

// Limits bound what the launcher writes for a step's outputs. A value over
// a bound is written as a value ref instead.
type Limits struct {
	// MaxValue bounds each value.
	MaxValue int
	// MaxTotal, when positive, bounds the sum over every output (values,
	// value refs and artifact URIs): Tekton's termination message holds
	// all of a task's results at once. The largest values become refs
	// until the sum fits.
	MaxTotal int
}

// OutCached is the --out name of whether the step was a cache hit:
// "true" or "false", as CachedFile in --out-dir.
const OutCached = "cached"

// OutIndex is the --out name of the index of the item whose iteration
// the execution is (--index, --in-item), as IndexFile in --out-dir: an
// engine that aggregates a loop's outputs out of item order hands the
// indexes to the readers with the outputs (--in-list-index), which put
// them back in order.
const OutIndex = "index"

// Out is one output to write to a file: Name is "params.X",
// "artifacts.X", OutCached or OutIndex.
type Out struct {
	Name string
	Path string
}

// ParseOuts parses --out NAME=PATH arguments.
func ParseOuts(args []string) ([]Out, error) {
	var outs []Out
	var errs []error
	for _, arg := range args {
		name, path, ok := strings.Cut(arg, "=")
		if !ok || path == "" {
			errs = append(errs, fmt.Errorf("--out %s: want NAME=PATH", abbrev(arg)))
			continue
		}
		outs = append(outs, Out{Name: name, Path: path})
	}
	return outs, errors.Join(errs...)
}

// outputNames lists the names a step's outputs are written under.
func outputNames(o ir.Outputs) []string {
	var names []string
	for _, p := range o.Params {
		names = append(names, "params."+p.Name)
	}
	for _, a := range o.Artifacts {
		names = append(names, "artifacts."+a.Name)
	}
	return names
}

// checkOuts reports --out names that the step does not declare, and an
// index asked for outside a loop's iteration.
func checkOuts(outs []Out, o ir.Outputs, indexed bool) error {
	declared := outputNames(o)
	var errs []error
	for _, out := range outs {
		if out.Name == OutIndex && !indexed {
			errs = append(errs, fmt.Errorf("--out %s: no iteration's index (--index or --in-item)", out.Name))
			continue
		}
		if out.Name != OutCached && out.Name != OutIndex && !slices.Contains(declared, out.Name) {
			want := "the step declares no outputs"
			if len(declared) > 0 {
				want = "the step declares " + strings.Join(declared, ", ")
			}
			errs = append(errs, fmt.Errorf("--out %s: no such output: %s", out.Name, want))
		}
	}
	return errors.Join(errs...)
}

// render returns the text written for each output, by name: a value as it
// is or as a value ref, an artifact as its URI.
func render(ctx context.Context, s cache.Store, o ir.Outputs, res *step.Result, lim Limits) (map[string]string, error) {
	texts := map[string]string{}
	var inline []string // names of the values written as they are
	for _, p := range o.Params {
		name := "params." + p.Name
		v, ok := res.Params[p.Name]
		if !ok {
			return nil, fmt.Errorf("output %s: missing from the step's result", name)
		}
		if Inline(v, lim.MaxValue) {
			texts[name] = v
			inline = append(inline, name)
			continue
		}
		ref, err := PutValue(ctx, s, v)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		texts[name] = ref
	}
	for _, a := range o.Artifacts {
		name := "artifacts." + a.Name
		ref, ok := res.Artifacts[a.Name]
		if !ok {
			return nil, fmt.Errorf("output %s: missing from the step's result", name)
		}
		texts[name] = ref.URI()
	}
	if lim.MaxTotal <= 0 {
		return texts, nil
	}
	total := 0
	for _, t := range texts {
		total += len(t)
	}
	// Largest first, so the fewest values move; ties by name, so the
	// choice is the same on every run.
	slices.SortFunc(inline, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(texts[b]), len(texts[a])), cmp.Compare(a, b))
	})
	for _, name := range inline {
		if total <= lim.MaxTotal {
			break
		}
		ref, err := PutValue(ctx, s, texts[name])
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		if len(ref) >= len(texts[name]) {
			break // the rest are smaller than a ref: nothing left to gain
		}
		total += len(ref) - len(texts[name])
		texts[name] = ref
	}
	if total > lim.MaxTotal {
		return nil, fmt.Errorf("outputs take %d bytes even with values stored as refs, more than the bound of %d", total, lim.MaxTotal)
	}
	return texts, nil
}

// writeOutputs writes the texts to the --out files and, when dir is set,
// every one of them to dir/NAME; and whether the step was a cache hit
// (cached: "true" or "false") to the OutCached file and dir/CachedFile,
// for the engine to report Cached without reading logs; and the
// iteration's index, when there is one (index not ""), to the OutIndex
// file and dir/IndexFile.
func writeOutputs(texts map[string]string, outs []Out, dir, cached, index string) error {
	var errs []error
	for _, out := range outs {
		text := texts[out.Name]
		switch out.Name {
		case OutCached:
			text = cached
		case OutIndex:
			text = index
		}
		if err := writeFile(out.Path, text); err != nil {
			errs = append(errs, fmt.Errorf("--out %s: %w", out.Name, err))
		}
	}
	if dir != "" {
		names := make([]string, 0, len(texts))
		for name := range texts {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if err := writeFile(filepath.Join(dir, name), texts[name]); err != nil {
				errs = append(errs, fmt.Errorf("--out-dir: %w", err))
			}
		}
		if err := writeFile(filepath.Join(dir, CachedFile), cached); err != nil {
			errs = append(errs, fmt.Errorf("--out-dir: %w", err))
		}
		if index != "" {
			if err := writeFile(filepath.Join(dir, IndexFile), index); err != nil {
				errs = append(errs, fmt.Errorf("--out-dir: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// writeFile writes a file whole or not at all: the engine may read it as
// soon as the container ends.
func writeFile(path, text string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
