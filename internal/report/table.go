package report

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// defaultHeight is the terminal height assumed when it cannot be asked.
const defaultHeight = 40

// stateWidth is the width of the longest state name, "Succeeded".
const stateWidth = 9

// renderTable lays out the progress table: a header, one row per step (or,
// when they do not fit in height, the running and failed ones and a line
// summarising the rest) and a footer with the elapsed time and counts.
// Lines are cut to width so that none wraps and the redraw, which moves
// the cursor up by the number of lines, stays in place. It is a pure
// function of its arguments, so tests need no terminal.
func renderTable(rows []StepResult, now, start time.Time, width, height int) []string {
	if height <= 0 {
		height = defaultHeight
	}
	shown, hidden := fit(rows, max(height-3, 2)) // header, footer, cursor line
	nameWidth := len("STEP")
	for _, r := range shown {
		nameWidth = max(nameWidth, utf8.RuneCountInString(r.Name))
	}
	line := func(name, state, dur, cache, msg string) string {
		s := fmt.Sprintf("%-*s  %-*s  %-8s  %-5s  %s", nameWidth, name, stateWidth, state, dur, cache, msg)
		return strings.TrimRight(s, " ")
	}
	lines := []string{line("STEP", "STATE", "DURATION", "CACHE", "MESSAGE")}
	for _, r := range shown {
		lines = append(lines, line(r.Name, string(r.State), fmtDuration(elapsed(&r, now)), cacheCell(&r), oneLine(r.Message)))
	}
	if len(hidden) > 0 {
		lines = append(lines, fmt.Sprintf("… %d more: %s", len(hidden), counts(hidden)))
	}
	lines = append(lines, fmt.Sprintf("%d steps in %s: %s", len(rows), fmtDuration(max(now.Sub(start), 0)), counts(rows)))
	for i, l := range lines {
		lines[i] = strings.TrimRight(clip(l, width), " ")
	}
	return lines
}

// fit picks the rows to show in at most n lines. When all do not fit, the
// rows that need attention (running, retrying, failed) win, in their
// order, and one line is kept for the count of the others.
func fit(rows []StepResult, n int) (shown, hidden []StepResult) {
	if len(rows) <= n {
		return rows, nil
	}
	for _, r := range rows {
		if len(shown) < n-1 && (r.State == Running || r.State == Retrying || r.State == Failed) {
			shown = append(shown, r)
		} else {
			hidden = append(hidden, r)
		}
	}
	return shown, hidden
}

// elapsed is how long a step has run: until now while it runs, until it
// finished once done, and 0 if it never started.
func elapsed(r *StepResult, now time.Time) time.Duration {
	switch {
	case r.Started.IsZero():
		return -1
	case r.State.Done():
		return span(r.Started, r.Finished)
	}
	return span(r.Started, now)
}

func cacheCell(r *StepResult) string {
	switch {
	case r.State == Cached:
		return "hit"
	case !r.Started.IsZero():
		return "miss"
	}
	return ""
}

// counts lists how many rows are in each state, in a fixed order.
func counts(rows []StepResult) string {
	n := map[State]int{}
	for _, r := range rows {
		n[r.State]++
	}
	var parts []string
	for _, s := range allStates {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// fmtDuration prints a duration the way a person reads a run: 2.1s, 1m05s,
// 2h03m. Negative durations (not started) print as nothing.
func fmtDuration(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Truncate(100*time.Millisecond).Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// oneLine keeps a message on its row: control characters, newlines and
// escape sequences among them, become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// clip cuts s to fewer than width runes; the last column stays free
// because some terminals wrap as soon as it is written.
func clip(s string, width int) string {
	if width <= 0 || utf8.RuneCountInString(s) < width {
		return s
	}
	runes := []rune(s)
	return string(runes[:width-1])
}
