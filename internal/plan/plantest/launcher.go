package plantest

import (
	"context"
	"flag"
	"io"
	"os"
	"testing"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/ir"
)

// Launched is a launcher command line as sluice-exec reads it.
type Launched struct {
	Cmd  string       // run or when
	Spec *launch.Spec // run: the step; when: its condition
	In   *launch.Bindings
}

// Parse reads a launcher command line, args[0] being the subcommand, with
// the launcher's own flags and parsers: launch.Decode (run) or
// launch.DecodeCondition (when) for the spec, launch.ValueFlags for the
// values, and Resolve, which fetches value refs from store (nil when
// there is none) and makes the lists.
func Parse(t testing.TB, store cache.Store, args []string) Launched {
	t.Helper()
	l := Launched{Cmd: args[0]}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var values launch.ValueFlags
	values.Register(fs)
	spec := fs.String("spec-b64", "", "")
	fs.String("cache", "", "")
	fs.String("out-dir", "", "")
	fs.Var(new(launch.ListFlag), "out", "")
	fs.Int("max-value-bytes", 0, "")
	fs.Int("max-total-bytes", 0, "")
	if err := fs.Parse(args[1:]); err != nil {
		t.Fatalf("launcher flags %q: %v", args, err)
	}
	var err error
	switch l.Cmd {
	case "run":
		l.Spec, err = launch.Decode(*spec)
	case "when":
		l.Spec, err = launch.DecodeCondition(*spec)
	default:
		t.Fatalf("launcher %q: no such command", args)
	}
	if err != nil {
		t.Fatalf("launcher %s: %v", l.Cmd, err)
	}
	if l.In, err = values.Bindings(fs.Args()); err == nil {
		err = l.In.Resolve(context.Background(), store)
	}
	if err != nil {
		t.Fatalf("launcher values %q: %v", args, err)
	}
	return l
}

// Value is the value the launcher binds to a placeholder; for an
// artifact, its URI.
func (l Launched) Value(t testing.TB, key string) string {
	t.Helper()
	r, err := ir.ParseRef(key)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind == ir.RefStepArtifact {
		a, err := l.In.Artifact(r)
		if err != nil {
			t.Fatal(err)
		}
		return a.URI()
	}
	v, err := l.In.Value(r)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return v
}

// NewStore is an empty store in a temporary directory.
func NewStore(t testing.TB) cache.Store {
	t.Helper()
	s, err := cache.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Written is what a producing launcher writes for an output value: the
// value, or a value ref to it in the store when it could not travel
// through an engine as it is (launch.Inline).
func Written(t testing.TB, s cache.Store, v string) string {
	t.Helper()
	if launch.Inline(v, launch.DefaultMaxValueBytes) {
		return v
	}
	ref, err := launch.PutValue(context.Background(), s, v)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// Launch runs a step as its pod would: the `sluice-exec run` arguments
// args (without the word run; getenv stands for the pod's environment,
// nil for none), through launch.Run, outputs to a temporary --out-dir
// unless args name one. It records the step in its store and returns
// what the launcher wrote.
func Launch(t testing.TB, args []string, getenv func(string) string) *launch.Response {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	req, err := launch.ParseRunArgs(args, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if req.OutDir == "" {
		req.OutDir = t.TempDir()
	}
	req.Environ = os.Environ()
	resp, err := launch.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("run the step: %v", err)
	}
	return resp
}
