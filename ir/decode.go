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
	"strconv"
	"strings"
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
	switch {
	case len(data) > MaxFileSize:
		return nil, List{{Pos: top, Msg: fmt.Sprintf("file is larger than the %d MiB limit", MaxFileSize>>20), Err: ErrTooLarge}}
	case len(bytes.TrimSpace(data)) == 0:
		return nil, List{{Pos: top, Msg: "empty file: expected a Pipeline (apiVersion: " + APIVersion + ")"}}
	case bytes.IndexByte(data, 0) >= 0:
		return nil, List{{Pos: top, Msg: "binary file: expected a YAML or JSON Pipeline", Err: ErrSyntax}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
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
	d := &decoder{src: &source{file: file, pos: map[Path]Pos{}}}
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
	src   *source
	errs  List
	nodes int
	over  bool
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
		if !d.over {
			d.over = true
			d.errs = append(d.errs, &FieldError{Pos: d.pos(n), Path: path, Err: ErrTooLarge,
				Msg: fmt.Sprintf("document expands to more than %d nodes (YAML aliases?)", MaxNodes)})
		}
		return n, false
	}
	return n, true
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
	n, ok := d.enter(n, path)
	if !ok {
		return
	}
	d.src.pos[path] = d.pos(n)
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
		d.value(n, e.Elem(), path)
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
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil || (t.Kind() == reflect.Int && (i > math.MaxInt32 || i < math.MinInt32)) {
			d.fail(n, path, "expected an integer, got %s", kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || err != nil {
			d.fail(n, path, "expected a number, got %s", kindName(n))
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.fail(n, path, "expected true or false, got %s", kindName(n))
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	default:
		panic("ir: cannot decode into " + t.String())
	}
}

// fields maps json names to struct field indexes, cached per type.
func fields(t reflect.Type) ([]string, map[string]int) {
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
				if m, ok := d.enter(m, path); ok {
					d.structure(m, v, path)
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
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				if i, ierr := strconv.ParseInt(n.Value, 0, 64); ierr == nil {
					return json.Number(strconv.FormatInt(i, 10)), true
				}
				d.fail(n, path, "%q is not a JSON number", n.Value)
				return nil, false
			}
			if _, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return json.Number(n.Value), true
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
			c, ok := d.enter(c, path.Index(i))
			if !ok {
				return nil, false
			}
			d.src.pos[path.Index(i)] = d.pos(c)
			x, ok := d.any(c, path.Index(i))
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
			c, ok := d.enter(n.Content[i+1], path.Key(k.Value))
			if !ok {
				return nil, false
			}
			x, ok := d.any(c, path.Key(k.Value))
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
