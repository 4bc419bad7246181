package plan

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/ir"
)

// Launcher is where the launcher sits in a step's container: an init step
// or init container copies it there from the launcher image (Copy).
const Launcher = "/sluice/bin/sluice-exec"

// LauncherDir is the directory of Launcher, a volume shared by the copy
// and the step.
const LauncherDir = "/sluice/bin"

// ImageLauncher is the launcher's path in its own image.
const ImageLauncher = "/sluice-exec"

// Copy is the command line that installs the launcher, run in the
// launcher image: sluice-exec cp /sluice-exec /sluice/bin/sluice-exec.
func Copy() []string { return []string{ImageLauncher, "cp", ImageLauncher, Launcher} }

// Spec encodes a command step for --spec-b64: the part of the step the
// launcher uses, as the pipeline file has it (defaults applied), which
// carries all of the user's text: what the command is and what goes into
// its cache key. Scheduling, resources, retries, conditions and loops are
// the engine's to carry out; leaving them out keeps every task small.
func Spec(pipeline string, s *ir.Step) (string, error) {
	spec := launch.Spec{Pipeline: pipeline, Step: ir.Step{
		Name:       s.Name,
		Image:      s.Image,
		Command:    s.Command,
		Args:       s.Args,
		WorkingDir: s.WorkingDir,
		Env:        s.Env,
		Inputs:     s.Inputs,
		Outputs:    s.Outputs,
		Timeout:    s.Timeout,
		Cache:      s.Cache,
	}}
	return spec.Encode()
}

// ConditionSpec encodes the --spec-b64 of `sluice-exec when` for step s:
// its when and, when loop is set, its forEach, whose items the launcher
// then computes and filters by the when.
func ConditionSpec(pipeline string, s *ir.Step, loop bool) (string, error) {
	step := ir.Step{Name: s.Name, When: s.When}
	if loop {
		step.ForEach = s.ForEach
	}
	spec := launch.Spec{Pipeline: pipeline, Step: step}
	return spec.Encode()
}

// Value is one value handed to the launcher. Key is the placeholder as
// written between ${{ and }} (params.rows, steps.clean.outputs.params.n);
// Text is what goes on the command line: the value itself, or an engine
// expression the engine replaces by the value at run time ($(params.x)).
// B64 says that the text is, or the engine puts there, the value's
// standard base64 (--in-b64). Indexed says that Key is item and the text
// is, or the engine puts there, the item with its index in the loop,
// INDEX:BASE64, as a filter keeps it (launch.KeptFile): --in-item, which
// also makes the launcher write the index (launch.OutIndex).
type Value struct {
	Key     string
	Text    string
	B64     bool
	Indexed bool
}

// Literal passes a value known at compile time. It goes as it is unless
// the engine or the launcher would read it as something else: text
// holding one of the engine's substitution markers (syntax: Tekton's "$(",
// Argo's "{{"), text the launcher takes for a value ref (cas://…
// kind=value), a NUL or invalid UTF-8 (neither survives a command line in
// JSON). Those go base64-encoded.
func Literal(key, v string, syntax ...string) Value {
	if NeedsB64(v, syntax...) {
		return Value{Key: key, Text: base64.StdEncoding.EncodeToString([]byte(v)), B64: true}
	}
	return Value{Key: key, Text: v}
}

// NeedsB64 reports whether Literal would encode v.
func NeedsB64(v string, syntax ...string) bool {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || launch.IsValueRef(v) {
		return true
	}
	for _, s := range syntax {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// B64 is the standard base64 of v, for a value the engine passes to
// --in-b64.
func B64(v string) string { return base64.StdEncoding.EncodeToString([]byte(v)) }

// Arg is the value's launcher flag.
func (v Value) Arg() string {
	if v.Indexed {
		return "--in-item=" + v.Text
	}
	if v.B64 {
		return "--in-b64=" + v.Key + "=" + v.Text
	}
	return "--in=" + v.Key + "=" + v.Text
}

// List is a value that reaches the launcher as the elements of a list: the
// outputs of a loop, read from outside it, on an engine that hands them
// over as separate arguments (Tekton's array results). The launcher's
// --in-list KEY=TYPE:COUNT takes COUNT elements from the arguments after
// "--", in the order of the flags, and makes KEY the JSON list of them,
// as the local runner does: each element is a value's text (or a value
// ref), made a JSON string for an output of type string and read as JSON
// for the others. Count is a number or an engine expression for one; an
// element text may be an engine expression that expands to several
// arguments (Tekton's $(params.x[*])).
//
// Index, when set, is for an engine that aggregates the iterations'
// outputs in an order of its own (Tekton sorts a matrix's TaskRuns by
// name, NAME-10 before NAME-2): the iterations' indexes (each wrote its
// Run.Index), aggregated the same way, which follow the elements; the
// launcher (--in-list-index KEY) puts the elements in the order of their
// indexes.
type List struct {
	Key   string
	Type  ir.ParamType
	Count string
	Elems []string
	Index []string
}

func (l List) args() []string {
	args := []string{"--in-list=" + l.Key + "=" + string(typeOrString(l.Type)) + ":" + l.Count}
	if len(l.Index) > 0 {
		args = append(args, "--in-list-index="+l.Key)
	}
	return args
}

// JSONList is a value that reaches the launcher as one JSON list: the
// outputs of a loop, read from outside it, on an engine that aggregates
// them itself (Argo: {{tasks.T.outputs.parameters.X}} of a loop task).
// Depth is how many loops deep the producer is (ir.ListDepth); Text is
// the engine expression for the list.
type JSONList struct {
	Key   string
	Type  ir.ParamType
	Depth int
	Text  string
}

// Arg is the list's launcher flag: --in-json-list KEY=TYPE:DEPTH:JSON.
func (l JSONList) Arg() string {
	return "--in-json-list=" + l.Key + "=" + string(typeOrString(l.Type)) + ":" + strconv.Itoa(l.Depth) + ":" + l.Text
}

func typeOrString(t ir.ParamType) ir.ParamType {
	if t == "" {
		return ir.TypeString
	}
	return t
}

// Out is one output the launcher writes after success: Name is
// "params.X" or "artifacts.X", Path where the engine reads it.
type Out struct {
	Name string
	Path string
}

// Run is `sluice-exec run`: one execution of a command step.
type Run struct {
	Spec  string // Spec's output
	Cache string // the store's URL; "" leaves it to SLUICE_CACHE
	In    []Value
	Lists []List
	// Index, for one iteration of a loop, is its item's index in the
	// loop, or an engine expression for it (--index); the launcher
	// writes it as the output launch.OutIndex, for the readers of the
	// loop's outputs to put them in item order (List.Index). An item
	// passed with its index (Value.Indexed) gives it instead.
	Index    string
	Out      []Out
	MaxValue int // --max-value-bytes; 0 leaves the launcher's default
	MaxTotal int // --max-total-bytes; 0 for no bound
}

// Args is the command line after the launcher's path.
func (r *Run) Args() []string {
	args := []string{"run", "--spec-b64=" + r.Spec}
	if r.Cache != "" {
		args = append(args, "--cache="+r.Cache)
	}
	for _, v := range r.In {
		args = append(args, v.Arg())
	}
	if r.Index != "" {
		args = append(args, "--index="+r.Index)
	}
	for _, o := range r.Out {
		args = append(args, "--out="+o.Name+"="+o.Path)
	}
	if r.MaxValue > 0 {
		args = append(args, "--max-value-bytes="+strconv.Itoa(r.MaxValue))
	}
	if r.MaxTotal > 0 {
		args = append(args, "--max-total-bytes="+strconv.Itoa(r.MaxTotal))
	}
	return appendLists(args, r.Lists)
}

// When is `sluice-exec when`: a `when` condition evaluated at run time,
// from the values passed in (value refs fetched from the store), as the
// local runner evaluates it; for a loop (a ConditionSpec with its
// forEach), also the items that pass. The launcher writes "true" or
// "false" to OutWhen, the items that run, each base64-encoded, as a JSON
// list to OutItems (or, with their indexes in the loop, to OutKept), and
// whether each item runs to OutRuns; with OutDir, to the files
// launch.WhenFiles names there instead.
type When struct {
	Spec     string // ConditionSpec's output
	Cache    string
	In       []Value
	Lists    []List
	OutWhen  string
	OutItems string
	OutKept  string
	OutRuns  string
	OutDir   string
}

// Args is the command line after the launcher's path.
func (w *When) Args() []string {
	args := []string{"when", "--spec-b64=" + w.Spec}
	if w.Cache != "" {
		args = append(args, "--cache="+w.Cache)
	}
	for _, v := range w.In {
		args = append(args, v.Arg())
	}
	if w.OutWhen != "" {
		args = append(args, "--out="+launch.OutWhen+"="+w.OutWhen)
	}
	if w.OutItems != "" {
		args = append(args, "--out="+launch.OutItems+"="+w.OutItems)
	}
	if w.OutKept != "" {
		args = append(args, "--out="+launch.OutKept+"="+w.OutKept)
	}
	if w.OutRuns != "" {
		args = append(args, "--out="+launch.OutRuns+"="+w.OutRuns)
	}
	if w.OutDir != "" {
		args = append(args, "--out-dir="+w.OutDir)
	}
	return appendLists(args, w.Lists)
}

func appendLists(args []string, lists []List) []string {
	if len(lists) == 0 {
		return args
	}
	for _, l := range lists {
		args = append(args, l.args()...)
	}
	args = append(args, "--")
	for _, l := range lists {
		args = append(append(args, l.Elems...), l.Index...)
	}
	return args
}
