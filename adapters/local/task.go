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

// resolver gives the values of the placeholders that stand for values;
// placeholders that stand for paths are left (ok false) for step.Execute.
// inputs holds the step's resolved input parameters, nil while they are
// being resolved.
func (r *run) resolver(n *ir.Node, sc *scope, inputs map[string]string) func(ir.Ref) (string, error) {
	full := r.partial(n, sc, inputs)
	return func(ref ir.Ref) (string, error) {
		v, ok, err := full(ref)
		if err == nil && !ok {
			err = fmt.Errorf("${{ %s }} has no value here", ref)
		}
		return v, err
	}
}

func (r *run) partial(n *ir.Node, sc *scope, inputs map[string]string) func(ir.Ref) (string, bool, error) {
	return func(ref ir.Ref) (string, bool, error) {
		switch ref.Kind {
		case ir.RefParam:
			v, ok := r.params[ref.Name]
			if !ok {
				return "", false, fmt.Errorf("parameter %q has no value", ref.Name)
			}
			return v.String(), true, nil
		case ir.RefInputParam:
			v, ok := inputs[ref.Name]
			if !ok {
				return "", false, fmt.Errorf("${{ %s }} has no value yet", ref)
			}
			return v, true, nil
		case ir.RefStepParam:
			o := sc.get(ref.Step)
			if o == nil || o.params == nil {
				return "", false, fmt.Errorf("${{ %s }}: step %s has produced no outputs", ref, ref.Step)
			}
			v, ok := o.params[ref.Name]
			if !ok {
				return "", false, fmt.Errorf("${{ %s }}: step %s has no output %q", ref, ref.Step, ref.Name)
			}
			return v, true, nil
		case ir.RefItem:
			if sc.item == nil {
				return "", false, fmt.Errorf("${{ %s }} outside forEach", ref)
			}
			if ref.Name == "" {
				return sc.item.String(), true, nil
			}
			f, ok := sc.item.Field(ref.Name)
			if !ok {
				return "", false, fmt.Errorf("${{ %s }}: the item %s has no field %q", ref, truncate(sc.item.String()), ref.Name)
			}
			return f.String(), true, nil
		case ir.RefPipelineName:
			return r.p.Metadata.Name, true, nil
		case ir.RefPipelineRunID:
			return r.opts.RunID, true, nil
		case ir.RefPipelineStatus:
			return r.status, true, nil
		}
		return "", false, nil // a path: resolved where the step runs
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// task resolves a step for one execution.
func (r *run) task(n *ir.Node, sc *scope, name string) (*step.Task, error) {
	s := n.Step
	t := &step.Task{
		Pipeline:   r.p.Metadata.Name,
		Run:        r.opts.RunID,
		Step:       s.Name,
		ID:         name,
		Image:      s.Image,
		WorkingDir: s.WorkingDir,
		Cache:      s.Cache.IsEnabled(),
	}
	if s.Outputs != nil {
		t.Outputs = *s.Outputs
	}
	if s.Cache != nil {
		t.Salt = s.Cache.Salt
		if s.Cache.TTL != nil {
			t.TTL = s.Cache.TTL.Duration
		}
	}
	if s.Timeout != nil {
		t.Timeout = s.Timeout.Duration
	}
	arts := map[string]cache.ArtifactRef{}
	artifact := func(ref ir.Ref) error {
		o := sc.get(ref.Step)
		if o == nil || o.artifacts == nil {
			return fmt.Errorf("${{ %s }}: step %s has produced no artifacts", ref, ref.Step)
		}
		a, ok := o.artifacts[ref.Name]
		if !ok {
			return fmt.Errorf("${{ %s }}: step %s did not produce it", ref, ref.Step)
		}
		arts[ref.String()] = a
		return nil
	}
	inputs := map[string]string{}
	if s.Inputs != nil {
		for _, ip := range s.Inputs.Params {
			text := ip.Value
			if ip.From != "" {
				text = ip.From
			}
			v, err := ir.Expand(text, r.resolver(n, sc, nil))
			if err != nil {
				return nil, fmt.Errorf("inputs.params.%s: %w", ip.Name, err)
			}
			inputs[ip.Name] = v
		}
		for _, ia := range s.Inputs.Artifacts {
			ref, err := ir.ParseRef(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(ia.From), "${{"), "}}"))
			if err != nil {
				return nil, err
			}
			if err := artifact(ref); err != nil {
				return nil, err
			}
			arts["inputs.artifacts."+ia.Name] = arts[ref.String()]
			delete(arts, ref.String())
		}
		if len(inputs) > 0 {
			t.Params = inputs
		}
	}
	resolve := r.partial(n, sc, inputs)
	text := func(s string) (step.Text, error) {
		tmpl, err := ir.ParseTemplate(s)
		if err != nil {
			return nil, err
		}
		for _, ref := range tmpl.Refs() {
			if ref.Kind == ir.RefStepArtifact {
				if err := artifact(ref); err != nil {
					return nil, err
				}
			}
		}
		return step.Resolve(tmpl, resolve)
	}
	for _, c := range s.Command {
		x, err := text(c)
		if err != nil {
			return nil, fmt.Errorf("command: %w", err)
		}
		t.Command = append(t.Command, x)
	}
	for _, a := range s.Args {
		x, err := text(a)
		if err != nil {
			return nil, fmt.Errorf("args: %w", err)
		}
		t.Args = append(t.Args, x)
	}
	for _, e := range s.Env {
		env := step.Env{Name: e.Name, Secret: e.Secret}
		if e.Secret == nil {
			x, err := text(e.Value)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			env.Value = x
		}
		t.Env = append(t.Env, env)
	}
	if len(arts) > 0 {
		t.Artifacts = arts
	}
	return t, nil
}

// execute runs one command step with its retries.
func (r *run) execute(ctx context.Context, n *ir.Node, sc *scope, name string) *outcome {
	fail := func(attempt int, err error) *outcome {
		r.failed.Store(true)
		r.event(name, report.Failed, attempt, err.Error())
		return &outcome{state: report.Failed, msg: err.Error()}
	}
	t, err := r.task(n, sc, name)
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
