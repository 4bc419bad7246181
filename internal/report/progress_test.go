package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that a ticker goroutine may write while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func fixedSize(width, height int) func() (int, int) {
	return func() (int, int) { return width, height }
}

func TestProgressPlain(t *testing.T) {
	var b bytes.Buffer
	c := &clock{t: t0}
	p := newProgress(&b, false, c.Now, fixedSize(0, 0), refresh)
	for _, e := range script {
		p.Event(e)
	}
	p.Event(Event{Step: "publish", State: Failed, Attempt: 1, Time: at(7.25), Message: "upload failed:\nconnection reset"})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p.Event(Event{Step: "late", State: Running, Time: at(8)}) // dropped after Close
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("plain output contains an escape sequence:\n%q", b.String())
	}
	golden(t, "progress_plain.txt", b.Bytes())
}

// frameRE matches one redraw: an optional cursor-up over the old frame,
// then clear to the end of the screen.
var frameRE = regexp.MustCompile(`(?:\x1b\[(\d+)A)?\x1b\[J`)

func TestProgressTTY(t *testing.T) {
	tests := []struct {
		name          string
		width, height int
	}{
		{"tall", 0, 40},
		// Too short for every row: the running and failed ones are shown,
		// the rest counted; too narrow for the messages: lines are cut.
		{"short", 48, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b syncBuffer
			c := &clock{t: t0}
			// The ticker never fires; draw is called by hand so that the
			// whole output is deterministic.
			p := newProgress(&b, true, c.Now, fixedSize(tt.width, tt.height), time.Hour)
			redraw := func() {
				p.mu.Lock()
				defer p.mu.Unlock()
				p.draw()
			}
			for i, e := range script {
				p.Event(e)
				c.Set(e.Time)
				if i%5 == 4 {
					redraw()
				}
			}
			redraw()
			redraw() // unchanged: no output
			c.Set(at(7.25))
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			out := b.String()

			// Each frame but the first starts by moving up over the
			// previous one, whose lines it counts.
			locs := frameRE.FindAllStringSubmatchIndex(out, -1)
			if len(locs) < 3 || locs[0][0] != 0 || locs[0][2] != -1 {
				t.Fatalf("want at least 3 frames, the first without a cursor move; got %d in\n%q", len(locs), out)
			}
			for i := 1; i < len(locs); i++ {
				prev := out[locs[i-1][1]:locs[i][0]]
				if up := out[locs[i][2]:locs[i][3]]; up != fmt.Sprint(strings.Count(prev, "\n")) {
					t.Errorf("frame %d moves up %s lines over a frame of %d:\n%q", i, up, strings.Count(prev, "\n"), prev)
				}
			}
			final := out[locs[len(locs)-1][1]:]
			for _, l := range strings.Split(strings.TrimSuffix(final, "\n"), "\n") {
				if n := len([]rune(l)); tt.width > 0 && n >= tt.width {
					t.Errorf("line of %d runes in a %d-column terminal: %q", n, tt.width, l)
				}
			}
			golden(t, "progress_tty_"+tt.name+".txt", []byte(final))
		})
	}
}

// TestProgressTicker runs the real redraw loop: frames appear without any
// event, because a running step's duration ticks.
func TestProgressTicker(t *testing.T) {
	var b syncBuffer
	c := &clock{t: t0}
	p := newProgress(&b, true, c.Now, fixedSize(80, 24), time.Millisecond)
	p.Event(Event{Step: "train", State: Running, Attempt: 1, Time: t0})
	for i := 1; strings.Count(b.String(), "\x1b[J") < 3; i++ {
		if i > 5000 {
			t.Fatalf("no redraws after 5s:\n%q", b.String())
		}
		c.Set(at(float64(i)))
		time.Sleep(time.Millisecond)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if !strings.Contains(b.String(), "\x1b[3A\x1b[J") {
		t.Errorf("no redraw moved up over the 3-line frame:\n%q", b.String())
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, fmt.Errorf("disk full")
}

func TestProgressWriteError(t *testing.T) {
	w := &failWriter{}
	p := newProgress(w, false, time.Now, fixedSize(0, 0), refresh)
	p.Event(Event{Step: "a", State: Running})
	p.Event(Event{Step: "a", State: Succeeded})
	if err := p.Close(); err == nil || w.n != 1 {
		t.Errorf("Close = %v after %d writes; want the first write's error and no write after it", err, w.n)
	}
}

// TestConcurrentEvents is for -race: many steps report at once to a
// Collector and both kinds of Progress through Multi.
func TestConcurrentEvents(t *testing.T) {
	const workers, each = 8, 50
	var plain, tty syncBuffer
	col := NewCollector()
	pp := NewProgress(&plain, false)
	tp := newProgress(&tty, true, time.Now, fixedSize(100, 20), time.Millisecond)
	var seen sync.Map
	obs := Multi(col, nil, pp, tp, ObserverFunc(func(e Event) { seen.Store(e.Step, true) }))

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("step[%d]", w*each+i)
				obs.Event(Event{Step: name, State: Pending})
				obs.Event(Event{Step: name, State: Running, Attempt: 1})
				obs.Event(Event{Step: name, State: Succeeded, Attempt: 1})
			}
		})
	}
	wg.Wait()
	for _, p := range []*Progress{pp, tp} {
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}

	s := col.Summary("p", "r", "local")
	if len(s.Steps) != workers*each || s.Status != Succeeded {
		t.Errorf("collector has %d steps, status %s; want %d, Succeeded", len(s.Steps), s.Status, workers*each)
	}
	if n := strings.Count(plain.String(), "\n"); n != 2*workers*each {
		t.Errorf("plain progress printed %d lines, want %d", n, 2*workers*each)
	}
	if final := tty.String(); !strings.Contains(final, fmt.Sprintf("%d steps in ", workers*each)) ||
		!strings.Contains(final, fmt.Sprintf(": %d Succeeded\n", workers*each)) {
		t.Errorf("final table does not count every step:\n%s", tty.String()[max(0, len(tty.String())-500):])
	}
	n := 0
	seen.Range(func(any, any) bool { n++; return true })
	if n != workers*each {
		t.Errorf("ObserverFunc saw %d steps, want %d", n, workers*each)
	}
}

func TestFmtDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{-1, ""},
		{0, "0.0s"},
		{2149 * time.Millisecond, "2.1s"},
		{59990 * time.Millisecond, "59.9s"},
		{65 * time.Second, "1m05s"},
		{2*time.Hour + 3*time.Minute + 59*time.Second, "2h03m"},
	} {
		if got := fmtDuration(tt.d); got != tt.want {
			t.Errorf("fmtDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || IsTerminal(nil) {
		t.Error("IsTerminal = true for a regular file or nil")
	}
	if w, h := sizeOf(f)(); w != 0 || h != defaultHeight {
		t.Errorf("size of a regular file = %d×%d, want 0×%d", w, h, defaultHeight)
	}
}
