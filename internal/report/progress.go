package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// refresh is the interval between redraws of the live table: often enough
// for durations to tick, rarely enough not to flood a slow terminal.
const refresh = 100 * time.Millisecond

// minNameWidth keeps short step names from making plain lines ragged
// before a longer name widens the column.
const minNameWidth = 12

// Progress is an Observer that shows a run as it happens: on a terminal a
// table redrawn in place, otherwise one line per event. It is safe for
// concurrent use; Close it when the run ends.
type Progress struct {
	w    io.Writer
	tty  bool
	now  func() time.Time
	size func() (width, height int)

	mu        sync.Mutex
	steps     steps
	start     time.Time
	nameWidth int    // plain: widest step name so far
	drawn     int    // tty: lines of the frame on screen
	frame     string // tty: the frame on screen
	closed    bool
	err       error // first write error; later writes are dropped

	stop, done chan struct{}
}

var _ Observer = (*Progress)(nil)

// NewProgress returns a Progress writing to w. With tty, w is a terminal
// and gets a live table (ANSI cursor movement, at most 10 redraws a
// second); without, it gets plain lines fit for a CI log.
func NewProgress(w io.Writer, tty bool) *Progress {
	return newProgress(w, tty, time.Now, sizeOf(w), refresh)
}

func newProgress(w io.Writer, tty bool, now func() time.Time, size func() (int, int), every time.Duration) *Progress {
	p := &Progress{w: w, tty: tty, now: now, size: size, start: now(), nameWidth: minNameWidth}
	if tty {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.loop(every)
	}
	return p
}

// Event records e and, in plain mode, prints its line. Pending events
// print nothing: a run announces every step up front, and a line per step
// saying so is noise in a CI log. Events after Close are dropped.
func (p *Progress) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if e.Time.IsZero() {
		e.Time = p.now()
	}
	p.nameWidth = max(p.nameWidth, utf8.RuneCountInString(e.Step))
	r := p.steps.apply(e)
	if r == nil || p.tty || e.State == Pending {
		return
	}
	p.write(p.line(e, r))
}

// Close stops the redraws, draws the final table and returns the first
// error met writing, if any. It is safe to call more than once.
func (p *Progress) Close() error {
	p.mu.Lock()
	if p.closed {
		defer p.mu.Unlock()
		return p.err
	}
	p.closed = true
	p.mu.Unlock()
	if p.tty {
		close(p.stop)
		<-p.done
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.draw()
	}
	return p.err
}

// line formats one plain event line:
//
//	12:01:04 train[1]     Succeeded 2.1s
//	12:01:05 eval         Failed    0.3s exit code 1
func (p *Progress) line(e Event, r *StepResult) string {
	parts := []string{
		e.Time.Format("15:04:05"),
		fmt.Sprintf("%-*s", p.nameWidth, e.Step),
		fmt.Sprintf("%-*s", stateWidth, e.State),
	}
	if (e.State.Done() || e.State == Retrying) && !r.Started.IsZero() {
		parts = append(parts, fmtDuration(span(r.Started, e.Time)))
	}
	if e.State == Running && e.Attempt > 1 {
		parts = append(parts, fmt.Sprintf("attempt %d", e.Attempt))
	}
	if e.Message != "" {
		parts = append(parts, oneLine(e.Message))
	}
	return strings.TrimRight(strings.Join(parts, " "), " ") + "\n"
}

// loop redraws on every tick; draw skips frames that did not change.
func (p *Progress) loop(every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// draw replaces the frame on screen with the current table: cursor up over
// the old frame, clear to the end of the screen, write the new one, all in
// one write so the terminal never shows half a frame. p.mu must be held.
func (p *Progress) draw() {
	if len(p.steps.list) == 0 {
		return // no empty table before the first event
	}
	width, height := p.size()
	lines := renderTable(p.steps.list, p.now(), p.start, width, height)
	frame := strings.Join(lines, "\n") + "\n"
	if frame == p.frame {
		return
	}
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	b.WriteString("\x1b[J")
	b.WriteString(frame)
	p.write(b.String())
	p.drawn, p.frame = len(lines), frame
}

// write sends s to w unless an earlier write failed. p.mu must be held.
func (p *Progress) write(s string) {
	if p.err == nil {
		_, p.err = io.WriteString(p.w, s)
	}
}
