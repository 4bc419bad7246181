package tekton

import (
	"slices"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/selection"
)

// guards are what a task runs under, as Tekton `when` expressions: the
// conditions of the step itself, of its enclosing groups, and of every
// step whose outputs it needs, transitively. A skipped step's dependents
// thus fail their own `when` rather than miss a result; Tekton then skips
// them for their `when` (WhenExpressionsSkip), the one reason for which it
// still runs the tasks that only come after them.
//
// Tekton evaluates a task's `when` before it looks for missing results, and
// leaves a reference to a skipped task's result unreplaced, so `in
// ["true"]` is false both when a condition task said "false" and when it
// was itself skipped.
type guards struct {
	// never: the task is skipped whatever happens (a condition decided at
	// compile time, or an input from such a task).
	never bool
	// conds are the condition tasks whose result must be "true".
	conds []string
}

func (g guards) and(o guards) guards {
	out := guards{never: g.never || o.never}
	out.conds = append(slices.Clone(g.conds), o.conds...)
	slices.Sort(out.conds)
	out.conds = slices.Compact(out.conds)
	return out
}

func (g guards) with(cond string) guards { return g.and(guards{conds: []string{cond}}) }

// implied keeps guard sets small: a condition task runs under guards of
// its own, and when one of them fails it is skipped and its result stays
// unreplaced, so requiring its "true" implies all of them. reduce drops
// every condition another of the set implies; without it, every task
// would carry every condition upstream of it.
type implied struct {
	under   map[string][]string        // a condition task's own guards
	closure map[string]map[string]bool // all the conditions it implies
}

func newImplied() *implied {
	return &implied{under: map[string][]string{}, closure: map[string]map[string]bool{}}
}

// add records that condition task name runs under g.
func (im *implied) add(name string, g guards) { im.under[name] = g.conds }

func (im *implied) implies(c string) map[string]bool {
	if s, ok := im.closure[c]; ok {
		return s
	}
	s := map[string]bool{}
	for _, d := range im.under[c] {
		s[d] = true
		for e := range im.implies(d) {
			s[e] = true
		}
	}
	im.closure[c] = s
	return s
}

func (im *implied) reduce(g guards) guards {
	if g.never {
		return guards{never: true}
	}
	if len(g.conds) < 2 {
		return g
	}
	out := guards{}
	for _, c := range g.conds {
		dropped := false
		for _, d := range g.conds {
			if d != c && im.implies(d)[c] {
				dropped = true
				break
			}
		}
		if !dropped {
			out.conds = append(out.conds, c)
		}
	}
	return out
}

func (g guards) equal(o guards) bool { return g.never == o.never && slices.Equal(g.conds, o.conds) }

// Tekton's aggregate status of the DAG tasks, $(tasks.status), as a
// finally task sees it; Completed is success with some tasks skipped.
const (
	tasksStatus     = "$(tasks.status)"
	statusSucceeded = "Succeeded"
	statusCompleted = "Completed"
	conditionTrue   = "true"
	conditionNever  = "false"
)

// when renders a task's guards and, for a finally task compiled once per
// outcome, the outcome it is for.
func (g guards) when(status string) v1.WhenExpressions {
	var out v1.WhenExpressions
	if g.never {
		// Skipped whatever happens: a constant false condition, so that
		// Tekton shows the task as skipped for its `when`.
		return v1.WhenExpressions{{Input: conditionNever, Operator: selection.In, Values: []string{conditionTrue}}}
	}
	for _, c := range g.conds {
		out = append(out, v1.WhenExpression{Input: resultRef(c, resultOK), Operator: selection.In, Values: []string{conditionTrue}})
	}
	switch status {
	case "":
	case statusSucceeded:
		out = append(out, v1.WhenExpression{Input: tasksStatus, Operator: selection.In, Values: []string{statusSucceeded, statusCompleted}})
	default:
		out = append(out, v1.WhenExpression{Input: tasksStatus, Operator: selection.NotIn, Values: []string{statusSucceeded, statusCompleted}})
	}
	return out
}

func resultRef(task, result string) string { return "$(tasks." + task + ".results." + result + ")" }
