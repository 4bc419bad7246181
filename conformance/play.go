package conformance

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/internal/report"
)

// Backend runs pipelines: one small interface per engine.
type Backend interface {
	Name() string
	// Store returns the URL of an empty store for one case, as the
	// backend's runs reach it, and how to read the values it holds (nil:
	// output texts are the values).
	Store(ctx context.Context, c *Case) (url string, values Values, err error)
	// Run runs the case's pipeline with store and waits for it to end. A
	// run that ends, in success or failure, is a summary; an error is a
	// run that could not be carried out at all (no cluster, a refused
	// submission, a timeout).
	Run(ctx context.Context, c *Case, store string) (*report.Summary, error)
}

// PodCounter is a backend whose runs start pods: how many a run started,
// counted from the cluster's API.
type PodCounter interface {
	Pods(ctx context.Context, c *Case, s *report.Summary) (Pods, error)
}

// Pods are the pods one run started, counted from the cluster's API.
type Pods struct {
	All int
	// Cached are the pods of the steps the run reports Cached: what a
	// cache hit still costs on the backend.
	Cached int
}

// ZeroPodHits is a backend on which a cache hit starts no pod (the
// engines' cache plugins): a pod of a Cached step is a failure there.
type ZeroPodHits interface {
	ZeroPodHits() bool
}

// Cell is one case on one backend.
type Cell struct {
	Case, Backend string
	Pass          bool
	// Pods, on a backend that starts pods, are how many each run started:
	// the first, and the second whose steps all came from the cache
	// (Cached counts how many).
	Pods   []Pods
	Cached int
	// HitTimes are, for each Cached step of the second run, the time from
	// the step's being ready to its being done, by the engine's clock.
	HitTimes []time.Duration
	// Failures says why it did not pass, one difference each.
	Failures []string
	// Took is the time of both runs.
	Took time.Duration
}

// Matrix is every case on every backend.
type Matrix struct {
	Backends []string
	Cases    []string
	Cells    map[[2]string]*Cell // {case, backend}
}

// Play runs every case twice on every backend (the second run must take
// from the cache what the case says), and checks both runs. Backends play
// at the same time, each at most parallel cases at once (1 when 0). log,
// if not nil, gets a line per cell as it ends.
func Play(ctx context.Context, cases []*Case, backends []Backend, parallel int, log io.Writer) *Matrix {
	m := &Matrix{Cells: map[[2]string]*Cell{}}
	for _, c := range cases {
		m.Cases = append(m.Cases, c.Name)
	}
	for _, b := range backends {
		m.Backends = append(m.Backends, b.Name())
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, b := range backends {
		slots := make(chan struct{}, max(parallel, 1))
		for _, c := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				slots <- struct{}{}
				defer func() { <-slots }()
				cell := playOne(ctx, c, b)
				mu.Lock()
				defer mu.Unlock()
				m.Cells[[2]string{c.Name, b.Name()}] = cell
				if log != nil {
					state := "ok"
					if !cell.Pass {
						state = "FAIL: " + strings.Join(cell.Failures, "; ")
					}
					fmt.Fprintf(log, "%-8s %-24s %6.1fs %s\n", b.Name(), c.Name, cell.Took.Seconds(), state)
				}
			}()
		}
	}
	wg.Wait()
	return m
}

func playOne(ctx context.Context, c *Case, b Backend) *Cell {
	cell := &Cell{Case: c.Name, Backend: b.Name()}
	start := time.Now()
	defer func() { cell.Took = time.Since(start); cell.Pass = len(cell.Failures) == 0 }()
	store, values, err := b.Store(ctx, c)
	if err != nil {
		cell.Failures = []string{"store: " + err.Error()}
		return cell
	}
	first, err := b.Run(ctx, c, store)
	if err != nil {
		cell.Failures = []string{"run: " + err.Error()}
		return cell
	}
	cell.Failures = check(ctx, &c.Expect, first, values)
	second, err := b.Run(ctx, c, store)
	if err != nil {
		cell.Failures = append(cell.Failures, "rerun: "+err.Error())
		return cell
	}
	cell.Failures = append(cell.Failures, checkRerun(ctx, &c.Expect, second, values)...)
	for _, st := range second.Steps {
		if st.State == report.Cached {
			cell.Cached++
			cell.HitTimes = append(cell.HitTimes, st.Duration())
		}
	}
	if pc, ok := b.(PodCounter); ok {
		for _, s := range []*report.Summary{first, second} {
			n, err := pc.Pods(ctx, c, s)
			if err != nil {
				cell.Failures = append(cell.Failures, "count pods: "+err.Error())
				break
			}
			cell.Pods = append(cell.Pods, n)
		}
		if z, ok := b.(ZeroPodHits); ok && z.ZeroPodHits() && len(cell.Pods) == 2 && cell.Pods[1].Cached > 0 {
			cell.Failures = append(cell.Failures, fmt.Sprintf("rerun: its %d Cached steps started %d pods, want none", cell.Cached, cell.Pods[1].Cached))
		}
	}
	return cell
}

// Pass reports whether every cell passed.
func (m *Matrix) Pass() bool {
	for _, c := range m.Cells {
		if !c.Pass {
			return false
		}
	}
	return true
}

// grid is the matrix's rows, a case each, every cell as show renders it;
// show may add the reasons of a red cell to notes.
func (m *Matrix) grid(show func(c, b string, cell *Cell, notes *[]string) string) (rows [][]string, notes []string) {
	for _, c := range m.Cases {
		row := []string{c}
		for _, b := range m.Backends {
			row = append(row, show(c, b, m.Cells[[2]string{c, b}], &notes))
		}
		rows = append(rows, row)
	}
	return rows, notes
}

// Markdown renders the matrix as a table, case × backend, with the
// reasons for red cells below it.
func (m *Matrix) Markdown(w io.Writer) {
	fmt.Fprintf(w, "| case | %s |\n|---|%s\n", strings.Join(m.Backends, " | "), strings.Repeat("---|", len(m.Backends)))
	rows, notes := m.grid(func(c, b string, cell *Cell, notes *[]string) string {
		switch {
		case cell == nil:
			return "—"
		case cell.Pass:
			return "✅"
		}
		*notes = append(*notes, fmt.Sprintf("%d. %s on %s: %s", len(*notes)+1, c, b, strings.Join(cell.Failures, "; ")))
		return fmt.Sprintf("❌ (%d)", len(*notes))
	})
	for _, row := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
	m.podsMarkdown(w)
}

// podsMarkdown renders the pods each run started, on the backends that
// start pods: the second run's steps all come from the cache, so the pods
// of its Cached steps are what a cache hit costs there; and how long a
// hit took, from the step's being ready to its being done.
func (m *Matrix) podsMarkdown(w io.Writer) {
	var counted []string
	for _, b := range m.Backends {
		for _, c := range m.Cases {
			if cell := m.Cells[[2]string{c, b}]; cell != nil && len(cell.Pods) == 2 {
				counted = append(counted, b)
				break
			}
		}
	}
	if len(counted) == 0 {
		return
	}
	fmt.Fprintf(w, "\nPods started by the first run → by the second, counted from the API; in parentheses the second run's Cached steps and the pods they started (the other pods are condition pods and steps that fail again; with the Argo cache plugin each Workflow also runs one agent pod, which Argo deletes when the Workflow completes, and which is not counted here):\n\n")
	fmt.Fprintf(w, "| case | %s |\n|---|%s\n", strings.Join(counted, " | "), strings.Repeat("---|", len(counted)))
	total := make([][4]int, len(counted))
	for _, c := range m.Cases {
		row := []string{c}
		for i, b := range counted {
			cell := m.Cells[[2]string{c, b}]
			if cell == nil || len(cell.Pods) != 2 {
				row = append(row, "—")
				continue
			}
			row = append(row, fmt.Sprintf("%d → %d (%d cached: %d pods)", cell.Pods[0].All, cell.Pods[1].All, cell.Cached, cell.Pods[1].Cached))
			total[i][0] += cell.Pods[0].All
			total[i][1] += cell.Pods[1].All
			total[i][2] += cell.Cached
			total[i][3] += cell.Pods[1].Cached
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	row := []string{"**all**"}
	for _, t := range total {
		row = append(row, fmt.Sprintf("**%d → %d (%d cached: %d pods)**", t[0], t[1], t[2], t[3]))
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))

	fmt.Fprintf(w, "\nA cache hit, from the step's being ready to its being done (the engine's timestamps, whole seconds), over the second runs' Cached steps:\n\n")
	fmt.Fprintf(w, "| backend | hits | median | p90 | max |\n|---|---|---|---|---|\n")
	for _, b := range counted {
		var all []time.Duration
		for _, c := range m.Cases {
			if cell := m.Cells[[2]string{c, b}]; cell != nil {
				all = append(all, cell.HitTimes...)
			}
		}
		if len(all) == 0 {
			continue
		}
		slices.Sort(all)
		q := func(f float64) time.Duration { return all[int(f*float64(len(all)-1)+0.5)] }
		fmt.Fprintf(w, "| %s | %d | %v | %v | %v |\n", b, len(all), q(0.5), q(0.9), all[len(all)-1])
	}
}

// Text renders the matrix as aligned columns, with the reasons for red
// cells below it.
func (m *Matrix) Text(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CASE\t%s\n", strings.ToUpper(strings.Join(m.Backends, "\t")))
	rows, notes := m.grid(func(c, b string, cell *Cell, notes *[]string) string {
		switch {
		case cell == nil:
			return "-"
		case cell.Pass:
			return "ok"
		}
		*notes = append(*notes, fmt.Sprintf("%s on %s:\n  %s", c, b, strings.Join(cell.Failures, "\n  ")))
		return "FAIL"
	})
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
}
