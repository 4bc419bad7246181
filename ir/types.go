package ir

import (
	"encoding/json"
	"fmt"
	"time"
)

// APIVersion and Kind identify a Sluice pipeline file.
const (
	APIVersion = "sluice.dev/v1alpha1"
	Kind       = "Pipeline"
)

// Pipeline is one pipeline file: what runs, in which order, with which inputs.
type Pipeline struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`

	// src remembers where every node of the file came from; nil for a
	// pipeline built in code.
	src   *source
	graph *Graph
}

// Metadata names a pipeline and carries labels copied onto engine objects.
type Metadata struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Spec is the body of a pipeline.
type Spec struct {
	Params   []Param `json:"params,omitempty"`
	Defaults *Step   `json:"defaults,omitempty"`
	Steps    []Step  `json:"steps"`
	OnExit   []Step  `json:"onExit,omitempty"`
}

// ParamType is the type of a parameter or an output parameter.
type ParamType string

// The parameter types of IR.md.
const (
	TypeString ParamType = "string"
	TypeInt    ParamType = "int"
	TypeFloat  ParamType = "float"
	TypeBool   ParamType = "bool"
	TypeList   ParamType = "list"
	TypeObject ParamType = "object"
)

// ParamTypes lists every ParamType, in the order the docs give them.
var ParamTypes = []ParamType{TypeString, TypeInt, TypeFloat, TypeBool, TypeList, TypeObject}

// Param is a pipeline input, overridable at run time.
type Param struct {
	Name        string    `json:"name"`
	Type        ParamType `json:"type,omitempty"`
	Default     *Value    `json:"default,omitempty"`
	Description string    `json:"description,omitempty"`
}

// Step is one unit of work: a container command, or a group of steps.
// The same type describes spec.defaults, where name, group, after, when,
// forEach, inputs and outputs may not be set.
type Step struct {
	Name         string            `json:"name,omitempty"`
	Description  string            `json:"description,omitempty"`
	Image        string            `json:"image,omitempty"`
	Command      []string          `json:"command,omitempty"`
	Args         []string          `json:"args,omitempty"`
	WorkingDir   string            `json:"workingDir,omitempty"`
	Env          []EnvVar          `json:"env,omitempty"`
	Inputs       *Inputs           `json:"inputs,omitempty"`
	Outputs      *Outputs          `json:"outputs,omitempty"`
	ForEach      *ForEach          `json:"forEach,omitempty"`
	When         string            `json:"when,omitempty"`
	Resources    *Resources        `json:"resources,omitempty"`
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	Tolerations  []Toleration      `json:"tolerations,omitempty"`
	Volumes      []Volume          `json:"volumes,omitempty"`
	Retry        *Retry            `json:"retry,omitempty"`
	Timeout      *Duration         `json:"timeout,omitempty"`
	Cache        *Cache            `json:"cache,omitempty"`
	After        []string          `json:"after,omitempty"`
	Group        *Group            `json:"group,omitempty"`
}

// IsGroup reports whether the step is a group of steps rather than a command.
func (s *Step) IsGroup() bool { return s.Group != nil }

// EnvVar is an environment variable: a literal value (placeholders allowed)
// or a reference to a Kubernetes Secret key. A secret's value never enters
// a cache key, a log or a manifest: only its name, key and version do.
type EnvVar struct {
	Name   string     `json:"name"`
	Value  string     `json:"value,omitempty"`
	Secret *SecretRef `json:"secret,omitempty"`
}

// SecretRef names one key of a Secret. Version is the user's statement of
// which revision of the secret a step depends on; changing it changes the
// cache key without the value ever being read.
type SecretRef struct {
	Name    string `json:"name"`
	Key     string `json:"key"`
	Version string `json:"version,omitempty"`
}

// Inputs are the values and artifacts a step receives.
type Inputs struct {
	Params    []InputParam    `json:"params,omitempty"`
	Artifacts []InputArtifact `json:"artifacts,omitempty"`
}

// InputParam is a named input value: a literal with placeholders (Value) or
// a single placeholder (From) whose value is taken as is.
type InputParam struct {
	Name  string    `json:"name"`
	Type  ParamType `json:"type,omitempty"`
	Value string    `json:"value,omitempty"`
	From  string    `json:"from,omitempty"`
}

// InputArtifact is a file or directory produced by another step, made
// available at the path that ${{ inputs.artifacts.NAME }} names.
type InputArtifact struct {
	Name string `json:"name"`
	From string `json:"from"`
}

// Outputs are what a step produces.
type Outputs struct {
	Params    []OutputParam    `json:"params,omitempty"`
	Artifacts []OutputArtifact `json:"artifacts,omitempty"`
}

// OutputParam is a value the step writes into the file that
// ${{ outputs.params.NAME }} names.
type OutputParam struct {
	Name string    `json:"name"`
	Type ParamType `json:"type,omitempty"`
}

// OutputArtifact is a file or a directory the step writes at the path that
// ${{ outputs.artifacts.NAME }} names.
type OutputArtifact struct {
	Name string `json:"name"`
}

// ForEach runs a step (or a group) once per element of Items: a literal
// list, or a single placeholder whose value is a JSON list.
type ForEach struct {
	Items       *Value `json:"items"`
	Parallelism int    `json:"parallelism,omitempty"`
}

// Resources are the compute a step asks for. Quantities are Kubernetes
// quantity strings ("500m", "2Gi").
type Resources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
	GPUs     *GPUs             `json:"gpus,omitempty"`
}

// GPUs asks for Count devices of an extended resource.
type GPUs struct {
	Count    int    `json:"count"`
	Resource string `json:"resource,omitempty"`
}

// DefaultGPUResource is the extended resource GPUs ask for when none is named.
const DefaultGPUResource = "nvidia.com/gpu"

// Toleration lets a step's pod schedule onto tainted nodes.
type Toleration struct {
	Key               string `json:"key,omitempty"`
	Operator          string `json:"operator,omitempty"`
	Value             string `json:"value,omitempty"`
	Effect            string `json:"effect,omitempty"`
	TolerationSeconds *int64 `json:"tolerationSeconds,omitempty"`
}

// Volume is mounted into a step's container at MountPath. Exactly one
// source is set.
type Volume struct {
	Name                  string                 `json:"name"`
	MountPath             string                 `json:"mountPath"`
	ReadOnly              bool                   `json:"readOnly,omitempty"`
	EmptyDir              *EmptyDirVolume        `json:"emptyDir,omitempty"`
	Secret                *SecretVolume          `json:"secret,omitempty"`
	ConfigMap             *ConfigMapVolume       `json:"configMap,omitempty"`
	PersistentVolumeClaim *PersistentVolumeClaim `json:"persistentVolumeClaim,omitempty"`
}

// EmptyDirVolume is scratch space that lives as long as the step.
type EmptyDirVolume struct {
	Medium    string `json:"medium,omitempty"`
	SizeLimit string `json:"sizeLimit,omitempty"`
}

// SecretVolume mounts a Secret's keys as files.
type SecretVolume struct {
	SecretName string `json:"secretName"`
}

// ConfigMapVolume mounts a ConfigMap's keys as files.
type ConfigMapVolume struct {
	Name string `json:"name"`
}

// PersistentVolumeClaim mounts an existing claim.
type PersistentVolumeClaim struct {
	ClaimName string `json:"claimName"`
}

// Retry re-runs a failed step up to Limit more times.
type Retry struct {
	Limit   int      `json:"limit"`
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff spaces retries: Duration, then Duration×Factor, … capped at Max.
type Backoff struct {
	Duration *Duration `json:"duration,omitempty"`
	Factor   *float64  `json:"factor,omitempty"`
	Max      *Duration `json:"max,omitempty"`
}

// Delay is the wait before retry number n (1-based).
func (b *Backoff) Delay(n int) time.Duration {
	if b == nil || b.Duration == nil {
		return 0
	}
	d := float64(b.Duration.Duration)
	f := 2.0
	if b.Factor != nil {
		f = *b.Factor
	}
	for i := 1; i < n; i++ {
		d *= f
		if b.Max != nil && d > float64(b.Max.Duration) {
			break
		}
	}
	if b.Max != nil && d > float64(b.Max.Duration) {
		d = float64(b.Max.Duration)
	}
	return time.Duration(d)
}

// Cache controls step caching. A nil Enabled means enabled.
type Cache struct {
	Enabled *bool     `json:"enabled,omitempty"`
	Salt    string    `json:"salt,omitempty"`
	TTL     *Duration `json:"ttl,omitempty"`
}

// IsEnabled reports whether caching applies to a step with this setting.
func (c *Cache) IsEnabled() bool { return c == nil || c.Enabled == nil || *c.Enabled }

// Group is a nested set of steps; a group's when and forEach apply to all
// of it.
type Group struct {
	Steps []Step `json:"steps"`
}

// Duration is a time.Duration written as Go writes it ("90s", "1h30m").
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"90s\"")
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}
