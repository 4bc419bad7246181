package launch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
)

// Bindings are the runtime values an engine passes to the launcher (--in
// KEY=VALUE), by placeholder. They are the launcher's step.Values, as the
// local runner's come from the steps it ran before.
type Bindings struct {
	values    map[ir.Ref]string
	artifacts map[ir.Ref]cache.ArtifactRef
	lists     []list
	literal   map[ir.Ref]bool // from --in-b64: never a value ref
	// index is the iteration of its loop this execution is (--index,
	// --in-item); -1 outside a loop.
	index int
}

var _ step.Values = (*Bindings)(nil)

// ParseBindings parses --in arguments. KEY is a placeholder expression as
// written between ${{ and }}: params.NAME, steps.S.outputs.params.NAME,
// steps.S.outputs.artifacts.NAME, item, item.KEY, pipeline.name,
// pipeline.runId or pipeline.status. VALUE is the raw text; for an
// artifact it is the artifact's URI (cache.ArtifactRef.URI). Every problem
// is reported at once.
func ParseBindings(args []string) (*Bindings, error) {
	b := &Bindings{values: map[ir.Ref]string{}, artifacts: map[ir.Ref]cache.ArtifactRef{}, literal: map[ir.Ref]bool{}, index: -1}
	var errs []error
	for _, arg := range args {
		if err := b.add(arg); err != nil {
			key, _, _ := strings.Cut(arg, "=")
			errs = append(errs, fmt.Errorf("--in %s: %w", abbrev(key), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Bindings) add(arg string) error { return b.bind(arg, false) }

// bind binds one KEY=VALUE; a literal value is never taken for a value
// ref (--in-b64 carries values exactly, whatever they look like).
func (b *Bindings) bind(arg string, literal bool) error {
	key, val, ok := strings.Cut(arg, "=")
	if !ok {
		return errors.New("want KEY=VALUE")
	}
	ref, err := ir.ParseRef(key)
	if err != nil {
		return err
	}
	if _, dup := b.values[ref]; dup {
		return errors.New("given twice")
	}
	if _, dup := b.artifacts[ref]; dup {
		return errors.New("given twice")
	}
	switch ref.Kind {
	case ir.RefStepArtifact:
		a, err := cache.ParseArtifactURI(val)
		if err != nil {
			return err
		}
		b.artifacts[ref] = a
	case ir.RefParam, ir.RefStepParam, ir.RefItem, ir.RefPipelineName, ir.RefPipelineRunID, ir.RefPipelineStatus:
		if !literal && IsValueRef(val) {
			if _, _, err := ParseValueRef(val); err != nil {
				return err
			}
		}
		if literal {
			b.literal[ref] = true
		}
		b.values[ref] = val
	default:
		return fmt.Errorf("${{ %s }} is resolved by the launcher, not passed in", ref)
	}
	return nil
}

// SetDefault binds ref to val unless it is bound already.
func (b *Bindings) SetDefault(ref ir.Ref, val string) {
	if _, ok := b.values[ref]; !ok {
		b.values[ref] = val
	}
}

// Lookup returns the raw value bound to ref.
func (b *Bindings) Lookup(ref ir.Ref) (string, bool) {
	v, ok := b.values[ref]
	return v, ok
}

// Resolve replaces every value that is a value ref (see IsValueRef) by the
// value it names, fetched from s.
func (b *Bindings) Resolve(ctx context.Context, s cache.Store) error {
	if err := b.makeLists(ctx, s); err != nil {
		return err
	}
	refs := make([]ir.Ref, 0, len(b.values))
	for ref, v := range b.values {
		if IsValueRef(v) && !b.literal[ref] {
			refs = append(refs, ref)
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	for _, ref := range refs {
		if s == nil {
			return fmt.Errorf("--in %s: a value ref, and there is no store to fetch it from", ref)
		}
		v, err := GetValue(ctx, s, b.values[ref])
		if err != nil {
			return fmt.Errorf("--in %s: %w", ref, err)
		}
		b.values[ref] = v
	}
	return nil
}

// Value implements step.Values. item.KEY is taken as given, or else from
// the item, read as a JSON object.
func (b *Bindings) Value(ref ir.Ref) (string, error) {
	if v, ok := b.values[ref]; ok {
		return v, nil
	}
	if ref.Kind == ir.RefItem && ref.Name != "" {
		raw, ok := b.values[ir.Ref{Kind: ir.RefItem}]
		if !ok {
			return "", fmt.Errorf("${{ %s }}: no value passed in (--in item=… or --in %s=…)", ref, ref)
		}
		var item ir.Value
		if err := item.UnmarshalJSON([]byte(raw)); err != nil || item.Type() != ir.TypeObject {
			return "", fmt.Errorf("${{ %s }}: the item %q is not a JSON object", ref, abbrev(raw))
		}
		f, ok := item.Field(ref.Name)
		if !ok {
			return "", fmt.Errorf("${{ %s }}: the item %q has no field %q", ref, abbrev(raw), ref.Name)
		}
		return f.String(), nil
	}
	return "", fmt.Errorf("${{ %s }}: no value passed in (--in %s=…)", ref, ref)
}

// Artifact implements step.Values.
func (b *Bindings) Artifact(ref ir.Ref) (cache.ArtifactRef, error) {
	if a, ok := b.artifacts[ref]; ok {
		return a, nil
	}
	return cache.ArtifactRef{}, fmt.Errorf("${{ %s }}: no artifact passed in (--in %s=cas://…)", ref, ref)
}

func abbrev(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// AddB64 parses --in-b64 arguments: KEY=B64, the value in standard
// base64, for text an engine would rewrite if it went as it is (Argo's
// {{, Tekton's $() or that no command line carries (NUL, invalid UTF-8).
func (b *Bindings) AddB64(args []string) error {
	var errs []error
	for _, arg := range args {
		key, enc, ok := strings.Cut(arg, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("--in-b64 %s: want KEY=BASE64", abbrev(arg)))
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			errs = append(errs, fmt.Errorf("--in-b64 %s: %w", abbrev(key), err))
			continue
		}
		if err := b.bind(key+"="+string(raw), true); err != nil {
			errs = append(errs, fmt.Errorf("--in-b64 %s: %w", abbrev(key), err))
		}
	}
	return errors.Join(errs...)
}

// AddLists parses --in-list arguments, KEY=TYPE:COUNT, and takes each
// list's COUNT elements from elems in order: KEY becomes the JSON list of
// them, as a loop's output is read from outside the loop (step.ListElem:
// a string output's elements as JSON strings, others as JSON). This is
// the form of an engine that passes a loop's outputs as separate
// arguments (Tekton's array results). Elements that are value refs are
// fetched from the store before the list is made (see Resolve). All of
// elems must be used.
//
// A list whose KEY is among indexed (--in-list-index) has its COUNT
// elements followed by as many indexes, the index of the iteration that
// wrote each element (its --index), and the elements are put in the
// order of their indexes: the order of the items, whatever order the
// engine aggregated them in (Tekton sorts a matrix's TaskRuns by name,
// NAME-10 before NAME-2). The indexes must be distinct numbers.
func (b *Bindings) AddLists(lists, indexed, elems []string) error {
	var errs []error
	listed := map[string]bool{}
	for _, l := range lists {
		key, spec, ok := strings.Cut(l, "=")
		typ, count, ok2 := strings.Cut(spec, ":")
		n, err := strconv.Atoi(count)
		listed[key] = true
		if !ok || !ok2 || err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("--in-list %s: want KEY=TYPE:COUNT", abbrev(l)))
			continue
		}
		want := n
		byIndex := slices.Contains(indexed, key)
		if byIndex {
			want = 2 * n // the elements, then their indexes
		}
		if want > len(elems) {
			errs = append(errs, fmt.Errorf("--in-list %s: %d arguments, %d left after --", key, want, len(elems)))
			elems = nil
			continue
		}
		l := list{typ: ir.ParamType(typ), elems: make([]elem, n)}
		for i, e := range elems[:n] {
			l.elems[i].text = e
		}
		if byIndex {
			if err := inIndexOrder(l.elems, elems[n:want]); err != nil {
				errs = append(errs, fmt.Errorf("--in-list-index %s: %w", abbrev(key), err))
			}
		}
		if err := b.addList(key, l); err != nil {
			errs = append(errs, fmt.Errorf("--in-list %s: %w", abbrev(key), err))
		}
		elems = elems[want:]
	}
	for _, k := range indexed {
		if !listed[k] {
			errs = append(errs, fmt.Errorf("--in-list-index %s: no --in-list of that key", abbrev(k)))
		}
	}
	if len(elems) > 0 {
		errs = append(errs, fmt.Errorf("%d arguments after -- that no --in-list takes", len(elems)))
	}
	return errors.Join(errs...)
}

// inIndexOrder puts elems in the order of their iterations' indexes.
func inIndexOrder(elems []elem, indexes []string) error {
	type indexed struct {
		index int
		elem  elem
	}
	pairs := make([]indexed, len(elems))
	seen := map[int]bool{}
	for i, s := range indexes {
		n, err := parseIndex(s)
		if err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
		if seen[n] {
			return fmt.Errorf("index %d given twice", n)
		}
		seen[n] = true
		pairs[i] = indexed{n, elems[i]}
	}
	slices.SortFunc(pairs, func(a, b indexed) int { return a.index - b.index })
	for i, p := range pairs {
		elems[i] = p.elem
	}
	return nil
}

// parseIndex reads an iteration's index: a number, 0 or more.
func parseIndex(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strconv.Itoa(n) != s {
		return 0, fmt.Errorf("%q is not an iteration's index", abbrev(s))
	}
	return n, nil
}

// addIteration reads --index N or --in-item N:B64: which iteration of its
// loop this execution is, and with --in-item its item, bound to
// ${{ item }} exactly as --in-b64 item=B64 binds it.
func (b *Bindings) addIteration(index, item string) error {
	switch {
	case index != "" && item != "":
		return errors.New("--index and --in-item: give one")
	case index != "":
		n, err := parseIndex(index)
		if err != nil {
			return fmt.Errorf("--index: %w", err)
		}
		b.index = n
	case item != "":
		i, enc, ok := strings.Cut(item, ":")
		if !ok {
			return fmt.Errorf("--in-item %s: want INDEX:BASE64", abbrev(item))
		}
		n, err := parseIndex(i)
		if err != nil {
			return fmt.Errorf("--in-item: %w", err)
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return fmt.Errorf("--in-item: %w", err)
		}
		if err := b.bind("item="+string(raw), true); err != nil {
			return fmt.Errorf("--in-item: %w", err)
		}
		b.index = n
	}
	return nil
}

// Index is the index of the item whose iteration this execution is
// (--index, --in-item); ok is false outside a loop.
func (b *Bindings) Index() (index int, ok bool) { return b.index, b.index >= 0 }

// AddJSONLists parses --in-json-list arguments, KEY=TYPE:DEPTH:JSON: a
// loop's output as an engine aggregates it into one JSON list (Argo: one
// element per succeeded iteration, in item order, each the text the
// launcher wrote as a JSON string, except that Argo embeds the elements
// as JSON when every one is a JSON list or object). DEPTH is how many
// loops deep the producer is, as ir.ListDepth counts: at depth 2 the
// elements are such lists. KEY becomes what the local runner makes of
// the same values (step.ListElem, nested DEPTH deep).
func (b *Bindings) AddJSONLists(args []string) error {
	var errs []error
	for _, arg := range args {
		key, spec, ok := strings.Cut(arg, "=")
		typ, rest, ok2 := strings.Cut(spec, ":")
		depth, raw, ok3 := strings.Cut(rest, ":")
		d, err := strconv.Atoi(depth)
		if !ok || !ok2 || !ok3 || err != nil || d < 1 {
			errs = append(errs, fmt.Errorf("--in-json-list %s: want KEY=TYPE:DEPTH:JSON", abbrev(arg)))
			continue
		}
		elems, err := aggregated(json.RawMessage(raw), d)
		if err != nil {
			errs = append(errs, fmt.Errorf("--in-json-list %s: %w", abbrev(key), err))
			continue
		}
		if err := b.addList(key, list{typ: ir.ParamType(typ), elems: elems}); err != nil {
			errs = append(errs, fmt.Errorf("--in-json-list %s: %w", abbrev(key), err))
		}
	}
	return errors.Join(errs...)
}

// aggregated reads an engine's aggregated list, depth deep.
func aggregated(raw json.RawMessage, depth int) ([]elem, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("not a JSON list %d deep: %w", depth, err)
	}
	out := make([]elem, len(elems))
	for i, e := range elems {
		if depth > 1 {
			sub, err := aggregated(e, depth-1)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = elem{list: sub, nested: true}
			continue
		}
		if len(e) > 0 && e[0] == '"' {
			if err := json.Unmarshal(e, &out[i].text); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			continue
		}
		out[i].text = string(e) // embedded JSON: the value's own text
	}
	return out, nil
}

func (b *Bindings) addList(key string, l list) error {
	ref, err := ir.ParseRef(key)
	if err != nil || ref.Kind != ir.RefStepParam {
		return errors.New("want steps.S.outputs.params.NAME")
	}
	if _, dup := b.values[ref]; dup {
		return errors.New("given twice")
	}
	l.ref = ref
	b.lists = append(b.lists, l)
	b.values[ref] = "" // made by Resolve
	return nil
}

// list is a list binding waiting for Resolve.
type list struct {
	ref   ir.Ref
	typ   ir.ParamType
	elems []elem
}

// elem is an element of a list binding: a value's text (or a value ref
// to fetch), or a nested list (a loop's list read from outside an
// enclosing loop too).
type elem struct {
	text   string
	list   []elem
	nested bool
}

func hasValueRefs(elems []elem) bool {
	for _, e := range elems {
		if IsValueRef(e.text) || hasValueRefs(e.list) {
			return true
		}
	}
	return false
}

// makeLists fetches value refs among the lists' elements and renders
// each list.
func (b *Bindings) makeLists(ctx context.Context, s cache.Store) error {
	for _, l := range b.lists {
		out, err := renderList(ctx, s, l.typ, l.elems)
		if err != nil {
			return fmt.Errorf("list %s: %w", l.ref, err)
		}
		b.values[l.ref] = out
	}
	b.lists = nil
	return nil
}

// renderList is the JSON list the local runner makes of elems, value
// refs fetched from s.
func renderList(ctx context.Context, s cache.Store, typ ir.ParamType, elems []elem) (string, error) {
	out := make([]any, len(elems))
	for i, e := range elems {
		if e.nested {
			sub, err := renderList(ctx, s, typ, e.list)
			if err != nil {
				return "", fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = json.RawMessage(sub)
			continue
		}
		text := e.text
		if IsValueRef(text) {
			if s == nil {
				return "", fmt.Errorf("element %d is a value ref and there is no store", i)
			}
			v, err := GetValue(ctx, s, text)
			if err != nil {
				return "", fmt.Errorf("element %d: %w", i, err)
			}
			text = v
		}
		out[i] = step.ListElem(text, typ, false)
	}
	return step.JSONList(out), nil
}
