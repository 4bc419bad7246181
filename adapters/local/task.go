package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/internal/step"
	"github.com/sluice-dev/sluice/ir"
)

// values gives the placeholders of node n their values in scope sc.
type values struct {
	r  *run
	n  *ir.Node
	sc *scope
}

var _ step.Values = values{}

// Value implements step.Values.
func (v values) Value(ref ir.Ref) (string, error) {
	switch ref.Kind {
	case ir.RefParam:
		val, ok := v.r.params[ref.Name]
		if !ok {
			return "", fmt.Errorf("parameter %q has no value", ref.Name)
		}
		return val.String(), nil
	case ir.RefStepParam:
		o := v.sc.get(ref.Step)
		if o == nil || o.params == nil {
			return "", fmt.Errorf("${{ %s }}: step %s has produced no outputs", ref, ref.Step)
		}
		val, ok := o.params[ref.Name]
		if !ok {
			return "", fmt.Errorf("${{ %s }}: step %s has no output %q", ref, ref.Step, ref.Name)
		}
		return val, nil
	case ir.RefItem:
		item := v.sc.item
		if item == nil {
			return "", fmt.Errorf("${{ %s }} outside forEach", ref)
		}
		if ref.Name == "" {
			return item.String(), nil
		}
		f, ok := item.Field(ref.Name)
		if !ok {
			return "", fmt.Errorf("${{ %s }}: the item %s has no field %q", ref, truncate(item.String()), ref.Name)
		}
		return f.String(), nil
	case ir.RefPipelineName:
		return v.r.p.Metadata.Name, nil
	case ir.RefPipelineRunID:
		return v.r.opts.RunID, nil
	case ir.RefPipelineStatus:
		return v.r.status, nil
	}
	return "", fmt.Errorf("${{ %s }} has no value here", ref)
}

// Artifact implements step.Values.
func (v values) Artifact(ref ir.Ref) (cache.ArtifactRef, error) {
	o := v.sc.get(ref.Step)
	if o == nil || o.artifacts == nil {
		return cache.ArtifactRef{}, fmt.Errorf("${{ %s }}: step %s has produced no artifacts", ref, ref.Step)
	}
	a, ok := o.artifacts[ref.Name]
	if !ok {
		return cache.ArtifactRef{}, fmt.Errorf("${{ %s }}: step %s did not produce it", ref, ref.Step)
	}
	return a, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// execute runs one command step with its retries.
func (r *run) execute(ctx context.Context, n *ir.Node, sc *scope, name string) *outcome {
	fail := func(attempt int, err error) *outcome {
		r.failed.Store(true)
		r.event(name, report.Failed, attempt, err.Error())
		return &outcome{state: report.Failed, msg: err.Error()}
	}
	t, err := step.Bind(n.Step, r.p.Metadata.Name, r.opts.RunID, name, values{r, n, sc})
	if err != nil {
		return fail(1, err)
	}
	stepDir := filepath.Join(r.dir, "steps", name)
	if err := os.MkdirAll(stepDir, 0o755); err != nil {
		return fail(1, err)
	}
	if err := writeJSON(filepath.Join(stepDir, "task.json"), t); err != nil {
		return fail(1, err)
	}
	r.mu.Lock()
	r.keys[name] = t.Key().String()
	r.mu.Unlock()
	limit := 0
	var backoff *ir.Backoff
	if n.Step.Retry != nil {
		limit, backoff = n.Step.Retry.Limit, n.Step.Retry.Backoff
	}
	work := filepath.Join(r.dir, "work", name)
	for attempt := 1; ; attempt++ {
		res, err := r.attempt(ctx, t, name, attempt, work, stepDir)
		if err == nil {
			st := report.Succeeded
			if res.Cached {
				st = report.Cached
			}
			_ = writeJSON(filepath.Join(stepDir, "outputs.json"), res)
			r.mu.Lock()
			r.outputs[name] = res.Params
			r.mu.Unlock()
			r.event(name, st, attempt, strings.Join(res.Warnings, "; "))
			return &outcome{state: st, params: res.Params, artifacts: res.Artifacts}
		}
		if ctx.Err() != nil {
			return fail(attempt, fmt.Errorf("interrupted"))
		}
		var verr *step.VerifyError
		if attempt > limit || errors.As(err, &verr) {
			return fail(attempt, err)
		}
		delay := backoff.Delay(attempt)
		r.event(name, report.Retrying, attempt, fmt.Sprintf("%v; retry %d of %d in %s", err, attempt, limit, delay))
		select {
		case <-ctx.Done():
			return fail(attempt, fmt.Errorf("interrupted"))
		case <-time.After(delay):
		}
	}
}

func (r *run) attempt(ctx context.Context, t *step.Task, name string, attempt int, work, stepDir string) (*step.Result, error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.sem }()
	if attempt == 1 {
		if res, ok := r.exec.Hit(ctx, t); ok {
			return res, nil
		}
	}
	r.event(name, report.Running, attempt, "")
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if attempt > 1 {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	log, err := os.OpenFile(filepath.Join(stepDir, "log"), flags, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	if attempt > 1 {
		fmt.Fprintf(log, "--- sluice: attempt %d ---\n", attempt)
	}
	return r.exec.Execute(ctx, t, work, log, log)
}
