package tekton

import (
	"context"
	"errors"
	"fmt"

	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"knative.dev/pkg/apis"
)

// FeatureFlags are the entries of Tekton's feature-flags ConfigMap that
// the compiled objects need. Matrix (loops over one step) is a beta
// feature, on by default.
var FeatureFlags = map[string]string{
	"enable-api-fields": config.BetaAPIFields,
}

// Context returns ctx with Tekton's configuration for validation: the
// defaults, with FeatureFlags and the given overrides of the
// feature-flags and config-defaults ConfigMaps.
func Context(ctx context.Context, featureFlags, defaults map[string]string) (context.Context, error) {
	ff := map[string]string{}
	for k, v := range FeatureFlags {
		ff[k] = v
	}
	for k, v := range featureFlags {
		ff[k] = v
	}
	flags, err := config.NewFeatureFlagsFromMap(ff)
	if err != nil {
		return nil, err
	}
	defs, err := config.NewDefaultsFromMap(defaults)
	if err != nil {
		return nil, err
	}
	cfg := config.FromContextOrDefaults(ctx)
	cfg.FeatureFlags = flags
	cfg.Defaults = defs
	return config.ToContext(ctx, cfg), nil
}

// Validate runs Tekton's own defaulting and validation, as its admission
// webhook does on create, on copies of the objects. Set the cluster's
// configuration in ctx with Context; without it, Tekton's defaults apply.
func Validate(ctx context.Context, o *Objects) error {
	ctx = apis.WithinCreate(ctx)
	var errs []error
	check := func(kind, name string, fe *apis.FieldError) {
		// Validate returns a typed nil *FieldError for no error: compare
		// before it becomes an error interface.
		if fe != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", kind, name, fe))
		}
	}
	for _, t := range o.Tasks {
		t = t.DeepCopy()
		t.SetDefaults(ctx)
		check("Task", t.Name, t.Validate(ctx))
	}
	if p := o.Pipeline; p != nil {
		p = p.DeepCopy()
		p.SetDefaults(ctx)
		check("Pipeline", p.Name, p.Validate(ctx))
	}
	if r := o.PipelineRun; r != nil {
		r = r.DeepCopy()
		if r.Name == "" && r.GenerateName != "" {
			// The API server names the run before admission.
			r.Name = r.GenerateName + "xxxxx"
		}
		r.SetDefaults(ctx)
		check("PipelineRun", r.GenerateName, r.Validate(ctx))
	}
	return errors.Join(errs...)
}

var _ apis.Validatable = (*v1.PipelineRun)(nil)
