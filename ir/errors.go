package ir

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Sentinel errors; FieldErrors wrap one of them where it applies.
var (
	// ErrTooLarge is reported for input beyond the parser's limits.
	ErrTooLarge = errors.New("input too large")
	// ErrSyntax is reported for input that is not YAML.
	ErrSyntax = errors.New("syntax error")
)

// Pos is a place in a file. Line and Col are 1-based; zero means unknown.
type Pos struct {
	File string
	Line int
	Col  int
}

// String renders the position as file:line:col.
func (p Pos) String() string {
	file := p.File
	if file == "" {
		file = "<input>"
	}
	if p.Line == 0 {
		return file
	}
	return file + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}

// Path is a field path in the pipeline: spec.steps[2].inputs.artifacts[0].from.
type Path string

// Field appends a field name.
func (p Path) Field(name string) Path {
	if p == "" {
		return Path(name)
	}
	return p + "." + Path(name)
}

// Index appends a list index.
func (p Path) Index(i int) Path { return p + Path("["+strconv.Itoa(i)+"]") }

// Key appends a map key.
func (p Path) Key(k string) Path { return p + Path("["+strconv.Quote(k)+"]") }

// FieldError is one problem in a pipeline, at a place and a field path.
type FieldError struct {
	Pos  Pos
	Path Path
	Msg  string
	Err  error // optional cause
}

// Error renders file:line:col: path: message.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(string(e.Path))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// List is every problem found in one file, in file order. It is returned as
// an error only when it is not empty.
type List []*FieldError

// Error renders one problem a line.
func (l List) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap lets errors.Is and errors.As see each problem.
func (l List) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Err returns the list as an error, or nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.sort()
	return l
}

func (l List) sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return l[i].Path < l[j].Path
	})
}

// Errors returns the field errors inside err (a List, a *FieldError, or any
// error that wraps them).
func Errors(err error) []*FieldError {
	var l List
	if errors.As(err, &l) {
		return l
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return nil
}

func errorf(pos Pos, path Path, format string, args ...any) *FieldError {
	return &FieldError{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)}
}
