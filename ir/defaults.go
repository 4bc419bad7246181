package ir

import (
	"reflect"
	"strings"
)

// Field names, used to build paths in errors.
const (
	fAPIVersion = "apiVersion"
	fKind       = "kind"
	fMetadata   = "metadata"
	fName       = "name"
	fLabels     = "labels"
	fSpec       = "spec"
	fParams     = "params"
	fDefaults   = "defaults"
	fSteps      = "steps"
	fOnExit     = "onExit"
	fType       = "type"
	fDefault    = "default"
	fImage      = "image"
	fCommand    = "command"
	fArgs       = "args"
	fWorkingDir = "workingDir"
	fEnv        = "env"
	fValue      = "value"
	fSecret     = "secret"
	fKey        = "key"
	fInputs     = "inputs"
	fOutputs    = "outputs"
	fArtifacts  = "artifacts"
	fFrom       = "from"
	fForEach    = "forEach"
	fItems      = "items"
	fParallel   = "parallelism"
	fWhen       = "when"
	fResources  = "resources"
	fRequests   = "requests"
	fLimits     = "limits"
	fGPUs       = "gpus"
	fCount      = "count"
	fResource   = "resource"
	fNodeSel    = "nodeSelector"
	fTolers     = "tolerations"
	fOperator   = "operator"
	fEffect     = "effect"
	fVolumes    = "volumes"
	fMountPath  = "mountPath"
	fRetry      = "retry"
	fLimit      = "limit"
	fBackoff    = "backoff"
	fFactor     = "factor"
	fDuration   = "duration"
	fMax        = "max"
	fTimeout    = "timeout"
	fCache      = "cache"
	fTTL        = "ttl"
	fAfter      = "after"
	fGroup      = "group"
)

// notInDefaults are the step fields that describe one step's place in the
// pipeline, so a default for them makes no sense.
var notInDefaults = []string{fName, fGroup, fAfter, fWhen, fForEach, fInputs, fOutputs}

// ApplyDefaults fills every command step's unset fields from spec.defaults,
// field by field: a step that sets cache.salt still gets cache.enabled from
// the defaults. A zero value, or an empty list or map, counts as unset.
// Decode calls it; call it yourself for a pipeline built in code.
func (p *Pipeline) ApplyDefaults() {
	def := p.Spec.Defaults
	if def == nil {
		return
	}
	// Positions of defaulted fields point at the defaults, so errors in
	// them name the line the user has to change. They are grouped by the
	// step field they are under.
	type placed struct {
		rest string // the path below spec.defaults
		pos  Pos
	}
	var defPos map[string][]placed
	if p.src != nil {
		defPos = map[string][]placed{}
		prefix := string(Path(fSpec).Field(fDefaults)) + "."
		for path, pos := range p.src.pos {
			if rest, ok := strings.CutPrefix(string(path), prefix); ok {
				field := rest[:strings.IndexAny(rest+".", ".[")]
				defPos[field] = append(defPos[field], placed{rest, pos})
			}
		}
	}
	// The json name of each field that takes a default, "" for the others.
	st := reflect.TypeFor[Step]()
	names := make([]string, st.NumField())
	for fi := range names {
		if name, _, _ := strings.Cut(st.Field(fi).Tag.Get("json"), ","); !containsString(notInDefaults, name) {
			names[fi] = name
		}
	}
	dv := reflect.ValueOf(def).Elem()
	var walk func(steps []Step, path Path)
	walk = func(steps []Step, path Path) {
		for i := range steps {
			s := &steps[i]
			sp := path.Index(i)
			if s.Group != nil {
				walk(s.Group.Steps, sp.Field(fGroup).Field(fSteps))
				continue
			}
			sv := reflect.ValueOf(s).Elem()
			for fi, name := range names {
				if name == "" || !merge(sv.Field(fi), dv.Field(fi)) {
					continue
				}
				for _, d := range defPos[name] {
					if at := sp.Field(d.rest); !p.src.has(at) {
						p.src.pos[at] = d.pos
					}
				}
			}
		}
	}
	walk(p.Spec.Steps, Path(fSpec).Field(fSteps))
	walk(p.Spec.OnExit, Path(fSpec).Field(fOnExit))
}

// merge fills dst from src where dst is unset, recursing into structs; it
// reports whether anything was taken from src.
func merge(dst, src reflect.Value) bool {
	if unset(src) {
		return false
	}
	if unset(dst) {
		dst.Set(deepCopy(src))
		return true
	}
	switch dst.Kind() {
	case reflect.Pointer:
		if dst.Elem().Kind() == reflect.Struct && dst.Type() != reflect.TypeFor[*Value]() {
			return merge(dst.Elem(), src.Elem())
		}
	case reflect.Struct:
		if dst.Type() == durationType {
			return false
		}
		took := false
		for i := range dst.NumField() {
			if dst.Type().Field(i).IsExported() && merge(dst.Field(i), src.Field(i)) {
				took = true
			}
		}
		return took
	}
	return false
}

// unset reports whether a field counts as not written: its zero value, or
// an empty list or map (the canonical encoding omits those, so they must
// mean the same as absent for Parse(Encode(p)) to give p back).
func unset(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return v.IsZero()
}

// deepCopy copies a value of the IR types, so that steps never share
// slices, maps or pointers with the defaults.
func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			out.Set(reflect.New(v.Type().Elem()))
			out.Elem().Set(deepCopy(v.Elem()))
		}
	case reflect.Slice:
		if !v.IsNil() {
			out.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()))
			for i := range v.Len() {
				out.Index(i).Set(deepCopy(v.Index(i)))
			}
		}
	case reflect.Map:
		if !v.IsNil() {
			out.Set(reflect.MakeMapWithSize(v.Type(), v.Len()))
			for it := v.MapRange(); it.Next(); {
				out.SetMapIndex(it.Key(), deepCopy(it.Value()))
			}
		}
	case reflect.Struct:
		if v.Type() == valueType {
			out.Set(reflect.ValueOf(NewValue(v.Interface().(Value).v)))
			break
		}
		out.Set(v)
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
	default:
		out.Set(v)
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
