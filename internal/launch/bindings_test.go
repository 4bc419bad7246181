package launch

import (
	"context"
	"encoding/base64"
	"flag"
	"io"
	"testing"

	"github.com/sluice-dev/sluice/ir"
)

// parseValues reads a launcher command line's value flags and the
// arguments after them, as sluice-exec does.
func parseValues(t *testing.T, args ...string) (*Bindings, error) {
	t.Helper()
	var v ValueFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	v.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	b, err := v.Bindings(fs.Args())
	if err == nil {
		err = b.Resolve(context.Background(), nil)
	}
	return b, err
}

// TestListsInIndexOrder: a list whose elements come in an engine's order
// of its own is put in the order of the iterations' indexes that follow
// them (--in-list-index), whatever that order was; other lists keep
// theirs.
func TestListsInIndexOrder(t *testing.T) {
	const a, b = "steps.a.outputs.params.v", "steps.b.outputs.params.w"
	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{"no indexes", []string{"--in-list", a + "=string:3", "--", "c", "a", "b"}, map[string]string{a: `["c","a","b"]`}},
		{"by index", []string{"--in-list", a + "=string:3", "--in-list-index", a, "--", "c", "a", "b", "2", "0", "1"},
			map[string]string{a: `["a","b","c"]`}},
		// Tekton's order: by TaskRun name, NAME-10 before NAME-2; indexes
		// with gaps (iterations left out).
		{"as Tekton sorts", []string{"--in-list", a + "=int:4", "--in-list-index", a, "--", "0", "100", "121", "4", "0", "10", "11", "2"},
			map[string]string{a: `[0,4,100,121]`}},
		{"two lists, one indexed", []string{"--in-list", a + "=int:2", "--in-list", b + "=string:2", "--in-list-index", b,
			"--", "2", "1", "y", "x", "1", "0"}, map[string]string{a: `[2,1]`, b: `["x","y"]`}},
		{"empty", []string{"--in-list", a + "=int:0", "--in-list-index", a, "--"}, map[string]string{a: `[]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := parseValues(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range tt.want {
				ref, _ := ir.ParseRef(key)
				if got, err := in.Value(ref); err != nil || got != want {
					t.Errorf("%s = %s, %v; want %s", key, got, err, want)
				}
			}
		})
	}
}

func TestListIndexesRejected(t *testing.T) {
	const a = "steps.a.outputs.params.v"
	for name, args := range map[string][]string{
		"index twice":         {"--in-list", a + "=int:2", "--in-list-index", a, "--", "1", "2", "0", "0"},
		"not a number":        {"--in-list", a + "=int:2", "--in-list-index", a, "--", "1", "2", "0", "x"},
		"negative":            {"--in-list", a + "=int:1", "--in-list-index", a, "--", "1", "-1"},
		"not as written":      {"--in-list", a + "=int:1", "--in-list-index", a, "--", "1", "01"},
		"an index missing":    {"--in-list", a + "=int:2", "--in-list-index", a, "--", "1", "2", "0"},
		"an index too many":   {"--in-list", a + "=int:2", "--in-list-index", a, "--", "1", "2", "0", "1", "2"},
		"a value missing":     {"--in-list", a + "=int:3", "--in-list-index", a, "--", "1", "2", "0", "1", "2"},
		"no such list":        {"--in-list", a + "=int:1", "--in-list-index", "steps.b.outputs.params.v", "--", "1"},
		"indexes of no lists": {"--in-list-index", a},
	} {
		if _, err := parseValues(t, args...); err == nil {
			t.Errorf("%s: %q: no error", name, args)
		}
	}
}

// TestIteration: --index and --in-item say which iteration of its loop an
// execution is; --in-item binds its item as --in-b64 item= does.
func TestIteration(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		args  []string
		index int // -1: none
		item  string
	}{
		{nil, -1, ""},
		{[]string{"--index", "12", "--in", "item=x"}, 12, "x"},
		{[]string{"--in-item", "3:" + b64(`$(params.x) {{y}} cas://sha256/00?kind=value&size=1`)}, 3, `$(params.x) {{y}} cas://sha256/00?kind=value&size=1`},
		{[]string{"--in-item", "0:"}, 0, ""},
	}
	for _, tt := range tests {
		in, err := parseValues(t, tt.args...)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		i, ok := in.Index()
		if !ok {
			i = -1
		}
		if i != tt.index {
			t.Errorf("%q: index %d, want %d", tt.args, i, tt.index)
		}
		if item, _ := in.Value(ir.Ref{Kind: ir.RefItem}); item != tt.item {
			t.Errorf("%q: item %q, want %q", tt.args, item, tt.item)
		}
	}
	for _, args := range [][]string{
		{"--index", "-1"},
		{"--index", "x"},
		{"--index", "1", "--in-item", "1:eA=="},
		{"--in-item", "eA=="},
		{"--in-item", "x:eA=="},
		{"--in-item", "1:not base64"},
		{"--in-item", "1:eA==", "--in", "item=x"},
	} {
		if _, err := parseValues(t, args...); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
