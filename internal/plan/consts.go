package plan

import (
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/ir"
)

// Consts are the values known when a pipeline is compiled: the parameters
// (resolved from defaults and -p overrides), the pipeline's name, and,
// where an adapter knows them, the pipeline's status (an onExit step
// compiled once per outcome) and the current item of a loop over a list
// known at compile time.
type Consts struct {
	Pipeline string
	Params   map[string]ir.Value
	Status   string    // "" when only known at run time
	Item     *ir.Value // nil when only known at run time, or outside a loop
}

// errRuntime marks a placeholder whose value only exists at run time.
var errRuntime = errors.New("known at run time only")

// Value returns the text a placeholder expands to, when it is known at
// compile time. ok is false for a value only known at run time; err is
// set for a placeholder that is known but has no value (item.KEY of an
// item without that field), which fails the step wherever it runs.
func (c Consts) Value(r ir.Ref) (text string, ok bool, err error) {
	switch r.Kind {
	case ir.RefParam:
		v, found := c.Params[r.Name]
		if !found {
			return "", false, fmt.Errorf("${{ %s }}: no value for parameter %q", r, r.Name)
		}
		return v.String(), true, nil
	case ir.RefPipelineName:
		return c.Pipeline, true, nil
	case ir.RefPipelineStatus:
		return c.Status, c.Status != "", nil
	case ir.RefItem:
		if c.Item == nil {
			return "", false, nil
		}
		s, err := c.Item.ItemText(r.Name)
		if err != nil {
			return "", false, fmt.Errorf("${{ %s }}: %w", r, err)
		}
		return s, true, nil
	}
	return "", false, nil
}

// resolve is Value as ir's Eval and Expand take it.
func (c Consts) resolve(r ir.Ref) (string, error) {
	s, ok, err := c.Value(r)
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "", errRuntime
	}
	return s, nil
}

// Fold evaluates a `when` condition with what is known at compile time.
// decided is false when the outcome depends on a value only known at run
// time (a step's output, the run's id); && and || decide as soon as one
// side does, as they do at run time. err is a condition that fails
// whatever happens at run time (an operand that is not true or false).
func Fold(when string, c Consts) (value, decided bool, err error) {
	w, err := ir.ParseWhen(when)
	if err != nil {
		return false, false, err
	}
	v, err := w.Eval(c.resolve)
	switch {
	case errors.Is(err, errRuntime):
		return false, false, nil
	case err != nil:
		return false, false, err
	}
	return v, true, nil
}

// Items returns a loop's items when they are known at compile time: a
// literal list, or a parameter or the item of an enclosing loop whose
// value is known. known is false when they come from a step's output.
func Items(fe *ir.ForEach, c Consts) (items []ir.Value, known bool, err error) {
	v := *fe.Items
	if s, ok := v.Interface().(string); ok {
		text, err := ir.Expand(s, c.resolve)
		switch {
		case errors.Is(err, errRuntime):
			return nil, false, nil
		case err != nil:
			return nil, false, fmt.Errorf("forEach.items: %w", err)
		}
		if v, err = ir.ParseValue(text, ir.TypeList); err != nil {
			return nil, false, fmt.Errorf("forEach.items: %w", err)
		}
	}
	l, ok := v.List()
	if !ok {
		return nil, false, fmt.Errorf("forEach.items: not a list")
	}
	return l, true, nil
}
