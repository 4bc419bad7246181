package kube

import (
	"regexp"
	"strconv"

	"github.com/sluice-dev/sluice/internal/launch"
)

// exitCode finds a container's exit code in an engine's message: Argo's
// "Error (exit code 3)", Tekton's `"step-run" exited with code 3`.
var exitCode = regexp.MustCompile(`exit(?:ed with)? code (\d+)`)

// ExplainExit adds what the launcher's own exit codes mean to an
// engine's message about a step whose container failed; other messages
// are returned as they are.
func ExplainExit(msg string) string {
	m := exitCode.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	switch code, _ := strconv.Atoi(m[1]); code {
	case launch.ExitUsage:
		return msg + ": the launcher was called wrongly (sluice-exec version?)"
	case launch.ExitUnavailable:
		return msg + ": the store could not be opened, or an input not fetched"
	case launch.ExitOutputs:
		return msg + ": the outputs could not be read, stored or written"
	case launch.ExitTimeout:
		return msg + ": the step's timeout stopped the command"
	case launch.ExitNotRun:
		return msg + ": the command could not be started"
	}
	return msg
}
