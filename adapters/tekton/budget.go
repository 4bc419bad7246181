package tekton

import (
	"fmt"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/ir"
)

// Tekton reads a task's results from its step's termination message,
// which Kubernetes caps at 4096 bytes: a JSON list of
// {"key":NAME,"value":VALUE,"type":1}, with Tekton's own entries
// (StartedAt) beside them. JSON escaping can make a value six times longer
// (`<` is written \u003c), and the launcher's bounds count bytes as
// written, so the budget assumes the worst.
const (
	terminationMessage = 4096
	// tektonReserve holds Tekton's own entry (StartedAt, at most 68
	// bytes), the list's brackets and, for an iteration of a matrix, the
	// entry of its item's index (sluice-index: 53 bytes with 10 digits and
	// a comma), with room to spare: TestBudget writes the fullest message
	// with Tekton's own code.
	tektonReserve = 256
	entryOverhead = 32 // {"key":"","value":"","type":1}, and a comma
	escapeFactor  = 6  // the longest JSON escape of one byte
	// maxURI is the longest an artifact URI or a value ref is as JSON:
	// cas://sha256/<64 hex>?kind=value&size=<19 digits>, with & escaped.
	maxURI = 13 + 64 + 17 + 5 + 19
)

// budget returns the launcher's bounds for a step's outputs: each value
// whose JSON could exceed its share of the termination message is stored
// and passed as a value ref, so the message always fits. maxValue is 0
// for a step without output values.
func budget(o *ir.Outputs) (maxValue int, err error) {
	if o == nil {
		return 0, nil
	}
	left := terminationMessage - tektonReserve - (entryOverhead + len(resultCached) + len("false"))
	for _, p := range o.Params {
		left -= entryOverhead + len(resultName(p.Name))
	}
	for _, a := range o.Artifacts {
		left -= entryOverhead + len(resultName(a.Name)) + maxURI
	}
	n := len(o.Params)
	if left < n*maxURI || left < 0 {
		return 0, fmt.Errorf("%d output values and %d artifacts do not fit in the 4 KiB Tekton keeps for a task's results, even as value refs: %w",
			n, len(o.Artifacts), ErrLimit)
	}
	if n == 0 {
		return 0, nil
	}
	return min(left/n/escapeFactor, launch.DefaultMaxValueBytes), nil
}
