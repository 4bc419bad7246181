package ir

//go:generate sh -c "go run ../cmd/sluice schema > ../docs/pipeline.schema.json"

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// SchemaDialect is the JSON Schema draft that Schema writes.
const SchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// durationPattern is what parseDuration accepts: a non-negative Go
// duration ("90s", "1h30m", "1.5h", "0").
const durationPattern = `^\+?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// Schema returns the JSON Schema (draft 2020-12) of the pipeline file,
// for editors (yaml-language-server) and other tools. It is generated from
// the Go types by reflection, walking the same json tags that Decode walks,
// so it cannot drift from what the parser accepts:
//
//   - a struct is a $defs entry named after its Go type, closed with
//     additionalProperties: false, as Decode rejects unknown fields;
//   - a field without omitempty is required; every step in a list needs a
//     name, and spec.defaults may not set the fields that place one step;
//   - a string field also accepts a number or a boolean, which Decode takes
//     as written (args: [0.1]);
//   - Value is any JSON value, Duration a string with a pattern, ParamType
//     an enum of ParamTypes.
//
// Rules that need more than a field's shape (names, references, cycles)
// are left to Validate. The output is indented JSON with a stable key
// order: equal types give equal bytes.
func Schema() ([]byte, error) {
	g := &schemaGen{defs: map[string]*jsonSchema{}}
	ref, err := g.schema(reflect.TypeFor[Pipeline]())
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	root := &jsonSchema{
		Schema:      SchemaDialect,
		Comment:     "Generated from the Go types of package ir by `sluice schema`. DO NOT EDIT.",
		Title:       "Sluice pipeline (" + APIVersion + ", kind " + Kind + ")",
		Description: schemaDocs["Pipeline"],
		Ref:         ref.Ref,
		Defs:        g.defs,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return buf.Bytes(), nil
}

// jsonSchema is the part of JSON Schema that Schema uses. Field order is
// the key order of the output.
type jsonSchema struct {
	Schema               string                 `json:"$schema,omitempty"`
	Comment              string                 `json:"$comment,omitempty"`
	Title                string                 `json:"title,omitempty"`
	Description          string                 `json:"description,omitempty"`
	Ref                  string                 `json:"$ref,omitempty"`
	Type                 any                    `json:"type,omitempty"` // a name or a list of names
	Const                string                 `json:"const,omitempty"`
	Enum                 []string               `json:"enum,omitempty"`
	Pattern              string                 `json:"pattern,omitempty"`
	Properties           properties             `json:"properties,omitempty"`
	Required             []string               `json:"required,omitempty"`
	AdditionalProperties any                    `json:"additionalProperties,omitempty"` // false or a schema
	Items                *jsonSchema            `json:"items,omitempty"`
	Defs                 map[string]*jsonSchema `json:"$defs,omitempty"` // encoding/json sorts the names
}

// properties keep the order of the struct's fields, which is the order
// the docs and the canonical encoding use. A value is a *jsonSchema, or
// false for a field that may not be set.
type properties []property

type property struct {
	name   string
	schema any
}

func (ps properties) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(p.name); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := enc.Encode(p.schema); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

type schemaGen struct {
	defs map[string]*jsonSchema
}

var (
	paramTypeType = reflect.TypeFor[ParamType]()
	stepType      = reflect.TypeFor[Step]()
)

// schema returns the schema of a value of type t: a $ref for named types
// (adding their $defs entry on first use), an inline schema otherwise.
func (g *schemaGen) schema(t reflect.Type) (*jsonSchema, error) {
	switch t {
	case valueType:
		return g.def(t, func() (*jsonSchema, error) { return &jsonSchema{}, nil })
	case durationType:
		return g.def(t, func() (*jsonSchema, error) {
			return &jsonSchema{Type: "string", Pattern: durationPattern}, nil
		})
	case paramTypeType:
		return g.def(t, func() (*jsonSchema, error) {
			enum := make([]string, len(ParamTypes))
			for i, pt := range ParamTypes {
				enum[i] = string(pt)
			}
			return &jsonSchema{Type: "string", Enum: enum}, nil
		})
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.Struct:
		return g.def(t, func() (*jsonSchema, error) { return g.object(t) })
	case reflect.Slice:
		items, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		if t.Elem() == stepType {
			// Only spec.defaults is a Step outside a list, and it has no name.
			items.Type, items.Required = "object", []string{fName}
		}
		return &jsonSchema{Type: "array", Items: items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%v: map keys must be strings", t)
		}
		elem, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return &jsonSchema{Type: "object", AdditionalProperties: elem}, nil
	case reflect.String:
		return &jsonSchema{Type: []string{"string", "number", "boolean"}}, nil
	case reflect.Int, reflect.Int64:
		return &jsonSchema{Type: "integer"}, nil
	case reflect.Float64:
		return &jsonSchema{Type: "number"}, nil
	case reflect.Bool:
		return &jsonSchema{Type: "boolean"}, nil
	}
	return nil, fmt.Errorf("%v: no JSON Schema for kind %v", t, t.Kind())
}

// def adds the $defs entry of a named type once, and returns a $ref to it.
func (g *schemaGen) def(t reflect.Type, build func() (*jsonSchema, error)) (*jsonSchema, error) {
	name := t.Name()
	ref := &jsonSchema{Ref: "#/$defs/" + name}
	if _, done := g.defs[name]; done {
		return ref, nil
	}
	g.defs[name] = nil // a recursive type (Step, Group) refers to itself
	s, err := build()
	if err != nil {
		return nil, err
	}
	s.Description = schemaDocs[name]
	g.defs[name] = s
	return ref, nil
}

// object is the schema of a struct: one property per json-tagged field.
func (g *schemaGen) object(t reflect.Type) (*jsonSchema, error) {
	s := &jsonSchema{Type: "object", AdditionalProperties: false}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		key := t.Name() + "." + name
		fs, err := g.schema(f.Type)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		fs.Description = schemaDocs[key]
		if c, ok := schemaConsts[key]; ok {
			fs.Type, fs.Const = "string", c
		}
		if e, ok := schemaEnums[key]; ok {
			fs.Type, fs.Enum = "string", e
		}
		if key == "Spec.defaults" {
			fs.Type, fs.Properties = "object", notInDefaultsSchema()
		}
		s.Properties = append(s.Properties, property{name, fs})
		if !hasOpt(opts, "omitempty") {
			s.Required = append(s.Required, name)
		}
	}
	return s, nil
}

// notInDefaultsSchema forbids the step fields that make no sense in
// spec.defaults (false: the property may not appear).
func notInDefaultsSchema() properties {
	ps := make(properties, len(notInDefaults))
	for i, f := range notInDefaults {
		ps[i] = property{f, false}
	}
	return ps
}

func hasOpt(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// schemaConsts are the fields with one allowed value.
var schemaConsts = map[string]string{
	"Pipeline.apiVersion": APIVersion,
	"Pipeline.kind":       Kind,
}

// schemaEnums are the string fields whose values Validate restricts to a
// list (ParamType has its own $defs entry).
var schemaEnums = map[string][]string{
	"Toleration.operator": operators,
	"Toleration.effect":   effects,
}

// schemaDocs are the descriptions editors show: "Type" for a $defs entry,
// "Type.field" for a property. They follow the doc comments in types.go and
// IR.md. TestSchemaDocs fails when a type or field has none, or an entry
// names nothing.
var schemaDocs = map[string]string{
	"Pipeline":            "A Sluice pipeline: what runs, in which order, with which inputs. One file holds one Pipeline.",
	"Pipeline.apiVersion": "The version of the pipeline format: " + APIVersion + ".",
	"Pipeline.kind":       "Always " + Kind + ".",
	"Pipeline.metadata":   "The pipeline's name and labels.",
	"Pipeline.spec":       "The body of the pipeline: parameters, defaults, steps and onExit steps.",

	"Metadata":        "Names a pipeline and carries labels copied onto engine objects.",
	"Metadata.name":   "The pipeline's name: a DNS-1123 label (lowercase letters, digits and '-'), at most 63 characters.",
	"Metadata.labels": "Kubernetes labels copied onto the Workflow or PipelineRun.",

	"Spec":          "The body of a pipeline.",
	"Spec.params":   "Pipeline inputs, overridable at run time (-p rows=5000) and read as ${{ params.NAME }}.",
	"Spec.defaults": "Any step field, applied to every step that does not set it. name, group, after, when, forEach, inputs and outputs belong to one step and may not be set here.",
	"Spec.steps":    "The steps of the pipeline. They run in the order their dependencies give: after, and the steps.S references in their fields.",
	"Spec.onExit":   "Steps that run after everything else, whatever happened; ${{ pipeline.status }} tells them how it went.",

	"ParamType": "The type of a parameter or an output parameter; list and object hold JSON.",

	"Param":             "A pipeline input, overridable at run time.",
	"Param.name":        "The parameter's name, read as ${{ params.NAME }}; matches [a-zA-Z_][a-zA-Z0-9_-]*.",
	"Param.type":        "The parameter's type: string (the default), int, float, bool, list or object.",
	"Param.default":     "The value used when none is given at run time; it must have the parameter's type.",
	"Param.description": "What the parameter is for.",

	"Value": "Any JSON value: a string, a number, a boolean, null, a list or an object. Numbers keep the text they are written with.",

	"Step":              "One unit of work: a container command, or a group of steps. A step in a list needs a name.",
	"Step.name":         "The step's name: a DNS-1123 label, unique in the pipeline (groups included).",
	"Step.description":  "What the step does.",
	"Step.image":        "The container image the command runs in (set it here or in spec.defaults).",
	"Step.command":      "The command to run, as a list (no shell unless you call one). Placeholders ${{ … }} are expanded; all other text reaches the process unchanged.",
	"Step.args":         "Arguments appended to command. Placeholders ${{ … }} are expanded.",
	"Step.workingDir":   "The directory the command runs in.",
	"Step.env":          "Environment variables: literal values (placeholders allowed) or Secret keys.",
	"Step.inputs":       "The values and artifacts the step receives.",
	"Step.outputs":      "The values and artifacts the step produces.",
	"Step.forEach":      "Runs the step (or the group) once per element of items; ${{ item }} is the current element.",
	"Step.when":         "A condition (== != < <= > >= && || ! and placeholders, e.g. '${{ steps.stats.outputs.params.count }} > 100'). When false the step is skipped, and so are the steps that need its outputs.",
	"Step.resources":    "The CPU, memory and GPUs the step asks for.",
	"Step.nodeSelector": "Node labels the step's pod must be scheduled on.",
	"Step.tolerations":  "Taints the step's pod tolerates.",
	"Step.volumes":      "Volumes mounted into the step's container.",
	"Step.retry":        "How often to re-run the step when it fails, and how long to wait between tries.",
	"Step.timeout":      "The longest the step may run before it fails, e.g. 30m.",
	"Step.cache":        "Step caching: a step whose cache key matches a finished step reuses its outputs and runs nothing.",
	"Step.after":        "Steps that must finish first, for ordering without data. Steps referenced with ${{ steps.S.… }} are waited for anyway.",
	"Step.group":        "Makes the step a group of nested steps; the group's when and forEach apply to all of it.",

	"EnvVar":        "An environment variable: a literal value (placeholders allowed) or a reference to a Secret key. A secret's value never enters a cache key, a log or a manifest.",
	"EnvVar.name":   "The variable's name.",
	"EnvVar.value":  "The value; placeholders ${{ … }} are expanded.",
	"EnvVar.secret": "Takes the value from a key of a Kubernetes Secret instead.",

	"SecretRef":         "One key of a Kubernetes Secret.",
	"SecretRef.name":    "The Secret's name.",
	"SecretRef.key":     "The key within the Secret.",
	"SecretRef.version": "Which revision of the secret the step depends on: changing it changes the cache key without the value ever being read.",

	"Inputs":           "The values and artifacts a step receives.",
	"Inputs.params":    "Named input values, read as ${{ inputs.params.NAME }}.",
	"Inputs.artifacts": "Files or directories from other steps, at the paths ${{ inputs.artifacts.NAME }} names.",

	"InputParam":       "A named input value: a literal with placeholders (value) or a single placeholder (from) whose value is taken as is.",
	"InputParam.name":  "The input's name; matches [a-zA-Z_][a-zA-Z0-9_-]*.",
	"InputParam.type":  "The input's type (string when not set).",
	"InputParam.value": "A literal value; placeholders ${{ … }} are expanded.",
	"InputParam.from":  "A single placeholder whose value is taken as is, e.g. ${{ steps.stats.outputs.params.count }}.",

	"InputArtifact":      "A file or directory produced by another step, made available at the path ${{ inputs.artifacts.NAME }} names.",
	"InputArtifact.name": "The input artifact's name; matches [a-zA-Z_][a-zA-Z0-9_-]*.",
	"InputArtifact.from": "The artifact to receive: ${{ steps.STEP.outputs.artifacts.NAME }}.",

	"Outputs":           "What a step produces.",
	"Outputs.params":    "Values the step writes into the files ${{ outputs.params.NAME }} names; other steps read them as ${{ steps.S.outputs.params.NAME }}.",
	"Outputs.artifacts": "Files or directories the step writes at the paths ${{ outputs.artifacts.NAME }} names; stored content-addressed (SHA-256).",

	"OutputParam":      "A value the step writes into the file ${{ outputs.params.NAME }} names.",
	"OutputParam.name": "The output's name; matches [a-zA-Z_][a-zA-Z0-9_-]*.",
	"OutputParam.type": "The output's type (string when not set).",

	"OutputArtifact":      "A file or a directory the step writes at the path ${{ outputs.artifacts.NAME }} names.",
	"OutputArtifact.name": "The artifact's name; matches [a-zA-Z_][a-zA-Z0-9_-]*.",

	"ForEach":             "Runs a step (or a group) once per element of items. Its outputs, seen from outside, are JSON lists of the iterations' values.",
	"ForEach.items":       "A literal list, or a single placeholder whose value is a JSON list (e.g. ${{ params.grid }}).",
	"ForEach.parallelism": "How many iterations run at once (no limit when not set).",

	"Resources":          "The compute a step asks for. Quantities are Kubernetes quantity strings (\"500m\", \"2Gi\").",
	"Resources.requests": "What the step needs, by resource name (cpu, memory, …).",
	"Resources.limits":   "The most the step may use, by resource name.",
	"Resources.gpus":     "GPUs for the step.",

	"GPUs":          "Asks for count devices of an extended resource.",
	"GPUs.count":    "How many GPUs.",
	"GPUs.resource": "The extended resource to ask for (" + DefaultGPUResource + " when not set).",

	"Toleration":                   "Lets a step's pod schedule onto tainted nodes (as in Kubernetes).",
	"Toleration.key":               "The taint key.",
	"Toleration.operator":          "Exists, or Equal (the default) to match value.",
	"Toleration.value":             "The taint value, for operator Equal.",
	"Toleration.effect":            "The taint effect to tolerate; all effects when not set.",
	"Toleration.tolerationSeconds": "How long the pod stays bound after a NoExecute taint appears.",

	"Volume":                       "A volume mounted into a step's container at mountPath. Exactly one source is set: emptyDir, secret, configMap or persistentVolumeClaim.",
	"Volume.name":                  "The volume's name.",
	"Volume.mountPath":             "Where the volume appears in the container.",
	"Volume.readOnly":              "Mount the volume read-only.",
	"Volume.emptyDir":              "Scratch space that lives as long as the step.",
	"Volume.secret":                "A Secret's keys as files.",
	"Volume.configMap":             "A ConfigMap's keys as files.",
	"Volume.persistentVolumeClaim": "An existing PersistentVolumeClaim.",

	"EmptyDirVolume":           "Scratch space that lives as long as the step.",
	"EmptyDirVolume.medium":    "Where the space lives: empty for the node's disk, Memory for tmpfs.",
	"EmptyDirVolume.sizeLimit": "The most the volume may hold, as a quantity (\"1Gi\").",

	"SecretVolume":            "Mounts a Secret's keys as files.",
	"SecretVolume.secretName": "The Secret's name.",

	"ConfigMapVolume":      "Mounts a ConfigMap's keys as files.",
	"ConfigMapVolume.name": "The ConfigMap's name.",

	"PersistentVolumeClaim":           "Mounts an existing claim.",
	"PersistentVolumeClaim.claimName": "The claim's name.",

	"Retry":         "Re-runs a failed step up to limit more times.",
	"Retry.limit":   "How many more times to run a failed step.",
	"Retry.backoff": "How long to wait between tries.",

	"Backoff":          "Spaces retries: duration, then duration×factor, … capped at max.",
	"Backoff.duration": "The wait before the first retry.",
	"Backoff.factor":   "What each wait is multiplied by for the next (2 when not set).",
	"Backoff.max":      "The longest wait.",

	"Duration": "A duration as Go writes it: a number and a unit (ns, us, ms, s, m, h), repeated: \"90s\", \"1h30m\".",

	"Cache":         "Controls step caching.",
	"Cache.enabled": "Whether the step is cached (true when not set).",
	"Cache.salt":    "Any text; changing it changes the cache key, so earlier results are not reused.",
	"Cache.ttl":     "How long a cached result may be reused, e.g. 168h.",

	"Group":       "A nested set of steps; the group's when and forEach apply to all of it.",
	"Group.steps": "The steps of the group.",
}
