package tekton

import (
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/ir"
)

// Sentinel errors of the translation.
var (
	// ErrUnsupported is wrapped by the errors of pipeline features that
	// cannot be expressed on Tekton (yet); docs/tekton.md lists them.
	ErrUnsupported = errors.New("not supported on Tekton")
	// ErrLimit is wrapped by the errors of pipelines beyond one of
	// Tekton's limits (matrix combinations, the 4 KiB of results).
	ErrLimit = errors.New("beyond a Tekton limit")
	// ErrOptions is wrapped by errors in Options.
	ErrOptions = errors.New("invalid options")
)

// fieldError makes an error at a place of the pipeline file.
// An onExit step compiled once per outcome meets its problems twice: each
// is reported once.
func (c *compiler) fieldError(path ir.Path, cause error, format string, args ...any) {
	msg := fmt.Sprintf(format, args...) + ": " + cause.Error()
	for _, e := range c.errs {
		if e.Path == path && e.Msg == msg {
			return
		}
	}
	c.errs = append(c.errs, &ir.FieldError{Pos: c.p.Pos(path), Path: path, Msg: msg, Err: cause})
}
