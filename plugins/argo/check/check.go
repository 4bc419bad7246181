// Package check is the contract between the Workflows that adapters/argo
// compiles with the cache plugin and the Argo Executor Plugin that answers
// them (plugins/argo): the key of a check template's plugin value, the
// request under it, and the output parameters of the reply. Both import
// it, so neither can drift from the other.
package check

import (
	"strings"

	"github.com/sluice-dev/sluice/internal/launch"
)

const (
	// Key is the key of a check template's plugin value: a Request.
	Key = "sluice-cache"
	// OutputCached is the output parameter that says whether a step was a
	// cache hit: "true" in a hit's reply, as the launcher writes it to
	// its --out-dir.
	OutputCached = launch.CachedFile
	// OutputFault is, in the reply of a miss that a fault caused (not a
	// step that has not run yet), the reason.
	OutputFault = "sluice-fault"
)

// Request is the value of a check template's plugin under Key, as the
// plugin receives it once Argo substituted the inputs.
type Request struct {
	// Args are the arguments of `sluice-exec run` that the step's
	// container gets (without the word run), preceded by --cache with the
	// store its pod gets through SLUICE_CACHE: exactly what the launcher
	// would look the step up with.
	Args []string `json:"args"`
	// Secret names the Secret with the store's credentials, in the
	// Workflow's namespace (the adapters' --cache-secret): the plugin
	// reads it where the pod mounts it. Empty when the store needs none.
	Secret string `json:"secret,omitempty"`
}

// Param is the output parameter under which a step's container template
// declares the launcher's output ("params.X" or "artifacts.X"): X.
func Param(output string) string {
	if name, ok := strings.CutPrefix(output, "params."); ok {
		return name
	}
	name, _ := strings.CutPrefix(output, "artifacts.")
	return name
}
