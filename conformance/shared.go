package conformance

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/report"
)

// SharedStore is a store that every backend of a play reaches, with a
// prefix of its own for each case: what PlayShared runs against.
type SharedStore func(ctx context.Context, c *Case) (url string, values Values, err error)

// SharedStore implements it for the cluster's store (Cluster.Store), which
// the steps' pods, the cache plugins and this process all reach.
func (c *Cluster) SharedStore(ctx context.Context, cs *Case) (string, Values, error) {
	return c.store(ctx, cs, "shared")
}

// PlayShared shows that the cache is one across backends: each case that
// succeeds runs once on first against its shared store, then once on each
// of then against the same store, where every step the case's rerun
// expects Cached must be Cached. The matrix has a column per backend of
// then, named "first→then".
func PlayShared(ctx context.Context, cases []*Case, store SharedStore, first Backend, then []Backend, log io.Writer) *Matrix {
	m := &Matrix{Cells: map[[2]string]*Cell{}}
	for _, b := range then {
		m.Backends = append(m.Backends, first.Name()+"→"+b.Name())
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range cases {
		if c.Expect.Status != report.Succeeded {
			continue // a failing case records only what succeeded: nothing to show
		}
		m.Cases = append(m.Cases, c.Name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cells := playShared(ctx, c, store, first, then)
			mu.Lock()
			defer mu.Unlock()
			for i, cell := range cells {
				m.Cells[[2]string{c.Name, m.Backends[i]}] = cell
				if log != nil {
					state := "ok"
					if !cell.Pass {
						state = "FAIL: " + strings.Join(cell.Failures, "; ")
					}
					fmt.Fprintf(log, "%-26s %-24s %6.1fs %s\n", m.Backends[i], c.Name, cell.Took.Seconds(), state)
				}
			}
		}()
	}
	wg.Wait()
	return m
}

func playShared(ctx context.Context, c *Case, store SharedStore, first Backend, then []Backend) []*Cell {
	cells := make([]*Cell, len(then))
	for i, b := range then {
		cells[i] = &Cell{Case: c.Name, Backend: first.Name() + "→" + b.Name()}
	}
	failAll := func(msg string) []*Cell {
		for _, cell := range cells {
			cell.Failures = []string{msg}
		}
		return cells
	}
	url, values, err := store(ctx, c)
	if err != nil {
		return failAll("store: " + err.Error())
	}
	start := time.Now()
	s, err := first.Run(ctx, c, url)
	if err != nil {
		return failAll(first.Name() + ": run: " + err.Error())
	}
	if diffs := check(ctx, &c.Expect, s, values); len(diffs) > 0 {
		return failAll(first.Name() + ": " + strings.Join(diffs, "; "))
	}
	took := time.Since(start)
	var wg sync.WaitGroup
	for i, b := range then {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cell := cells[i]
			start := time.Now()
			defer func() { cell.Took = took + time.Since(start); cell.Pass = len(cell.Failures) == 0 }()
			s, err := b.Run(ctx, c, url)
			if err != nil {
				cell.Failures = []string{"run: " + err.Error()}
				return
			}
			cell.Failures = checkRerun(ctx, &c.Expect, s, values)
			for _, st := range s.Steps {
				if st.State == report.Cached {
					cell.Cached++
				}
			}
		}()
	}
	wg.Wait()
	return cells
}
