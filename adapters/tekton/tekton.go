package tekton

import (
	"fmt"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sluice-dev/sluice/ir"
)

// Emit says which objects Compile returns.
type Emit string

// The forms of output.
const (
	// EmitPipelineRun is one PipelineRun with the Pipeline and its Tasks
	// embedded: what to create for one run.
	EmitPipelineRun Emit = "pipelinerun"
	// EmitPipeline is separate Tasks, a Pipeline and a PipelineRun that
	// references the Pipeline: for pipelines kept in Git and applied once.
	EmitPipeline Emit = "pipeline"
)

// DefaultMaxMatrix is Tekton's default bound on the combinations of one
// matrix (default-max-matrix-combinations-count in config-defaults).
const DefaultMaxMatrix = 256

// Options are the choices Compile leaves to the user.
type Options struct {
	// Emit is EmitPipelineRun when empty.
	Emit Emit
	// Namespace of every object; empty leaves it to the client.
	Namespace string
	// ServiceAccount the steps' pods run as.
	ServiceAccount string
	// LauncherImage holds sluice-exec at /sluice-exec. Required.
	LauncherImage string
	// Cache is the store every launcher uses (s3://bucket/prefix?…). When
	// empty, the launchers read SLUICE_CACHE from their environment (set
	// it in a pod template).
	Cache string
	// CacheSecret names a Secret holding the store's credentials (files
	// accesskey, secretkey); it is mounted into every launcher and named
	// in the store's URL (credentials=DIR).
	CacheSecret string
	// MaxMatrix bounds the iterations of one loop, as the cluster's
	// default-max-matrix-combinations-count does; DefaultMaxMatrix when 0.
	MaxMatrix int
	// CachePlugin makes each cacheable step a CachedStep custom task
	// (plugins/tekton/cachedstep), which Sluice's controller completes
	// from the cache without a pod, or runs as a TaskRun on a miss. The
	// controller must be installed (sluice install tekton-plugin). It
	// needs Cache: the CachedStep carries the store to the controller and
	// to the step's pod.
	CachePlugin bool
}

// Objects are the compiled objects.
type Objects struct {
	// Tasks are set for EmitPipeline, in the order the Pipeline uses them.
	Tasks []*v1.Task
	// Pipeline is set for EmitPipeline.
	Pipeline *v1.Pipeline
	// PipelineRun runs the pipeline: with the Pipeline embedded, or
	// referencing Pipeline.
	PipelineRun *v1.PipelineRun
}

// List returns the objects in the order to create them.
func (o *Objects) List() []runtime.Object {
	var out []runtime.Object
	for _, t := range o.Tasks {
		out = append(out, t)
	}
	if o.Pipeline != nil {
		out = append(out, o.Pipeline)
	}
	if o.PipelineRun != nil {
		out = append(out, o.PipelineRun)
	}
	return out
}

func (o *Options) check() error {
	var bad []string
	switch o.Emit {
	case "", EmitPipelineRun, EmitPipeline:
	default:
		bad = append(bad, fmt.Sprintf("emit %q: want %s or %s", o.Emit, EmitPipelineRun, EmitPipeline))
	}
	if o.LauncherImage == "" {
		bad = append(bad, "the launcher image is required")
	}
	// These reach Tekton as they are, in fields it substitutes.
	for _, f := range []struct{ name, v string }{
		{"launcher image", o.LauncherImage}, {"cache URL", o.Cache},
	} {
		if strings.Contains(f.v, "$(") {
			bad = append(bad, fmt.Sprintf("the %s %q holds \"$(\", which Tekton would substitute", f.name, f.v))
		}
	}
	if o.CachePlugin && o.Cache == "" {
		// A PipelineRun's pod templates never reach a CustomRun's TaskRun,
		// so SLUICE_CACHE cannot be set in one instead.
		bad = append(bad, "the cache plugin needs the store's URL (--cache)")
	}
	if o.MaxMatrix < 0 {
		bad = append(bad, "the bound on matrix combinations must not be negative")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrOptions, strings.Join(bad, "; "))
	}
	return nil
}

// cacheURL is the store's URL as the launchers get it: with the
// credentials directory named when a Secret holds them.
func (o *Options) cacheURL() string {
	if o.Cache == "" || o.CacheSecret == "" {
		return o.Cache
	}
	sep := "?"
	if strings.Contains(o.Cache, "?") {
		sep = "&"
	}
	return o.Cache + sep + "credentials=" + credentialsDir
}

// Compile translates a validated pipeline, with its parameters' values
// (ir.Pipeline.ResolveParams), into Tekton objects. Parameters are fixed
// at compile time: their values travel inside the objects, so a Tekton
// parameter can never re-substitute one. A pipeline that uses what Tekton
// cannot express returns an ir.List of the places, each wrapping
// ErrUnsupported or ErrLimit.
func Compile(p *ir.Pipeline, params map[string]ir.Value, opts Options) (*Objects, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.Emit == "" {
		opts.Emit = EmitPipelineRun
	}
	if opts.MaxMatrix == 0 {
		opts.MaxMatrix = DefaultMaxMatrix
	}
	c := newCompiler(p, params, opts)
	c.run()
	if err := c.errs.Err(); err != nil {
		return nil, err
	}
	return c.objects()
}
