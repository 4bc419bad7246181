package tekton

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/ir"
)

// maxName bounds the names of pipeline tasks and Tasks: Tekton copies
// them into label values, which Kubernetes bounds to 63 characters.
const maxName = 63

// names hands out unique names: the pipeline's own step names first, so
// that what Sluice adds (condition tasks, iterations of a loop) never
// takes a name a step has.
type names struct{ used map[string]bool }

func newNames(g *ir.Graph) *names {
	n := &names{used: map[string]bool{}}
	for _, node := range g.All() {
		n.used[node.Name()] = true
	}
	return n
}

// claim returns want, or the first of want-2, want-3, … that is free,
// each shortened to maxName characters.
func (n *names) claim(want string) string {
	name := shorten(want, maxName)
	for i := 2; n.used[name]; i++ {
		name = shorten(want+"-"+strconv.Itoa(i), maxName)
	}
	n.used[name] = true
	return name
}

// shorten keeps a name within max characters: a longer one keeps its
// beginning and ends with a hash of the whole, so two long names stay
// apart.
func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:4])
	head := strings.TrimRight(s[:max-len(h)-1], "-_.")
	return head + "-" + h
}

// The names of the parameters and results Sluice adds to a Task. Step
// names may not start with ir.ReservedPrefix, so none of these meets a
// name derived from a step.
const (
	paramRun    = "sluice_run"     // the PipelineRun's name: pipeline.runId
	paramItem   = "sluice_item"    // the item of the current iteration
	paramIndex  = "sluice_index"   // its index in the loop (a literal loop's matrix)
	paramItems  = "sluice_items"   // a loop CachedStep's items, from its filter task
	paramRuns   = "sluice_runs"    // its filter's verdict on each item
	resultOK    = launch.WhenFile  // a condition task's outcome, "true" or "false"
	resultItems = launch.ItemsFile // a filter task's items, base64 each
	resultRuns  = launch.RunsFile  // a filter task's verdict on each item
	resultKept  = launch.KeptFile  // a filter task's items with their indexes, for a matrix
	// resultIndex is the index of a matrix TaskRun's item, which it
	// writes with its outputs.
	resultIndex = launch.IndexFile
	// resultCached says whether a command step was a cache hit.
	resultCached = launch.CachedFile
	volumeBin    = "sluice-bin" // the launcher, shared by the copy and the step
	volumeCreds  = "sluice-cache-credentials"
)

// credentialsDir is where the store's credentials Secret is mounted.
const credentialsDir = "/sluice/cache-credentials"

// valueParam names the Task parameter that carries the value of
// steps.STEP.outputs.*.NAME. Step names are DNS labels, without "_", so
// STEP_NAME is unique; a step name that starts with a digit gets a
// leading "_", as Tekton parameter names start with a letter or "_".
func valueParam(step, name string) string {
	p := step + "_" + name
	if p[0] >= '0' && p[0] <= '9' {
		p = "_" + p
	}
	return p
}

var resultNameRE = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)

// resultName names the Task result of output NAME: NAME itself when Tekton
// takes it as a result name; otherwise (a name that starts or ends with
// "_" or "-") "sluice-" and its bytes in hex, which no output name can be.
func resultName(name string) string {
	if resultNameRE.MatchString(name) {
		return name
	}
	return ir.ReservedPrefix + "-" + hex.EncodeToString([]byte(name))
}

// ctxSuffix is how an iteration of enclosing loops shows in a name: "-1-0"
// in a task name, "[1][0]" for display.
func ctxSuffix(ctx []int) (name, display string) {
	var n, d strings.Builder
	for _, i := range ctx {
		n.WriteString("-" + strconv.Itoa(i))
		d.WriteString("[" + strconv.Itoa(i) + "]")
	}
	return n.String(), d.String()
}
