package ir_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/ir"
)

// manySteps generates a valid pipeline of n steps that uses most of what
// validation looks at: defaults, data references, after, when, forEach,
// inputs, outputs and groups.
func manySteps(n int) []byte {
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(`  params:
    - {name: rows, type: int, default: 1000}
    - {name: grid, type: list, default: [1, 2, 3]}
  defaults:
    image: busybox:1.36
    command: [sh, -c]
    env: [{name: MODE, value: fast}]
    resources: {requests: {cpu: 100m, memory: 64Mi}}
    retry: {limit: 2, backoff: {duration: 1s}}
    cache: {enabled: true}
  steps:
    - name: s0
      args: ['seq ${{ params.rows }} > ${{ outputs.params.n }}']
      outputs: {params: [{name: n, type: int}], artifacts: [{name: out}]}
`)
	for i := 1; i < n; i++ {
		prev := i - 1
		switch {
		case i%100 == 0:
			// A group of three steps that reads the step before it.
			fmt.Fprintf(&b, `    - name: s%d
      forEach: {items: '${{ params.grid }}'}
      group:
        steps:
          - {name: s%d-a, args: ['${{ item }} ${{ steps.s%d.outputs.params.n }}']}
          - {name: s%d-b, after: [s%d-a], args: ['${{ item }}']}
`, i, i, prev, i, i)
		default:
			from := prev
			if (i-1)%100 == 0 && i > 1 {
				from = i - 2 // the step before is a group, which has no outputs
			}
			fmt.Fprintf(&b, `    - name: s%d
      when: '${{ steps.s%d.outputs.params.n }} > %d'
      args: ['cat ${{ inputs.artifacts.in }} > ${{ outputs.artifacts.out }}; echo %d > ${{ outputs.params.n }}']
      inputs:
        params: [{name: n, type: int, from: '${{ steps.s%d.outputs.params.n }}'}]
        artifacts: [{name: in, from: '${{ steps.s%d.outputs.artifacts.out }}'}]
      outputs: {params: [{name: n, type: int}], artifacts: [{name: out}]}
      after: [s%d]
`, i, from, i, i, from, from, max(0, i-3))
		}
	}
	return []byte(b.String())
}

// billionLaughs nests ten aliases of the level below, levels deep, in a
// parameter's default: 10^levels strings from a file of a few hundred bytes.
func billionLaughs(levels int) []byte {
	var b strings.Builder
	b.WriteString(head + "  params:\n    - {name: p0, type: list, default: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]}\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "    - {name: p%d, type: list, default: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString(oneStep)
	return []byte(b.String())
}

// deepChain defines n anchors, each a list nested depth levels deep with
// an alias of the anchor before at its bottom.
func deepChain(n, depth int) []byte {
	var b strings.Builder
	b.WriteString(head + "  params:\n    - {name: p0, type: list, default: &a0 [1]}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "    - {name: p%d, type: list, default: &a%d %s*a%d%s}\n", i, i, strings.Repeat("[", depth), i-1, strings.Repeat("]", depth))
	}
	b.WriteString(oneStep)
	return []byte(b.String())
}

// stepBomb is billionLaughs through steps: groups of aliased groups.
func stepBomb(levels int) []byte {
	var b strings.Builder
	b.WriteString(head + "  defaults: {image: busybox, command: [sh]}\n  steps:\n")
	b.WriteString("    - {name: g0, group: {steps: &s0 [{name: a}, {name: b}, {name: c}, {name: d}, {name: e}, {name: f}, {name: g}, {name: h}, {name: i}, {name: j}]}}\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "    - {name: g%d, group: {steps: &s%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{name: x%d, group: {steps: *s%d}}", j, i-1)
		}
		b.WriteString("]}}\n")
	}
	return []byte(b.String())
}

// cost runs f and reports its wall time and the bytes it allocated.
func cost(f func()) (time.Duration, uint64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return d, after.TotalAlloc - before.TotalAlloc
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		is   error // the sentinel the error wraps, or nil
		want []fieldErr
		// within bounds the time a case may take, generously: it catches
		// expansion that is not bounded, not a slow machine.
		within time.Duration
	}{{
		name: "empty file",
		data: nil,
		want: []fieldErr{fe("", "", "empty file: expected a Pipeline (apiVersion: sluice.dev/v1alpha1)")},
	}, {
		name:   "50 MB",
		data:   bytes.Repeat([]byte("# padding\n"), 5<<20),
		is:     ir.ErrTooLarge,
		want:   []fieldErr{fe("", "", "file is larger than the 16 MiB limit")},
		within: time.Second,
	}, {
		name:   "billion laughs",
		data:   billionLaughs(9),
		is:     ir.ErrTooLarge,
		want:   []fieldErr{fe("7:69", "spec.params[5].default[7][8][8][8][4][5]", "document expands to more than 1000000 nodes (YAML aliases?)")},
		within: 10 * time.Second,
	}, {
		name:   "billion laughs through steps",
		data:   stepBomb(9),
		is:     ir.ErrTooLarge,
		want:   []fieldErr{fe("8:105", "spec.steps[5].group.steps[1].group.steps[5].group.steps[3].group.steps[5].group.steps[8].group.steps[6]", "document expands to more than 1000000 nodes (YAML aliases?)")},
		within: 10 * time.Second,
	}, {
		name: "alias inside itself through a merge key",
		data: []byte(head + "  steps:\n    - &s {<<: *s, name: b}\n"),
		is:   ir.ErrTooLarge,
		want: []fieldErr{fe("7:15", "spec.steps[0]", "YAML alias *s is inside the node it names: it expands forever")},
	}, {
		name: "alias inside itself in a value",
		data: []byte(head + "  params: [{name: l, type: list, default: &l [1, *l]}]\n" + oneStep),
		is:   ir.ErrTooLarge,
		want: []fieldErr{fe("6:50", "spec.params[0].default[1]", "YAML alias *l is inside the node it names: it expands forever")},
	}, {
		name: "alias inside itself in a group",
		data: []byte(head + "  steps:\n    - &s {name: g, group: {steps: [*s]}}\n"),
		is:   ir.ErrTooLarge,
		want: []fieldErr{fe("7:36", "spec.steps[0].group.steps[0]", "YAML alias *s is inside the node it names: it expands forever")},
	}, {
		name:   "nested deeper than MaxDepth",
		data:   []byte(head + "  params: [{name: l, type: list, default: " + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + "}]\n" + oneStep),
		is:     ir.ErrTooLarge,
		want:   []fieldErr{fe("6:1039", "spec.params[0].default"+strings.Repeat("[0]", 996), "document nests more than 1000 levels deep")},
		within: time.Second,
	}, {
		// Each anchor nests 900 levels and names the one before at the
		// bottom: no cycle, but recursion as deep as the chain is long.
		name:   "deep chain of aliases",
		data:   deepChain(50, 900),
		is:     ir.ErrTooLarge,
		want:   []fieldErr{fe("8:139", "spec.params[2].default"+strings.Repeat("[0]", 996), "document nests more than 1000 levels deep")},
		within: 5 * time.Second,
	}, {
		name: "binary file",
		data: []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00>\x00"),
		is:   ir.ErrSyntax,
		want: []fieldErr{fe("", "", "binary file: expected a YAML or JSON Pipeline")},
	}, {
		name: "not UTF-8",
		data: []byte("apiVersion: \xff\xfe\xfd\n"),
		is:   ir.ErrSyntax,
		want: []fieldErr{fe("", "", "invalid YAML: invalid leading UTF-8 octet")},
	}, {
		name: "cycle of three steps",
		data: []byte(head + `  defaults: {image: busybox, command: [sh]}
  steps:
    - {name: a, after: [c]}
    - {name: b, after: [a]}
    - {name: c, after: [b]}
`),
		want: []fieldErr{fe("8:14", "spec.steps[0].name", "dependency cycle: a needs c, c needs b, b needs a")},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			took, alloc := cost(func() { _, err = ir.Parse(testFile, tc.data) })
			t.Logf("%d bytes: %v, %d MiB allocated", len(tc.data), took, alloc>>20)
			if err == nil {
				t.Fatal("Parse: no error")
			}
			if diff := cmp.Diff(tc.want, fieldErrs(err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nfull error:\n%v", diff, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(err, %v) = false for %v", tc.is, err)
			}
			if tc.is == nil && (errors.Is(err, ir.ErrTooLarge) || errors.Is(err, ir.ErrSyntax)) {
				t.Errorf("error wraps a sentinel it should not: %v", err)
			}
			if tc.within > 0 && took > tc.within {
				t.Errorf("took %v, want less than %v", took, tc.within)
			}
		})
	}
}

// TestLoadTooLarge checks that Load does not read a huge file whole.
func TestLoadTooLarge(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil { // sparse: 1 TiB of zeros
		t.Skipf("cannot make a sparse file: %v", err)
	}
	f.Close()
	var lerr error
	took, alloc := cost(func() { _, lerr = ir.Load(file) })
	t.Logf("Load of a 1 TiB file: %v, %d MiB allocated", took, alloc>>20)
	if !errors.Is(lerr, ir.ErrTooLarge) {
		t.Errorf("Load: %v, want ErrTooLarge", lerr)
	}
	if alloc > 1<<20 {
		t.Errorf("Load allocated %d MiB for a file it refuses", alloc>>20)
	}
	if diff := cmp.Diff([]fieldErr{{Pos: file, Msg: "file is larger than the 16 MiB limit"}}, fieldErrs(lerr)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	// A stream is cut at the limit instead.
	if _, err := ir.Load("/dev/zero"); !errors.Is(err, ir.ErrTooLarge) {
		t.Errorf("Load(/dev/zero): %v, want ErrTooLarge", err)
	}
	if _, err := ir.Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want os.ErrNotExist", err)
	}
}

func TestManySteps(t *testing.T) {
	data := manySteps(10000)
	var p *ir.Pipeline
	var err error
	took, alloc := cost(func() { p, err = ir.Parse(testFile, data) })
	t.Logf("10000 steps, %d KiB: %v, %d MiB allocated", len(data)>>10, took, alloc>>20)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := len(p.Graph().All()); got != 10000+2*99 {
		t.Errorf("graph has %d nodes, want %d", got, 10000+2*99)
	}
	// Parsing is linear: ten times the steps take about ten times as long
	// (not a hundred, as a loop over all steps per step would).
	small := manySteps(1000)
	tookSmall, _ := cost(func() { _, err = ir.Parse(testFile, small) })
	if err != nil {
		t.Fatal(err)
	}
	if ratio := float64(took) / float64(tookSmall); ratio > 40 {
		t.Errorf("1000 steps take %v, 10000 take %v: %.0f times as long", tookSmall, took, ratio)
	}
}

func BenchmarkParse10000Steps(b *testing.B) {
	data := manySteps(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ir.Parse(testFile, data); err != nil {
			b.Fatal(err)
		}
	}
}
