package ir

import (
	"fmt"
	"regexp"
	"strings"
)

// ReservedPrefix starts names that Sluice keeps for itself (engine results,
// template names): step, parameter and output names may not use it.
const ReservedPrefix = "sluice"

// PipelineStatus values, as ${{ pipeline.status }} gives them to onExit steps.
const (
	StatusSucceeded = "Succeeded"
	StatusFailed    = "Failed"
)

var (
	envNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	quantityRE = regexp.MustCompile(`^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$`)
	labelKeyRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	labelValRE = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`)
	resourceRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$`)
	operators  = []string{"", "Exists", "Equal"}
	effects    = []string{"", "NoSchedule", "PreferNoSchedule", "NoExecute"}
)

// Validate checks the whole pipeline and returns every problem at once as a
// List, in file order.
func (p *Pipeline) Validate() error {
	v := &validator{p: p, params: map[string]*Param{}}
	v.run()
	return v.errs.Err()
}

type validator struct {
	p      *Pipeline
	errs   List
	params map[string]*Param
	graph  *Graph
}

func (v *validator) errorf(path Path, format string, args ...any) {
	v.errs = append(v.errs, errorf(v.p.Pos(path), path, format, args...))
}

func (v *validator) run() {
	p := v.p
	if p.APIVersion != APIVersion {
		v.errorf(fAPIVersion, "must be %q, got %q", APIVersion, p.APIVersion)
	}
	if p.Kind != Kind {
		v.errorf(fKind, "must be %q, got %q", Kind, p.Kind)
	}
	md := Path(fMetadata)
	v.dnsLabel(md.Field(fName), p.Metadata.Name, "pipeline")
	v.labels(md.Field(fLabels), p.Metadata.Labels)

	sp := Path(fSpec)
	v.paramsDecl(sp.Field(fParams))
	if d := p.Spec.Defaults; d != nil {
		dp := sp.Field(fDefaults)
		for _, f := range notInDefaults {
			if stepFieldSet(d, f) {
				v.errorf(dp.Field(f), "not allowed in defaults: it belongs to one step")
			}
		}
	}
	if len(p.Spec.Steps) == 0 {
		v.errorf(sp.Field(fSteps), "a pipeline needs at least one step")
	}

	g, cycles := buildGraph(p)
	v.graph = g
	// Names in file order, so that "first at" names the first in the file
	// whatever order the steps run in.
	seen := map[string]Path{}
	for _, n := range g.declared() {
		v.stepName(n, seen)
	}
	for _, n := range g.All() {
		v.step(n)
	}
	for _, c := range cycles {
		names := make([]string, len(c))
		for i, n := range c {
			names[i] = n.Name()
		}
		var b strings.Builder
		for i := range names {
			fmt.Fprintf(&b, "%s needs %s", names[i], names[(i+1)%len(names)])
			if i < len(names)-1 {
				b.WriteString(", ")
			}
		}
		v.errorf(c[0].Path.Field(fName), "dependency cycle: %s", b.String())
	}
	if len(v.errs) == 0 {
		p.graph = g
	}
}

func (v *validator) paramsDecl(path Path) {
	for i := range v.p.Spec.Params {
		prm := &v.p.Spec.Params[i]
		pp := path.Index(i)
		if v.name(pp.Field(fName), prm.Name, "parameter") {
			if _, dup := v.params[prm.Name]; dup {
				v.errorf(pp.Field(fName), "duplicate parameter %q", prm.Name)
			} else {
				v.params[prm.Name] = prm
			}
		}
		if !v.paramType(pp.Field(fType), prm.Type) {
			continue
		}
		if prm.Default != nil {
			if err := checkType(*prm.Default, prm.typ()); err != nil {
				v.errorf(pp.Field(fDefault), "%v", err)
			}
		}
	}
}

func (prm *Param) typ() ParamType {
	if prm.Type == "" {
		return TypeString
	}
	return prm.Type
}

// Typ is the declared type, string when none is written.
func (o OutputParam) Typ() ParamType {
	if o.Type == "" {
		return TypeString
	}
	return o.Type
}

func (v *validator) paramType(path Path, t ParamType) bool {
	if t == "" || containsType(t) {
		return true
	}
	v.errorf(path, "unknown type %q: expected one of %s", t, typeList())
	return false
}

func containsType(t ParamType) bool {
	for _, k := range ParamTypes {
		if k == t {
			return true
		}
	}
	return false
}

func typeList() string {
	s := make([]string, len(ParamTypes))
	for i, t := range ParamTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// checkType tells whether a value fits a declared type; an int fits float.
func checkType(val Value, want ParamType) error {
	got := val.Type()
	switch {
	case got == want, want == TypeFloat && got == TypeInt:
		return nil
	case got == "":
		return fmt.Errorf("null is not a %s", want)
	}
	return fmt.Errorf("%s value %s does not match type %s", got, truncate(val.String(), 40), want)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// name checks a parameter, input or output name.
func (v *validator) name(path Path, name, what string) bool {
	switch {
	case name == "":
		v.errorf(path, "%s name is required", what)
	case !nameRE.MatchString(name):
		v.errorf(path, "invalid %s name %q: must match [a-zA-Z_][a-zA-Z0-9_-]*", what, name)
	case strings.HasPrefix(strings.ToLower(name), ReservedPrefix):
		v.errorf(path, "%s name %q is reserved: names starting with %q are Sluice's own", what, name, ReservedPrefix)
	default:
		return true
	}
	return false
}

func (v *validator) dnsLabel(path Path, name, what string) bool {
	switch {
	case name == "":
		v.errorf(path, "%s name is required", what)
	case len(name) > 63:
		v.errorf(path, "%s name %q is longer than 63 characters", what, truncate(name, 20))
	case !dns1123RE.MatchString(name):
		v.errorf(path, "invalid %s name %q: must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)", what, name)
	default:
		return true
	}
	return false
}

func (v *validator) labels(path Path, m map[string]string) {
	for _, k := range sortedKeys(m) {
		kp := path.Key(k)
		if len(k) > 253 || !labelKeyRE.MatchString(k) {
			v.errorf(kp, "invalid label key %q", k)
		}
		if val := m[k]; len(val) > 63 || !labelValRE.MatchString(val) {
			v.errorf(kp, "invalid label value %q: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", truncate(val, 70))
		}
	}
}

// stepFieldSet reports whether the named json field of s is set.
func stepFieldSet(s *Step, field string) bool {
	switch field {
	case fName:
		return s.Name != ""
	case fGroup:
		return s.Group != nil
	case fAfter:
		return len(s.After) > 0
	case fWhen:
		return s.When != ""
	case fForEach:
		return s.ForEach != nil
	case fInputs:
		return s.Inputs != nil
	case fOutputs:
		return s.Outputs != nil
	}
	return false
}

func (v *validator) stepName(n *Node, seen map[string]Path) {
	s, path := n.Step, n.Path
	if v.dnsLabel(path.Field(fName), s.Name, "step") {
		switch {
		case strings.HasPrefix(s.Name, ReservedPrefix):
			v.errorf(path.Field(fName), "step name %q is reserved: names starting with %q are Sluice's own", s.Name, ReservedPrefix)
		case seen[s.Name] != "":
			v.errorf(path.Field(fName), "duplicate step name %q (first at %s)", s.Name, seen[s.Name])
		default:
			seen[s.Name] = path
		}
	}
}

func (v *validator) step(n *Node) {
	s, path := n.Step, n.Path
	if s.Group != nil {
		v.group(n)
	} else {
		v.command(n)
	}
	v.after(n)
	if s.ForEach != nil {
		v.forEach(n)
	}
	if s.When != "" {
		w, err := ParseWhen(s.When)
		if err != nil {
			v.errorf(path.Field(fWhen), "%v", err)
		} else {
			for _, r := range w.Refs() {
				if r.IsArtifact() || r.Kind == RefOutputParam {
					v.errorf(path.Field(fWhen), "${{ %s }} cannot be used in when: conditions compare values", r)
					continue
				}
				v.ref(n, path.Field(fWhen), r, false)
			}
		}
	}
}

func (v *validator) group(n *Node) {
	s, path := n.Step, n.Path
	set := []struct {
		field string
		set   bool
	}{
		{fImage, s.Image != ""}, {fCommand, len(s.Command) > 0}, {fArgs, len(s.Args) > 0},
		{fWorkingDir, s.WorkingDir != ""}, {fEnv, len(s.Env) > 0}, {fInputs, s.Inputs != nil},
		{fOutputs, s.Outputs != nil}, {fResources, s.Resources != nil}, {fNodeSel, len(s.NodeSelector) > 0},
		{fTolers, len(s.Tolerations) > 0}, {fVolumes, len(s.Volumes) > 0}, {fRetry, s.Retry != nil},
		{fTimeout, s.Timeout != nil}, {fCache, s.Cache != nil},
	}
	for _, f := range set {
		if f.set {
			v.errorf(path.Field(f.field), "not allowed on a group: set it on the group's steps")
		}
	}
	if len(s.Group.Steps) == 0 {
		v.errorf(path.Field(fGroup).Field(fSteps), "a group needs at least one step")
	}
}

func (v *validator) command(n *Node) {
	s, path := n.Step, n.Path
	if s.Image == "" {
		v.errorf(path.Field(fImage), "image is required (set it here or in spec.defaults)")
	}
	if len(s.Command) == 0 {
		v.errorf(path.Field(fCommand), "command is required")
	}
	for i, c := range s.Command {
		v.text(n, path.Field(fCommand).Index(i), c, true)
	}
	for i, a := range s.Args {
		v.text(n, path.Field(fArgs).Index(i), a, true)
	}
	envs := map[string]bool{}
	for i, e := range s.Env {
		ep := path.Field(fEnv).Index(i)
		switch {
		case !envNameRE.MatchString(e.Name):
			v.errorf(ep.Field(fName), "invalid environment variable name %q", e.Name)
		case envs[e.Name]:
			v.errorf(ep.Field(fName), "duplicate environment variable %q", e.Name)
		}
		envs[e.Name] = true
		if e.Secret != nil {
			if e.Value != "" {
				v.errorf(ep, "set value or secret, not both")
			}
			if !v.dnsSubdomain(e.Secret.Name) {
				v.errorf(ep.Field(fSecret).Field(fName), "invalid secret name %q", e.Secret.Name)
			}
			if e.Secret.Key == "" {
				v.errorf(ep.Field(fSecret).Field(fKey), "secret key is required")
			}
			continue
		}
		v.text(n, ep.Field(fValue), e.Value, true)
	}
	v.inputs(n)
	v.outputs(n)
	v.resources(path.Field(fResources), s.Resources)
	v.labels(path.Field(fNodeSel), s.NodeSelector)
	for i, t := range s.Tolerations {
		tp := path.Field(fTolers).Index(i)
		if !containsString(operators, t.Operator) {
			v.errorf(tp.Field(fOperator), "operator must be Exists or Equal, got %q", t.Operator)
		}
		if t.Operator == "Exists" && t.Value != "" {
			v.errorf(tp.Field(fValue), "must be empty when operator is Exists")
		}
		if !containsString(effects, t.Effect) {
			v.errorf(tp.Field(fEffect), "effect must be NoSchedule, PreferNoSchedule or NoExecute, got %q", t.Effect)
		}
		if t.Key == "" && t.Operator != "Exists" {
			v.errorf(tp.Field(fOperator), "a toleration without a key must use operator Exists")
		}
	}
	vols := map[string]bool{}
	for i, vol := range s.Volumes {
		vp := path.Field(fVolumes).Index(i)
		if v.dnsLabel(vp.Field(fName), vol.Name, "volume") && vols[vol.Name] {
			v.errorf(vp.Field(fName), "duplicate volume %q", vol.Name)
		}
		vols[vol.Name] = true
		if !strings.HasPrefix(vol.MountPath, "/") {
			v.errorf(vp.Field(fMountPath), "mountPath must be an absolute path, got %q", vol.MountPath)
		}
		srcs := 0
		for _, set := range []bool{vol.EmptyDir != nil, vol.Secret != nil, vol.ConfigMap != nil, vol.PersistentVolumeClaim != nil} {
			if set {
				srcs++
			}
		}
		if srcs != 1 {
			v.errorf(vp, "set exactly one of emptyDir, secret, configMap, persistentVolumeClaim")
		}
		switch {
		case vol.Secret != nil && !v.dnsSubdomain(vol.Secret.SecretName):
			v.errorf(vp.Field(fSecret).Field("secretName"), "invalid secret name %q", vol.Secret.SecretName)
		case vol.ConfigMap != nil && !v.dnsSubdomain(vol.ConfigMap.Name):
			v.errorf(vp.Field("configMap").Field(fName), "invalid configMap name %q", vol.ConfigMap.Name)
		case vol.PersistentVolumeClaim != nil && !v.dnsSubdomain(vol.PersistentVolumeClaim.ClaimName):
			v.errorf(vp.Field("persistentVolumeClaim").Field("claimName"), "invalid claim name %q", vol.PersistentVolumeClaim.ClaimName)
		case vol.EmptyDir != nil && vol.EmptyDir.SizeLimit != "" && !quantityRE.MatchString(vol.EmptyDir.SizeLimit):
			v.errorf(vp.Field("emptyDir").Field("sizeLimit"), "invalid quantity %q", vol.EmptyDir.SizeLimit)
		}
	}
	if r := s.Retry; r != nil {
		rp := path.Field(fRetry)
		if r.Limit < 0 {
			v.errorf(rp.Field(fLimit), "must not be negative")
		}
		if b := r.Backoff; b != nil && b.Factor != nil && *b.Factor < 1 {
			v.errorf(rp.Field(fBackoff).Field(fFactor), "must be at least 1, got %v", *b.Factor)
		}
	}
	if s.Timeout != nil && s.Timeout.Duration == 0 {
		v.errorf(path.Field(fTimeout), "must be longer than 0s")
	}
}

func (v *validator) dnsSubdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !dns1123RE.MatchString(l) {
			return false
		}
	}
	return true
}

func (v *validator) resources(path Path, r *Resources) {
	if r == nil {
		return
	}
	for _, part := range []struct {
		field string
		m     map[string]string
	}{{fRequests, r.Requests}, {fLimits, r.Limits}} {
		for _, k := range sortedKeys(part.m) {
			kp := path.Field(part.field).Key(k)
			if !resourceRE.MatchString(k) {
				v.errorf(kp, "invalid resource name %q", k)
			}
			if !quantityRE.MatchString(part.m[k]) {
				v.errorf(kp, "invalid quantity %q (examples: 500m, 2, 4Gi)", part.m[k])
			}
		}
	}
	if g := r.GPUs; g != nil {
		if g.Count < 1 {
			v.errorf(path.Field(fGPUs).Field(fCount), "must be at least 1")
		}
		if g.Resource != "" && !resourceRE.MatchString(g.Resource) {
			v.errorf(path.Field(fGPUs).Field(fResource), "invalid resource name %q", g.Resource)
		}
	}
}

func (v *validator) inputs(n *Node) {
	in := n.Step.Inputs
	if in == nil {
		return
	}
	path := n.Path.Field(fInputs)
	names := map[string]bool{}
	for i, ip := range in.Params {
		pp := path.Field(fParams).Index(i)
		if v.name(pp.Field(fName), ip.Name, "input") && names[ip.Name] {
			v.errorf(pp.Field(fName), "duplicate input %q", ip.Name)
		}
		names[ip.Name] = true
		if !v.paramType(pp.Field(fType), ip.Type) {
			ip.Type = "" // reported; do not check values against it
		}
		switch {
		case ip.From != "" && ip.Value != "":
			v.errorf(pp, "set value or from, not both")
		case ip.From != "":
			r, ok := v.single(pp.Field(fFrom), ip.From)
			if !ok {
				continue
			}
			if r.IsArtifact() || r.Kind == RefInputParam || r.Kind == RefOutputParam {
				v.errorf(pp.Field(fFrom), "${{ %s }} cannot feed an input parameter: use params.*, steps.*.outputs.params.*, item or pipeline.*", r)
				continue
			}
			if t := v.ref(n, pp.Field(fFrom), r, false); t != "" && ip.Type != "" && t != ip.Type && !(ip.Type == TypeFloat && t == TypeInt) {
				v.errorf(pp.Field(fFrom), "type mismatch: input %q is %s but ${{ %s }} is %s", ip.Name, ip.Type, r, t)
			}
		default:
			if tmpl, err := ParseTemplate(ip.Value); err != nil {
				v.errorf(pp.Field(fValue), "%v", err)
			} else {
				for _, r := range tmpl.Refs() {
					if r.IsArtifact() || r.Kind == RefInputParam || r.Kind == RefOutputParam {
						v.errorf(pp.Field(fValue), "${{ %s }} cannot be used in an input value", r)
						continue
					}
					v.ref(n, pp.Field(fValue), r, false)
				}
				if _, single := tmpl.Single(); !single && ip.Type != "" && ip.Type != TypeString && len(tmpl.Refs()) == 0 {
					if err := checkType(literal(ip.Value), ip.Type); err != nil {
						v.errorf(pp.Field(fValue), "%v", err)
					}
				}
			}
		}
	}
	arts := map[string]bool{}
	for i, ia := range in.Artifacts {
		ap := path.Field(fArtifacts).Index(i)
		if v.name(ap.Field(fName), ia.Name, "input") && arts[ia.Name] {
			v.errorf(ap.Field(fName), "duplicate input artifact %q", ia.Name)
		}
		arts[ia.Name] = true
		if ia.From == "" {
			v.errorf(ap.Field(fFrom), "from is required: ${{ steps.STEP.outputs.artifacts.NAME }}")
			continue
		}
		r, ok := v.single(ap.Field(fFrom), ia.From)
		if !ok {
			continue
		}
		if r.Kind != RefStepArtifact {
			v.errorf(ap.Field(fFrom), "an input artifact comes from ${{ steps.STEP.outputs.artifacts.NAME }}, got ${{ %s }}", r)
			continue
		}
		v.ref(n, ap.Field(fFrom), r, false)
	}
}

// literal reads a typed input's literal value: JSON where it parses, else a
// string.
func literal(s string) Value {
	var x Value
	if err := x.UnmarshalJSON([]byte(s)); err == nil {
		return x
	}
	return NewValue(s)
}

// single parses text that must be exactly one placeholder.
func (v *validator) single(path Path, text string) (Ref, bool) {
	t, err := ParseTemplate(text)
	if err != nil {
		v.errorf(path, "%v", err)
		return Ref{}, false
	}
	r, ok := t.Single()
	if !ok {
		v.errorf(path, "must be exactly one placeholder such as ${{ steps.STEP.outputs.params.NAME }}, got %q", truncate(text, 60))
	}
	return r, ok
}

func (v *validator) outputs(n *Node) {
	out := n.Step.Outputs
	if out == nil {
		return
	}
	path := n.Path.Field(fOutputs)
	names := map[string]bool{}
	for i, op := range out.Params {
		pp := path.Field(fParams).Index(i)
		if v.name(pp.Field(fName), op.Name, "output") && names[op.Name] {
			v.errorf(pp.Field(fName), "duplicate output %q", op.Name)
		}
		names[op.Name] = true
		v.paramType(pp.Field(fType), op.Type)
	}
	for i, oa := range out.Artifacts {
		ap := path.Field(fArtifacts).Index(i)
		if v.name(ap.Field(fName), oa.Name, "output") && names[oa.Name] {
			v.errorf(ap.Field(fName), "duplicate output %q: parameters and artifacts share one namespace", oa.Name)
		}
		names[oa.Name] = true
	}
}

// text checks the placeholders of command, args and env values.
func (v *validator) text(n *Node, path Path, text string, outputsOK bool) {
	if !strings.Contains(text, "${{") {
		return
	}
	t, err := ParseTemplate(text)
	if err != nil {
		v.errorf(path, "%v", err)
		return
	}
	for _, r := range t.Refs() {
		v.ref(n, path, r, outputsOK)
	}
}

// ref checks that a placeholder names something that exists where it is
// used, and returns the type of the value it stands for ("" when unknown).
func (v *validator) ref(n *Node, path Path, r Ref, outputsOK bool) ParamType {
	s := n.Step
	switch r.Kind {
	case RefParam:
		prm, ok := v.params[r.Name]
		if !ok {
			v.errorf(path, "${{ %s }}: no parameter %q in spec.params", r, r.Name)
			return ""
		}
		return prm.typ()
	case RefInputParam, RefInputArtifact:
		if s.Inputs != nil {
			if r.Kind == RefInputParam {
				for _, ip := range s.Inputs.Params {
					if ip.Name == r.Name {
						return ip.Type
					}
				}
			} else {
				for _, ia := range s.Inputs.Artifacts {
					if ia.Name == r.Name {
						return ""
					}
				}
			}
		}
		v.errorf(path, "${{ %s }}: step %q declares no such input", r, s.Name)
	case RefOutputParam, RefOutputArtifact:
		if !outputsOK {
			v.errorf(path, "${{ %s }} can only be used in command, args and env", r)
			return ""
		}
		if s.Outputs != nil {
			if r.Kind == RefOutputParam {
				for _, op := range s.Outputs.Params {
					if op.Name == r.Name {
						return op.Typ()
					}
				}
			} else {
				for _, oa := range s.Outputs.Artifacts {
					if oa.Name == r.Name {
						return ""
					}
				}
			}
		}
		v.errorf(path, "${{ %s }}: step %q declares no such output", r, s.Name)
	case RefStepParam, RefStepArtifact:
		return v.stepRef(n, path, r)
	case RefItem:
		if !n.InForEach() {
			v.errorf(path, "${{ %s }} is only defined in a step (or group) with forEach", r)
		}
	case RefPipelineStatus:
		if !n.OnExit {
			v.errorf(path, "${{ pipeline.status }} is only defined in onExit steps")
		}
		return TypeString
	case RefPipelineName, RefPipelineRunID:
		return TypeString
	}
	return ""
}

func (v *validator) stepRef(n *Node, path Path, r Ref) ParamType {
	target := v.graph.Node(r.Step)
	switch {
	case target == nil:
		v.errorf(path, "${{ %s }}: no step %q", r, r.Step)
		return ""
	case target == n:
		v.errorf(path, "${{ %s }}: a step cannot read its own outputs through steps.%s; use outputs.*", r, r.Step)
		return ""
	case n.contains(target):
		v.errorf(path, "${{ %s }}: %q is a step of this group, whose when and forEach are decided before its steps run", r, r.Step)
		return ""
	case target.Step.Group != nil:
		v.errorf(path, "${{ %s }}: %q is a group, which has no outputs of its own", r, r.Step)
		return ""
	case target.OnExit && !n.OnExit:
		v.errorf(path, "${{ %s }}: %q is an onExit step, which runs after every main step", r, r.Step)
		return ""
	case n.OnExit && !target.OnExit:
		v.errorf(path, "${{ %s }}: onExit steps cannot read outputs of main steps, which may not have run", r)
		return ""
	}
	for a := n.Parent; a != nil; a = a.Parent {
		if a == target {
			return ""
		}
	}
	out := target.Step.Outputs
	if out != nil {
		if r.Kind == RefStepParam {
			for _, op := range out.Params {
				if op.Name == r.Name {
					if listOutput(n, target) {
						return TypeList
					}
					return op.Typ()
				}
			}
		} else {
			for _, oa := range out.Artifacts {
				if oa.Name == r.Name {
					if listOutput(n, target) {
						v.errorf(path, "${{ %s }}: %q repeats with forEach; its artifacts cannot be read from outside the loop", r, r.Step)
					}
					return ""
				}
			}
		}
	}
	kind := "parameter"
	if r.Kind == RefStepArtifact {
		kind = "artifact"
	}
	v.errorf(path, "${{ %s }}: step %q has no output %s %q", r, r.Step, kind, r.Name)
	return ""
}

// ListDepth counts the forEach loops around target (itself included)
// that reader is not inside: how deeply nested the JSON list is in which
// target's outputs reach reader (0: a plain value). Every backend builds
// loop outputs to this depth.
func ListDepth(reader, target *Node) int {
	d := 0
	for t := target; t != nil; t = t.Parent {
		if t.Step.ForEach == nil {
			continue
		}
		inside := false
		for r := reader; r != nil; r = r.Parent {
			if r == t {
				inside = true
			}
		}
		if !inside {
			d++
		}
	}
	return d
}

func listOutput(reader, target *Node) bool { return ListDepth(reader, target) > 0 }

func (v *validator) after(n *Node) {
	seen := map[string]bool{}
	for i, a := range n.Step.After {
		ap := n.Path.Field(fAfter).Index(i)
		target := v.graph.Node(a)
		switch {
		case seen[a]:
			v.errorf(ap, "%q is listed twice", a)
		case target == nil:
			v.errorf(ap, "no step %q", a)
		case target == n:
			v.errorf(ap, "a step cannot run after itself")
		case n.contains(target):
			v.errorf(ap, "%q is a step of this group; a group cannot wait for its own steps", a)
		case target.OnExit && !n.OnExit:
			v.errorf(ap, "%q is an onExit step, which runs after every main step", a)
		case n.OnExit && !target.OnExit:
			v.errorf(ap, "onExit steps run after every main step already; after may only name other onExit steps")
		default:
			for p := n.Parent; p != nil; p = p.Parent {
				if p == target {
					v.errorf(ap, "%q is the group this step belongs to", a)
				}
			}
		}
		seen[a] = true
	}
}

func (v *validator) forEach(n *Node) {
	fe, path := n.Step.ForEach, n.Path.Field(fForEach)
	if fe.Parallelism < 0 {
		v.errorf(path.Field(fParallel), "must not be negative")
	}
	ip := path.Field(fItems)
	if fe.Items == nil {
		v.errorf(ip, "items is required: a list, or a placeholder whose value is a list")
		return
	}
	if _, ok := fe.Items.List(); ok {
		return
	}
	str, ok := fe.Items.Interface().(string)
	if !ok {
		v.errorf(ip, "must be a list or a placeholder, got %s", fe.Items.Type())
		return
	}
	r, ok := v.single(ip, str)
	if !ok {
		return
	}
	switch r.Kind {
	case RefParam, RefStepParam, RefItem:
	default:
		v.errorf(ip, "${{ %s }} cannot give forEach items: use params.*, steps.*.outputs.params.* or item", r)
		return
	}
	// The loop's items are evaluated outside the loop: item is the element
	// of an enclosing loop.
	if r.Kind == RefItem {
		if !n.Parent.InForEach() {
			v.errorf(ip, "${{ %s }} in forEach.items needs an enclosing step (or group) with forEach", r)
		}
		return
	}
	if t := v.ref(n, ip, r, false); t != "" && t != TypeList && t != TypeString {
		v.errorf(ip, "type mismatch: forEach.items needs a list, ${{ %s }} is %s", r, t)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}
