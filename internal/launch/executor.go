package launch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
)

// podExecutor is step.Process as it runs in the step's own container: the
// command starts from the container's environment (the image's ENV and
// what Kubernetes injects, such as secretKeyRef variables), as a
// container runtime would give it, instead of the host process executor's
// bare PATH and HOME. It also records how the run went, so that Run can
// tell the command's failures from the launcher's.
type podExecutor struct {
	step.Process
	environ []string

	started  bool // Run was called: the inputs are in place
	notRun   bool // the command could not be started
	timedOut bool // the step's timeout stopped the command
}

var _ step.Executor = (*podExecutor)(nil)

// Env implements step.Executor.
func (e *podExecutor) Env(string) []string { return slices.Clone(e.environ) }

// Run implements step.Executor.
func (e *podExecutor) Run(ctx context.Context, c *step.Cmd) (int, error) {
	e.started = true
	code, err := e.Process.Run(ctx, c)
	switch {
	case err == nil:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		e.timedOut = true
	case ctx.Err() == nil:
		e.notRun = true
	}
	return code, err
}

// ownEnv are the launcher's own variables, which the step does not see.
var ownEnv = []string{SpecEnv, CacheEnv}

// stepEnviron is the container's environment less the launcher's own
// variables.
func stepEnviron(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(ownEnv, name) {
			out = append(out, kv)
		}
	}
	return out
}

// envSecrets finds a secret's value in the container's environment, under
// the name of the step's variable that takes it: the adapter maps each
// secret variable into the container with a secretKeyRef, so its value
// never appears in a manifest, an engine parameter or the spec.
func envSecrets(s *ir.Step, environ []string) step.Secrets {
	vars := map[string]string{}
	for _, kv := range environ {
		if name, val, ok := strings.Cut(kv, "="); ok {
			vars[name] = val
		}
	}
	names := map[ir.SecretRef]string{}
	for _, e := range s.Env {
		if e.Secret != nil {
			names[*e.Secret] = e.Name
		}
	}
	return func(ref ir.SecretRef) (string, error) {
		name, ok := names[ref]
		if !ok {
			return "", fmt.Errorf("secret %s/%s: no variable of the step takes it", ref.Name, ref.Key)
		}
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("secret %s/%s: the container has no variable %s (the adapter maps it with a secretKeyRef)", ref.Name, ref.Key, name)
		}
		return v, nil
	}
}
