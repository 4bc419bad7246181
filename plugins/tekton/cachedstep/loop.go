package cachedstep

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
)

// Loop is a loop over one step, run by the controller rather than by a
// Tekton matrix: Tekton fans a matrixed custom task out into CustomRuns
// but reads its results from the first one only
// (pipelinerun/resources.resolveCustomResultRef takes customRuns[0]), so
// one CustomRun runs every iteration and returns their results
// aggregated, as Tekton aggregates a matrix's TaskRuns' results.
//
// The items are known at compile time (Items), or come from a CustomRun
// parameter that a filter task's array result fills (ItemsParam), with
// that filter's verdict on every item of the loop (RunsParam) to tell
// each iteration's index in the loop.
type Loop struct {
	// Param is the Task parameter that takes each iteration's item.
	Param string `json:"param"`
	// Items are the iterations of a loop whose items are known at compile
	// time: each item's index in the loop, and the text Param takes.
	Items []Item `json:"items,omitempty"`
	// ItemsParam names the CustomRun's array parameter whose elements are
	// the texts Param takes, one iteration each, for a loop whose items
	// are known at run time only.
	ItemsParam string `json:"itemsParam,omitempty"`
	// RunsParam names the CustomRun's string parameter that holds, as a
	// JSON list of booleans, whether each of the loop's items runs (a
	// filter's verdicts): the n-th element of ItemsParam is the n-th item
	// that runs. Without it, the elements are the items 0, 1, …
	RunsParam string `json:"runsParam,omitempty"`
	// Parallelism bounds the iterations whose TaskRuns run at once; 0
	// bounds nothing. A cache hit takes no place.
	Parallelism int `json:"parallelism,omitempty"`
}

// Item is one iteration of a loop.
type Item struct {
	// Index is the item's index in the loop's list, which the step shows
	// under (train[2]).
	Index int `json:"index"`
	// Text is what the Task's item parameter takes.
	Text string `json:"text"`
}

// ResultCount is the result of a loop's CustomRun that counts its
// iterations, for the readers of its aggregated results (a launcher's
// --in-list KEY=TYPE:COUNT): the count a matrix's readers take from
// $(tasks.NAME.matrix.RESULT.length), which Tekton computes for TaskRuns
// only. No output's result has this name (output names may not start
// with "sluice"; the results of those that Tekton does not take are
// "sluice-" and hex).
const ResultCount = "sluice-count"

// Validate reports what keeps a loop from being run.
func (l *Loop) Validate() error {
	switch {
	case l.Param == "":
		return errors.New("no param for the item")
	case len(l.Items) > 0 && l.ItemsParam != "":
		return errors.New("both items and itemsParam: give one")
	case len(l.Items) == 0 && l.ItemsParam == "":
		return errors.New("neither items nor itemsParam")
	case l.RunsParam != "" && l.ItemsParam == "":
		return errors.New("runsParam without itemsParam")
	case l.Parallelism < 0:
		return errors.New("negative parallelism")
	}
	return nil
}

// Iterations lists the iterations a loop's CustomRun runs, in the order
// of the loop's items, from its spec and its parameters.
func (l *Loop) Iterations(params v1beta1.Params) ([]Item, error) {
	if l.ItemsParam == "" {
		return l.Items, nil
	}
	p := param(params, l.ItemsParam)
	if p == nil || p.Value.Type != v1beta1.ParamTypeArray {
		return nil, fmt.Errorf("no array parameter %s with the loop's items", l.ItemsParam)
	}
	texts := p.Value.ArrayVal
	items := make([]Item, len(texts))
	for i, t := range texts {
		items[i] = Item{Index: i, Text: t}
	}
	if l.RunsParam == "" {
		return items, nil
	}
	r := param(params, l.RunsParam)
	var runs []bool
	if r == nil || json.Unmarshal([]byte(r.Value.StringVal), &runs) != nil {
		return nil, fmt.Errorf("no parameter %s with the loop's verdicts (a JSON list of booleans)", l.RunsParam)
	}
	n := 0
	for idx, run := range runs {
		if !run {
			continue
		}
		if n < len(items) {
			items[n].Index = idx
		}
		n++
	}
	if n != len(items) {
		return nil, fmt.Errorf("%d items in %s, %d that run in %s", len(items), l.ItemsParam, n, l.RunsParam)
	}
	return items, nil
}

func param(ps v1beta1.Params, name string) *v1beta1.Param {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	return nil
}

// Iteration is the controller's record of one iteration of a loop, in
// the loop's Status: what the status of a CustomRun of that iteration
// alone would be (its conditions, start and completion, results, retries,
// and its attempt's lookup in extraFields).
type Iteration struct {
	// Index is the item's index in the loop's list.
	Index int `json:"index"`
	// Status is the iteration's, zero until it starts. Its results go
	// into the loop's aggregated results when the loop succeeds, and are
	// dropped from here then (see Element).
	Status v1beta1.CustomRunStatus `json:"status"`
}

// Aggregate is a loop's results: for each result of its iterations, the
// JSON list of their texts in the order of the iterations, as Tekton
// aggregates a matrix's TaskRuns' string results into an array result,
// and ResultCount. Tekton reads a CustomRun result whose text is a
// non-empty JSON array of strings as an array
// (pipelinerun/resources.paramValueFromCustomRunResult), so that
// $(tasks.NAME.results.RESULT[*]) gives the elements. An iteration
// without a result adds nothing to its list, as in Tekton's aggregation.
func Aggregate(iterations [][]v1beta1.CustomRunResult) []v1beta1.CustomRunResult {
	var names []string
	lists := map[string][]string{}
	for _, results := range iterations {
		for _, r := range results {
			if _, ok := lists[r.Name]; !ok {
				names = append(names, r.Name)
			}
			lists[r.Name] = append(lists[r.Name], r.Value)
		}
	}
	var out []v1beta1.CustomRunResult
	for _, n := range names {
		b, _ := json.Marshal(lists[n]) // strings: it cannot fail
		out = append(out, v1beta1.CustomRunResult{Name: n, Value: string(b)})
	}
	return append(out, v1beta1.CustomRunResult{Name: ResultCount, Value: strconv.Itoa(len(iterations))})
}

// Element is the n-th iteration's results, read back from a loop's
// aggregated results.
func Element(aggregated []v1beta1.CustomRunResult, n int) []v1beta1.CustomRunResult {
	var out []v1beta1.CustomRunResult
	for _, r := range aggregated {
		var l []string
		if r.Name == ResultCount || json.Unmarshal([]byte(r.Value), &l) != nil || n >= len(l) {
			continue
		}
		out = append(out, v1beta1.CustomRunResult{Name: r.Name, Value: l[n]})
	}
	return out
}
