package cachedstep

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The custom task's type: a pipeline task whose taskSpec has this
// apiVersion and kind makes Tekton create a CustomRun for it.
const (
	Group      = "sluice.dev"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
	Kind       = "CachedStep"
)

// Spec is a CachedStep: one step's TaskRun as the pipeline would have
// had it, less what Tekton passes in the CustomRun itself.
type Spec struct {
	// TaskSpec is the step's Task, as the adapter embeds it without the
	// plugin; or TaskRef names the Task (--emit pipeline). One of them.
	TaskSpec *v1.TaskSpec `json:"taskSpec,omitempty"`
	TaskRef  *v1.TaskRef  `json:"taskRef,omitempty"`
	// PodTemplate is the pod template of the step's TaskRun: the store's
	// URL (SLUICE_CACHE), the credentials volume, the node selector and
	// tolerations. A PipelineRun's pod templates reach its TaskRuns only,
	// never a CustomRun, so the step carries its own.
	PodTemplate *pod.PodTemplate `json:"podTemplate,omitempty"`
	// CacheSecret names the Secret with the store's credentials, in the
	// CustomRun's namespace: the controller reads it to look the step up
	// (the step's pod mounts it through PodTemplate's volumes).
	CacheSecret string `json:"cacheSecret,omitempty"`
	// Loop, when set, makes the CachedStep a loop over the step: the
	// controller runs the Task once per item, as Tekton would run the
	// TaskRuns of a matrix, and completes with their results aggregated.
	Loop *Loop `json:"loop,omitempty"`
}

// Validate reports what keeps a spec from being run.
func (s *Spec) Validate() error {
	switch {
	case s.TaskSpec == nil && s.TaskRef == nil:
		return errors.New("neither taskSpec nor taskRef")
	case s.TaskSpec != nil && s.TaskRef != nil:
		return errors.New("both taskSpec and taskRef: give one")
	case s.TaskRef != nil && s.TaskRef.Name == "":
		return errors.New("taskRef without a name")
	}
	if s.Loop != nil {
		if err := s.Loop.Validate(); err != nil {
			return fmt.Errorf("loop: %w", err)
		}
	}
	return nil
}

// Embedded is the pipeline task's taskSpec that runs spec as a CachedStep.
func Embedded(spec *Spec) (*v1.EmbeddedTask, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encode CachedStep: %w", err)
	}
	return &v1.EmbeddedTask{
		TypeMeta: runtime.TypeMeta{APIVersion: APIVersion, Kind: Kind},
		Spec:     runtime.RawExtension{Raw: raw},
	}, nil
}

// OfPipelineTask returns the CachedStep a pipeline task runs, or nil when
// it runs none.
func OfPipelineTask(pt *v1.PipelineTask) (*Spec, error) {
	if pt.TaskSpec == nil || !is(pt.TaskSpec.APIVersion, pt.TaskSpec.Kind) {
		return nil, nil
	}
	return decode(pt.TaskSpec.Spec.Raw)
}

// Is reports whether a CustomRun runs a CachedStep, embedded or by
// reference.
func Is(cr *v1beta1.CustomRun) bool {
	if s := cr.Spec.CustomSpec; s != nil {
		return is(s.APIVersion, s.Kind)
	}
	if r := cr.Spec.CustomRef; r != nil {
		return is(r.APIVersion, string(r.Kind))
	}
	return false
}

func is(apiVersion, kind string) bool { return apiVersion == APIVersion && kind == Kind }

// Of returns the CachedStep a CustomRun runs. A CachedStep is embedded
// (customSpec): there is no CachedStep resource to refer to.
func Of(cr *v1beta1.CustomRun) (*Spec, error) {
	if cr.Spec.CustomSpec == nil {
		return nil, fmt.Errorf("a %s is embedded in the pipeline task (taskSpec with apiVersion %s), not referenced (taskRef)", Kind, APIVersion)
	}
	return decode(cr.Spec.CustomSpec.Spec.Raw)
}

func decode(raw []byte) (*Spec, error) {
	var s Spec
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: no spec", Kind)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s spec: %w", Kind, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s spec: %w", Kind, err)
	}
	return &s, nil
}

// Reasons of a CachedStep CustomRun's Succeeded condition, besides those
// it takes from its TaskRun ("Running", "Succeeded", "Failed", …) and the
// ones Tekton defines for custom tasks (v1beta1.CustomRunReasonCancelled,
// CustomRunReasonTimedOut).
const (
	// ReasonCached: the step's outputs were in the cache; no pod ran.
	ReasonCached = "Cached"
	// ReasonLookingUp: the controller is looking the step up.
	ReasonLookingUp = "LookingUp"
	// ReasonToBeRetried: an attempt failed and another follows.
	ReasonToBeRetried = "ToBeRetried"
	// ReasonInvalid: the CustomRun cannot be run at all (no Task).
	ReasonInvalid = "InvalidCachedStep"
)

// LabelCustomRun is set on the TaskRun a CachedStep runs on a cache miss,
// to the CustomRun's name (Tekton's own key for a CustomRun).
const LabelCustomRun = pipeline.CustomRunKey

// Lookup says what a cache lookup found.
type Lookup string

// The outcomes of a lookup.
const (
	Hit  Lookup = "hit"
	Miss Lookup = "miss" // no entry: the step runs
	// Fault is a miss for a reason other than a missing entry: the store
	// is down or slow, the Secret unreadable, the request malformed. The
	// step runs as it would without the plugin.
	Fault Lookup = "fault"
)

// Status is what the controller records of one attempt in the CustomRun's
// status.extraFields (each of retriesStatus has its attempt's); for a
// loop, the records of its iterations.
type Status struct {
	Lookup Lookup `json:"lookup,omitempty"`
	// Key is the step's cache key, when the request could be bound.
	Key string `json:"key,omitempty"`
	// Message is the lookup's account: the hit, or why it missed.
	Message string `json:"message,omitempty"`
	// TaskRun is the TaskRun that runs the step after a miss.
	TaskRun string `json:"taskRun,omitempty"`
	// Iterations are, for a loop, the records of its iterations, in the
	// order of its items; each holds its own attempts' lookups.
	Iterations []Iteration `json:"iterations,omitempty"`
}

// StatusOf decodes the controller's record of an attempt; zero when
// there is none.
func StatusOf(s *v1beta1.CustomRunStatus) Status {
	var st Status
	_ = s.DecodeExtraFields(&st) // a record that is not ours is none
	return st
}
