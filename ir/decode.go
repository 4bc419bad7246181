package ir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits of the parser. They bound the time and memory a hostile file can
// cost: a file is read whole, and YAML aliases are expanded while decoding.
const (
	// MaxFileSize is the largest pipeline file accepted (16 MiB, ten times
	// the largest object etcd stores by default).
	MaxFileSize = 16 << 20
	// MaxNodes is the most YAML nodes a file may expand to, aliases included.
	MaxNodes = 1_000_000
	// MaxDepth is how deeply a file may nest, aliases included; it bounds
	// the decoder's recursion.
	MaxDepth = 1000
)

// source is what the parser remembers of a file: its name and the
// position of every value, by field path.
type source struct {
	file string
	pos  map[Path]Pos
}

func (s *source) at(p Path) Pos {
	if s == nil {
		return Pos{}
	}
	for {
		if pos, ok := s.pos[p]; ok {
			return pos
		}
		// Fall back to the nearest enclosing node that has a position.
		i := strings.LastIndexAny(string(p), ".[")
		if i <= 0 {
			return Pos{File: s.file}
		}
		p = p[:i]
	}
}

func (s *source) has(p Path) bool {
	_, ok := s.pos[p]
	return ok
}

// Pos returns where the value at path p came from, or the nearest enclosing
// node that has a position. A pipeline built in code has no positions.
func (p *Pipeline) Pos(path Path) Pos { return p.src.at(path) }

// File is the name the pipeline was parsed under.
func (p *Pipeline) File() string {
	if p.src == nil {
		return ""
	}
	return p.src.file
}

// Load reads, decodes, defaults and validates a pipeline file.
func Load(file string) (*Pipeline, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > MaxFileSize {
		return nil, tooLargeFile(file) // refused without reading it
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

// Parse decodes, defaults and validates a pipeline held in memory; file
// names it in errors. All problems are returned at once as a List.
func Parse(file string, data []byte) (*Pipeline, error) {
	p, err := Decode(file, data)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Decode reads a pipeline strictly (unknown fields are errors) and applies
// spec.defaults, without validating it.
func Decode(file string, data []byte) (*Pipeline, error) {
	top := Pos{File: file}
	empty := List{{Pos: top, Msg: "empty file: expected a Pipeline (apiVersion: " + APIVersion + ")"}}
	switch {
	case len(data) > MaxFileSize:
		return nil, tooLargeFile(file)
	case structure(data) > MaxNodes:
		// A file with more lines, keys and flow items than MaxNodes would
		// be refused anyway, after the YAML parser had spent seconds and
		// gigabytes on it.
		return nil, List{{Pos: top, Err: ErrTooLarge, Msg: fmt.Sprintf("file has more lines, keys and list items than the %d nodes a pipeline may have", MaxNodes)}}
	case len(bytes.TrimSpace(data)) == 0:
		return nil, empty
	case bytes.IndexByte(data, 0) >= 0:
		return nil, List{{Pos: top, Msg: "binary file: expected a YAML or JSON Pipeline", Err: ErrSyntax}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, empty // comments only
	} else if err != nil {
		return nil, List{syntaxError(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		pos := top
		if err == nil {
			pos = Pos{File: file, Line: extra.Line, Col: extra.Column}
		}
		return nil, List{{Pos: pos, Msg: "more than one YAML document: a file holds one Pipeline"}}
	}
	// Real files hold a node every 30 to 60 bytes; sizing the map up front
	// spares rehashing it as it grows.
	d := &decoder{src: &source{file: file, pos: make(map[Path]Pos, len(data)/32)}}
	p := &Pipeline{src: d.src}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, List{{Pos: d.pos(root), Msg: "expected a mapping (apiVersion, kind, metadata, spec)"}}
	}
	d.value(root, reflect.ValueOf(p).Elem(), "")
	if err := d.errs.Err(); err != nil {
		return nil, err
	}
	p.ApplyDefaults()
	return p, nil
}

func tooLargeFile(file string) List {
	return List{{Pos: Pos{File: file}, Msg: fmt.Sprintf("file is larger than the %d MiB limit", MaxFileSize>>20), Err: ErrTooLarge}}
}

// structure counts the bytes that stand for a node in any YAML file:
// newlines, ':' and ',', a cheap upper estimate of its nodes made before parsing.
func structure(data []byte) int {
	n := 0
	for _, c := range data {
		if c == '\n' || c == ':' || c == ',' {
			n++
		}
	}
	return n
}

var lineRE = regexp.MustCompile(`^yaml: line (\d+): `)

func syntaxError(file string, err error) *FieldError {
	msg := err.Error()
	pos := Pos{File: file}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		pos.Col = 1
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	return &FieldError{Pos: pos, Msg: "invalid YAML: " + msg, Err: ErrSyntax}
}

// decoder walks a YAML node tree into Go values by their json tags,
// recording positions and collecting every error instead of stopping.
type decoder struct {
	src     *source
	errs    List
	nodes   int
	over    bool
	open    []*yaml.Node // the nodes being decoded, outermost first
	aliased int          // how many of them were reached through an alias
}

var (
	valueType    = reflect.TypeFor[Value]()
	durationType = reflect.TypeFor[Duration]()
)

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.src.file, Line: n.Line, Col: n.Column} }

func (d *decoder) fail(n *yaml.Node, path Path, format string, args ...any) {
	d.errs = append(d.errs, errorf(d.pos(n), path, format, args...))
}

// enter counts a node against MaxNodes and resolves aliases.
func (d *decoder) enter(n *yaml.Node, path Path) (*yaml.Node, bool) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.nodes++
	if d.nodes > MaxNodes {
		d.tooLarge(n, path, fmt.Sprintf("document expands to more than %d nodes (YAML aliases?)", MaxNodes))
		return n, false
	}
	return n, true
}

// tooLarge reports the first limit the file goes beyond.
func (d *decoder) tooLarge(n *yaml.Node, path Path, msg string) {
	if !d.over {
		d.over = true
		d.errs = append(d.errs, &FieldError{Pos: d.pos(n), Path: path, Msg: msg, Err: ErrTooLarge})
	}
}

// record remembers where the value at path is written. Nodes reached
// through an alias are not recorded: they are placed at the alias (their
// nearest recorded ancestor), which also keeps the map as small as the
// file however much the aliases expand.
func (d *decoder) record(path Path, n *yaml.Node) {
	if d.aliased == 0 {
		d.src.pos[path] = d.pos(n)
	}
}

// expand counts node n, resolves it if it is an alias and calls f with
// what it names. It refuses an alias inside the node it names, and nesting
// beyond MaxDepth: either would recurse until the stack overflows.
func (d *decoder) expand(n *yaml.Node, path Path, f func(*yaml.Node)) bool {
	r, ok := d.enter(n, path)
	if !ok {
		return false
	}
	if len(d.open) >= MaxDepth {
		d.tooLarge(r, path, fmt.Sprintf("document nests more than %d levels deep", MaxDepth))
		return false
	}
	alias := 0
	if r != n {
		if slices.Contains(d.open, r) {
			d.tooLarge(n, path, fmt.Sprintf("YAML alias *%s is inside the node it names: it expands forever", n.Value))
			return false
		}
		alias = 1
	}
	d.open = append(d.open, r)
	d.aliased += alias
	defer func() {
		d.open = d.open[:len(d.open)-1]
		d.aliased -= alias
	}()
	f(r)
	return true
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	}
	return "a " + strings.TrimPrefix(n.Tag, "!!")
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path Path) {
	d.record(path, n)
	d.expand(n, path, func(n *yaml.Node) { d.into(n, v, path) })
}

// into decodes a node that is not an alias.
func (d *decoder) into(n *yaml.Node, v reflect.Value, path Path) {
	t := v.Type()
	switch {
	case t == valueType:
		x, ok := d.any(n, path)
		if ok {
			v.Set(reflect.ValueOf(Value{v: x}))
		}
		return
	case t == durationType:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			d.fail(n, path, "expected a duration such as \"90s\" or \"1h30m\", got %s", kindName(n))
			return
		}
		dur, err := parseDuration(n.Value)
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(Duration{dur}))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		e := reflect.New(t.Elem())
		d.into(n, e.Elem(), path)
		v.Set(e)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.value(c, s.Index(i), path.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "expected a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, _ := d.enter(n.Content[i], path)
			if k.Kind != yaml.ScalarNode {
				d.fail(k, path, "expected a string key, got %s", kindName(k))
				continue
			}
			kp := path.Key(k.Value)
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				d.fail(k, kp, "duplicate key %q", k.Value)
				continue
			}
			e := reflect.New(t.Elem()).Elem()
			d.value(n.Content[i+1], e, kp)
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "expected a string, got %s", kindName(n))
			return
		}
		if isNull(n) {
			return
		}
		// Numbers and booleans are taken as written: `args: [0.1]`.
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.fail(n, path, "expected an integer, got %s", kindName(n))
			return
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || (t.Kind() == reflect.Int && (i > math.MaxInt32 || i < math.MinInt32)) {
			d.fail(n, path, "integer %s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			d.fail(n, path, "expected a number, got %s", kindName(n))
			return
		}
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.fail(n, path, "%q is not a finite number", n.Value)
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.fail(n, path, "expected true or false, got %s", kindName(n))
			return
		}
		var b bool
		if n.Decode(&b) != nil {
			d.fail(n, path, "expected true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	default:
		panic("ir: cannot decode into " + t.String())
	}
}

// fields maps json names to struct field indexes, cached per type.
func fields(t reflect.Type) ([]string, map[string]int) {
	if f, ok := fieldCache.Load(t); ok {
		f := f.(fieldsOf)
		return f.names, f.idx
	}
	names, idx := fieldsUncached(t)
	fieldCache.Store(t, fieldsOf{names, idx})
	return names, idx
}

type fieldsOf struct {
	names []string
	idx   map[string]int
}

var fieldCache sync.Map // reflect.Type → fieldsOf

func fieldsUncached(t reflect.Type) ([]string, map[string]int) {
	var names []string
	idx := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		idx[name] = i
	}
	return names, idx
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path Path) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	names, idx := fields(v.Type())
	seen := map[string]bool{}
	// Merge keys (<<: *anchor) first, so that explicit keys win.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			for _, m := range mergeSources(n.Content[i+1]) {
				if !d.expand(m, path, func(m *yaml.Node) { d.structure(m, v, path) }) {
					return
				}
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, ok := d.enter(n.Content[i], path)
		if !ok {
			return
		}
		if k.Tag == "!!merge" {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "expected a field name, got %s", kindName(k))
			continue
		}
		fi, known := idx[k.Value]
		fp := path.Field(k.Value)
		switch {
		case !known:
			d.fail(k, fp, "unknown field %q%s", k.Value, suggest(k.Value, names))
			continue
		case seen[k.Value]:
			d.fail(k, fp, "field %q is set twice", k.Value)
			continue
		}
		seen[k.Value] = true
		d.value(n.Content[i+1], v.Field(fi), fp)
	}
}

func mergeSources(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	return []*yaml.Node{n}
}

// any converts a node into a JSON-like value.
func (d *decoder) any(n *yaml.Node, path Path) (any, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				d.fail(n, path, "%v", err)
				return nil, false
			}
			return b, true
		case "!!int", "!!float":
			// Integers read as integer fields read them (0x1F, 0o17, 1_000);
			// other numbers keep their text where it is valid JSON, so that
			// the canonical encoding writes what the user wrote.
			if n.Tag == "!!int" {
				if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
					return json.Number(strconv.FormatInt(i, 10)), true
				}
			}
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				d.fail(n, path, "%q is not a JSON number", n.Value)
				return nil, false
			}
			if !json.Valid([]byte(n.Value)) {
				return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), true
			}
			return json.Number(n.Value), true
		default:
			return n.Value, true
		}
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			x, ok := d.element(c, path.Index(i))
			if !ok {
				return nil, false
			}
			out = append(out, x)
		}
		return out, true
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, ok := d.enter(n.Content[i], path)
			if !ok {
				return nil, false
			}
			if k.Kind != yaml.ScalarNode {
				d.fail(k, path, "expected a string key, got %s", kindName(k))
				return nil, false
			}
			if _, dup := out[k.Value]; dup {
				d.fail(k, path.Key(k.Value), "duplicate key %q", k.Value)
				return nil, false
			}
			x, ok := d.element(n.Content[i+1], path.Key(k.Value))
			if !ok {
				return nil, false
			}
			out[k.Value] = x
		}
		return out, true
	}
	d.fail(n, path, "unsupported YAML node")
	return nil, false
}

// element converts one element of a list or an object.
func (d *decoder) element(n *yaml.Node, path Path) (x any, ok bool) {
	d.record(path, n)
	d.expand(n, path, func(n *yaml.Node) { x, ok = d.any(n, path) })
	return x, ok
}

// parseDuration reads a Go duration ("90s", "1h30m"); a negative one is an
// error.
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as \"90s\" or \"1h30m\"", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return v, nil
}

// suggest names the closest known field, for typos.
func suggest(got string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(got), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
