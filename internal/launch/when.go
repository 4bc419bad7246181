package launch

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
)

// The files `sluice-exec when --out-dir DIR` writes, and the names its
// --out NAME=PATH takes.
const (
	// WhenFile says "true" when the step is to run, "false" when it is
	// skipped.
	WhenFile = "sluice-when"
	// ItemsFile is, for a loop, the JSON list of the items that pass the
	// loop's condition, each in standard base64 (an engine fans out over
	// it; the step gets its item back with --in-b64 item=…).
	ItemsFile = "sluice-items"
	// IterationsFile is, for a loop, the JSON list of every item with
	// whether its iteration runs: {"run": "true"|"false", "b64": …}, for
	// an engine that skips single iterations itself (Argo: a loop task's
	// `when` is evaluated per item), so each keeps its index.
	IterationsFile = "sluice-iterations"
	// RunsFile is, for a loop, the JSON list of whether each item's
	// iteration runs ([false,true,…]): with ItemsFile, how an engine
	// that runs only the kept items reports the others as skipped.
	RunsFile = "sluice-runs"
	// KeptFile is, for a loop, ItemsFile with each item's index in the
	// loop: the JSON list of "INDEX:BASE64" for the items that pass (an
	// engine fans out over it; the step gets its item and its index back
	// with --in-item INDEX:BASE64, and writes the index with its outputs).
	KeptFile = "sluice-kept"
)

// The names `sluice-exec when --out NAME=PATH` takes: WhenResult.Texts.
const (
	OutWhen       = "when"
	OutItems      = "items"
	OutIterations = "iterations"
	OutRuns       = "runs"
	OutKept       = "kept"
)

// WhenFiles are the files of `sluice-exec when --out-dir`, by --out name.
var WhenFiles = map[string]string{
	OutWhen:       WhenFile,
	OutItems:      ItemsFile,
	OutIterations: IterationsFile,
	OutRuns:       RunsFile,
	OutKept:       KeptFile,
}

// WhenRequest is one `sluice-exec when`: a step's when condition decided
// where the engine cannot keep IR semantics itself (numbers compared as
// numbers, values that are operands and never expression text), and a
// loop's items computed where the engine cannot take them as they are.
type WhenRequest struct {
	// Spec is the step's condition: its name, its when, and for a loop
	// its forEach (DecodeCondition).
	Spec *Spec
	In   *Bindings
	// Store is the store's URL, needed only when a value passed in is a
	// value ref; "" otherwise.
	Store string
}

// WhenResult is what a condition decided.
type WhenResult struct {
	// Run says whether the step runs: its when holds, or for a loop, at
	// least one item passes.
	Run bool
	// Items are, for a loop, the texts of the items that pass its when
	// (all of them without one), in order: each is what ${{ item }} is
	// in its iteration. nil outside a loop.
	Items []string
	// Iterations are, for a loop, every item's text and whether its
	// iteration runs.
	Iterations []Iteration
}

// Iteration is one item of a loop and the verdict of its condition.
type Iteration struct {
	Run  bool
	Text string
}

// When decides a condition with the same parser and evaluator as every
// other backend (ir.ParseWhen). Outside a loop it evaluates the step's
// when. For a loop it takes the items (the literal list, or the value of
// the items' placeholder, where ${{ item }} is the enclosing loop's item
// passed in) and keeps those for which the when holds with ${{ item }}
// bound to each, as the local runner skips single iterations.
func When(ctx context.Context, req *WhenRequest) (*WhenResult, error) {
	s := &req.Spec.Step
	var w *ir.When
	if s.When != "" {
		var err error
		if w, err = ir.ParseWhen(s.When); err != nil {
			return nil, &Error{Code: ExitUsage, Err: err}
		}
	}
	in := req.In
	var store cache.Store
	if req.Store != "" {
		var err error
		if store, err = cache.Open(ctx, req.Store); err != nil {
			return nil, &Error{Code: ExitUnavailable, Err: err}
		}
	}
	if store == nil && in.hasValueRefs() {
		return nil, &Error{Code: ExitUsage, Err: errors.New("a value passed in is a value ref: pass --cache URL to fetch it")}
	}
	in.SetDefault(ir.Ref{Kind: ir.RefPipelineName}, req.Spec.Pipeline)
	if err := in.Resolve(ctx, store); err != nil {
		return nil, &Error{Code: ExitUnavailable, Err: err}
	}
	if s.ForEach == nil {
		ok, err := w.Eval(in.Value)
		if err != nil {
			return nil, &Error{Code: ExitUsage, Err: fmt.Errorf("when %q: %w", abbrev(s.When), err)}
		}
		return &WhenResult{Run: ok}, nil
	}
	items, err := loopItems(s.ForEach, in)
	if err != nil {
		return nil, &Error{Code: ExitUsage, Err: fmt.Errorf("step %s: forEach.items: %w", s.Name, err)}
	}
	res := &WhenResult{Items: []string{}, Iterations: []Iteration{}}
	for i, item := range items {
		ok := true
		if w != nil {
			if ok, err = w.Eval(itemValues(item, in)); err != nil {
				return nil, &Error{Code: ExitUsage, Err: fmt.Errorf("when %q, item %d: %w", abbrev(s.When), i, err)}
			}
		}
		res.Iterations = append(res.Iterations, Iteration{Run: ok, Text: item.String()})
		if ok {
			res.Items = append(res.Items, item.String())
		}
	}
	res.Run = len(res.Items) > 0
	return res, nil
}

// loopItems are a loop's items: the literal list, or its placeholder's
// value read as a list.
func loopItems(fe *ir.ForEach, in *Bindings) ([]ir.Value, error) {
	v := *fe.Items
	if s, ok := v.Interface().(string); ok {
		text, err := ir.Expand(s, in.Value)
		if err != nil {
			return nil, err
		}
		if v, err = ir.ParseValue(text, ir.TypeList); err != nil {
			return nil, err
		}
	}
	l, ok := v.List()
	if !ok {
		return nil, errors.New("not a list")
	}
	return l, nil
}

// itemValues resolves ${{ item }} and ${{ item.KEY }} to one item of the
// loop, and every other placeholder from in.
func itemValues(item ir.Value, in *Bindings) func(ir.Ref) (string, error) {
	return func(r ir.Ref) (string, error) {
		if r.Kind != ir.RefItem {
			return in.Value(r)
		}
		s, err := item.ItemText(r.Name)
		if err != nil {
			return "", fmt.Errorf("${{ %s }}: %w", r, err)
		}
		return s, nil
	}
}

// Texts are what `sluice-exec when` writes, by --out name: OutWhen,
// "true" or "false"; for a loop also OutItems (EncodeItems), OutIterations
// (EncodeIterations), OutRuns (EncodeRuns) and OutKept (EncodeKept).
func (r *WhenResult) Texts() map[string]string {
	texts := map[string]string{OutWhen: strconv.FormatBool(r.Run)}
	if r.Items != nil {
		texts[OutItems] = EncodeItems(r.Items)
		texts[OutIterations] = EncodeIterations(r.Iterations)
		texts[OutRuns] = EncodeRuns(r.Iterations)
		texts[OutKept] = EncodeKept(r.Iterations)
	}
	return texts
}

// EncodeItems is the ItemsFile text of items: a JSON list of their
// standard base64, which no engine rewrites.
func EncodeItems(items []string) string {
	out := make([]any, len(items))
	for i, s := range items {
		out[i] = base64.StdEncoding.EncodeToString([]byte(s))
	}
	return step.JSONList(out)
}

// EncodeIterations is the IterationsFile text of its: a JSON list of
// {"run": "true"|"false", "b64": the item's standard base64}.
func EncodeIterations(its []Iteration) string {
	type iteration struct {
		Run string `json:"run"`
		B64 string `json:"b64"`
	}
	out := make([]any, len(its))
	for i, it := range its {
		out[i] = iteration{Run: strconv.FormatBool(it.Run), B64: base64.StdEncoding.EncodeToString([]byte(it.Text))}
	}
	return step.JSONList(out)
}

// EncodeKept is the KeptFile text of its: a JSON list of
// "INDEX:BASE64" for each that runs, INDEX its index in its, BASE64 the
// standard base64 of its text. Neither holds a character an engine
// substitutes.
func EncodeKept(its []Iteration) string {
	out := []any{}
	for i, it := range its {
		if it.Run {
			out = append(out, strconv.Itoa(i)+":"+base64.StdEncoding.EncodeToString([]byte(it.Text)))
		}
	}
	return step.JSONList(out)
}

// EncodeRuns is the RunsFile text of its.
func EncodeRuns(its []Iteration) string {
	out := make([]any, len(its))
	for i, it := range its {
		out[i] = it.Run
	}
	return step.JSONList(out)
}

func (b *Bindings) hasValueRefs() bool {
	for ref, v := range b.values {
		if IsValueRef(v) && !b.literal[ref] {
			return true
		}
	}
	for _, l := range b.lists {
		if hasValueRefs(l.elems) {
			return true
		}
	}
	return false
}
