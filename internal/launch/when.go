package launch

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/ir"
)

// WhenRequest is one `sluice-exec when`: a step's when condition decided
// where the engine cannot keep IR semantics itself (numbers compared as
// numbers, values that are operands and never expression text).
type WhenRequest struct {
	Expr string // the condition as written in the pipeline file
	In   *Bindings
	// Store is the store's URL, needed only when a value passed in is a
	// value ref; "" otherwise.
	Store string
}

// When decides a condition with the same parser and evaluator as every
// other backend (ir.ParseWhen).
func When(ctx context.Context, req *WhenRequest) (bool, error) {
	w, err := ir.ParseWhen(req.Expr)
	if err != nil {
		return false, &Error{Code: ExitUsage, Err: err}
	}
	var store cache.Store
	if req.Store != "" {
		if store, err = cache.Open(ctx, req.Store); err != nil {
			return false, &Error{Code: ExitUnavailable, Err: err}
		}
	}
	if store == nil && req.In.hasValueRefs() {
		return false, &Error{Code: ExitUsage, Err: errors.New("a value passed in is a value ref: pass --cache URL to fetch it")}
	}
	if err := req.In.Resolve(ctx, store); err != nil {
		return false, &Error{Code: ExitUnavailable, Err: err}
	}
	ok, err := w.Eval(req.In.Value)
	if err != nil {
		return false, &Error{Code: ExitUsage, Err: fmt.Errorf("when %q: %w", abbrev(req.Expr), err)}
	}
	return ok, nil
}

func (b *Bindings) hasValueRefs() bool {
	for ref, v := range b.values {
		if IsValueRef(v) && !b.literal[ref] {
			return true
		}
	}
	for _, l := range b.lists {
		for _, e := range l.elems {
			if IsValueRef(e) {
				return true
			}
		}
	}
	return false
}
