package report

import (
	"io"
	"os"

	"golang.org/x/term"
)

// IsTerminal reports whether f is a terminal, the test for drawing a live
// table rather than printing lines.
func IsTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}

// sizeOf returns a function giving the terminal size behind w, asked anew
// at each redraw so that a resized window is followed; width 0 means
// unknown (no clipping).
func sizeOf(w io.Writer) func() (width, height int) {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return func() (int, int) { return 0, defaultHeight }
	}
	fd := int(f.Fd())
	return func() (int, int) {
		width, height, err := term.GetSize(fd)
		if err != nil || height <= 0 {
			return 0, defaultHeight
		}
		return width, height
	}
}
