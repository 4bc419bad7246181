package tekton

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/ir"
)

// Names of the Task steps Sluice writes.
const (
	stepInstall = "install" // copies the launcher into the shared volume
	stepRun     = "run"     // the step's own container, under the launcher
	stepWhen    = "when"    // a condition, evaluated by the launcher
)

// timeoutMargin is added to a step's timeout for Tekton's own: the
// launcher stops the command at the step's timeout (exit 124), so
// Tekton's only catches a pod that never gets that far.
const timeoutMargin = 5 * time.Minute

// pipelineTask renders a unit as a pipeline task, with its Task's spec.
func (c *compiler) pipelineTask(u *unit) (v1.PipelineTask, v1.TaskSpec, error) {
	pt := v1.PipelineTask{
		Name:        u.name,
		DisplayName: u.display,
		Params:      u.params,
		When:        u.guards.when(u.status),
	}
	if !u.final {
		pt.RunAfter = u.order()
	}
	indexed := c.indexed(u)
	if u.items != "" {
		// A filter's kept items carry their indexes in the loop.
		items := resultItems
		if indexed {
			items = resultKept
		}
		pt.Matrix = &v1.Matrix{Params: v1.Params{{
			Name:  paramItem,
			Value: *v1.NewStructuredValues("$(tasks." + u.items + ".results." + items + "[*])"),
		}}}
	}
	if len(u.combos) > 0 {
		pt.Matrix = &v1.Matrix{}
		for _, cb := range u.combos {
			params := v1.Params{{Name: paramItem, Value: *v1.NewStructuredValues(u.itemText(cb.text))}}
			if indexed {
				params = append(params, v1.Param{Name: paramIndex, Value: *v1.NewStructuredValues(strconv.Itoa(cb.index))})
			}
			pt.Matrix.Include = append(pt.Matrix.Include, v1.IncludeParams{Name: strconv.Itoa(cb.index), Params: params})
		}
	}
	switch {
	case u.noop:
		return pt, v1.TaskSpec{Steps: []v1.Step{{
			Name: "nothing", Image: c.opts.LauncherImage, Command: []string{plan.ImageLauncher}, Args: []string{"version"},
		}}}, nil
	case u.cond:
		spec, err := c.conditionSpec(u)
		return pt, spec, err
	}
	s := u.node.Step
	if s.Retry != nil {
		pt.Retries = s.Retry.Limit
	}
	if s.Timeout != nil {
		pt.Timeout = &metav1.Duration{Duration: s.Timeout.Duration + timeoutMargin}
	}
	spec, err := c.commandSpec(u)
	return pt, spec, err
}

// itemText is an item as the task parameter sluice_item takes it.
func (u *unit) itemText(text string) string {
	if u.itemB64 {
		return plan.B64(text)
	}
	return text
}

// order is what the task waits for that its parameters and guards do not
// already say: Tekton orders a task after every task whose result it
// references.
func (u *unit) order() []string {
	refs := map[string]bool{}
	for _, p := range u.params {
		exprs, _ := p.GetVarSubstitutionExpressions()
		for _, r := range v1.NewResultRefs(exprs) {
			refs[r.PipelineTask] = true
		}
	}
	for _, c := range u.guards.conds {
		refs[c] = true
	}
	var out []string
	for _, a := range u.after {
		if !refs[a] {
			out = append(out, a)
		}
	}
	return out
}

// commandSpec is the Task of a command step: a step that copies the
// launcher into a volume, then the step's own image running it.
func (c *compiler) commandSpec(u *unit) (v1.TaskSpec, error) {
	s := u.node.Step
	b64, err := plan.Spec(c.p.Metadata.Name, s)
	if err != nil {
		return v1.TaskSpec{}, err
	}
	maxValue, err := budget(s.Outputs)
	if err != nil {
		return v1.TaskSpec{}, err
	}
	// The store comes from the pod template's SLUICE_CACHE (see
	// podTemplate), so that a Task does not depend on it.
	run := plan.Run{Spec: b64, In: u.in, Lists: u.lists, MaxValue: maxValue}
	spec := v1.TaskSpec{Params: u.specParams}
	// Whether the step was a cache hit, for the status to show Cached.
	spec.Results = append(spec.Results, v1.TaskResult{Name: resultCached, Type: v1.ResultsTypeString})
	run.Out = append(run.Out, plan.Out{Name: launch.OutCached, Path: "$(results." + resultCached + ".path)"})
	if c.indexed(u) {
		// The item's index, by which the readers put the matrix's
		// aggregated results in item order; within tektonReserve. A
		// filter's item carries its own (compile.go).
		if u.items == "" {
			run.Index = "$(params." + paramIndex + ")"
		}
		spec.Results = append(spec.Results, v1.TaskResult{Name: resultIndex, Type: v1.ResultsTypeString})
		run.Out = append(run.Out, plan.Out{Name: launch.OutIndex, Path: "$(results." + resultIndex + ".path)"})
	}
	if o := s.Outputs; o != nil {
		for _, p := range o.Params {
			spec.Results = append(spec.Results, v1.TaskResult{Name: resultName(p.Name), Type: v1.ResultsTypeString})
			run.Out = append(run.Out, plan.Out{Name: "params." + p.Name, Path: "$(results." + resultName(p.Name) + ".path)"})
		}
		for _, a := range o.Artifacts {
			spec.Results = append(spec.Results, v1.TaskResult{Name: resultName(a.Name), Type: v1.ResultsTypeString})
			run.Out = append(run.Out, plan.Out{Name: "artifacts." + a.Name, Path: "$(results." + resultName(a.Name) + ".path)"})
		}
	}
	taken := map[string]bool{}
	for _, v := range s.Volumes {
		taken[v.Name] = true
	}
	bin := freeName(volumeBin, taken)
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: bin, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	mounts := []corev1.VolumeMount{{Name: bin, MountPath: plan.LauncherDir}}
	if c.opts.CacheSecret != "" {
		mounts = append(mounts, corev1.VolumeMount{Name: c.credsVolume, MountPath: credentialsDir, ReadOnly: true})
	}
	for _, v := range s.Volumes {
		spec.Volumes = append(spec.Volumes, kube.Volume(v))
		mounts = append(mounts, corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath, ReadOnly: v.ReadOnly})
	}
	res, err := kube.Resources(s.Resources)
	if err != nil {
		return v1.TaskSpec{}, err
	}
	spec.Steps = []v1.Step{
		{
			Name:         stepInstall,
			Image:        c.opts.LauncherImage,
			Command:      []string{plan.ImageLauncher},
			Args:         plan.Copy()[1:],
			VolumeMounts: mounts[:1],
		},
		{
			Name:             stepRun,
			Image:            s.Image,
			Command:          []string{plan.Launcher},
			Args:             run.Args(),
			Env:              secretEnv(s.Env),
			ComputeResources: res,
			VolumeMounts:     mounts,
		},
	}
	return spec, nil
}

// conditionSpec is the Task of a condition: the launcher alone, in its
// own image, writing "true" or "false".
func (c *compiler) conditionSpec(u *unit) (v1.TaskSpec, error) {
	b64, err := plan.ConditionSpec(c.p.Metadata.Name, u.node.Step, u.filter)
	if err != nil {
		return v1.TaskSpec{}, err
	}
	w := plan.When{Spec: b64, In: u.in, Lists: u.lists, OutWhen: "$(results." + resultOK + ".path)"}
	spec := v1.TaskSpec{
		Params:  u.specParams,
		Results: []v1.TaskResult{{Name: resultOK, Type: v1.ResultsTypeString}},
	}
	if u.filter {
		items := resultItems
		if u.kept {
			items = resultKept
			w.OutKept = "$(results." + items + ".path)"
		} else {
			w.OutItems = "$(results." + items + ".path)"
		}
		w.OutRuns = "$(results." + resultRuns + ".path)"
		spec.Results = append(spec.Results,
			v1.TaskResult{Name: items, Type: v1.ResultsTypeArray},
			v1.TaskResult{Name: resultRuns, Type: v1.ResultsTypeString})
	}
	step := v1.Step{Name: stepWhen, Image: c.opts.LauncherImage, Command: []string{plan.ImageLauncher}, Args: w.Args()}
	if c.opts.CacheSecret != "" {
		step.VolumeMounts = []corev1.VolumeMount{{Name: c.credsVolume, MountPath: credentialsDir, ReadOnly: true}}
	}
	spec.Steps = []v1.Step{step}
	return spec, nil
}

// runTemplate is the pod template of every TaskRun: the store's URL as
// SLUICE_CACHE, which the launcher reads when --cache is absent (and
// hides from the step's command), and the Secret of its credentials as a
// volume, which the launchers mount. Both are the PipelineRun's, so Tasks
// kept in Git do not depend on a store.
func (c *compiler) runTemplate() *pod.PodTemplate {
	t := &pod.PodTemplate{}
	if url := c.opts.cacheURL(); url != "" {
		t.Env = []corev1.EnvVar{{Name: launch.CacheEnv, Value: url}}
	}
	if c.opts.CacheSecret != "" {
		t.Volumes = []corev1.Volume{{Name: c.credsVolume, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: c.opts.CacheSecret},
		}}}
	}
	if len(t.Env) == 0 && len(t.Volumes) == 0 {
		return nil
	}
	return t
}

// freeName is want, or want-2, want-3, … when a volume of the step has it.
func freeName(want string, taken map[string]bool) string {
	name := want
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", want, i)
	}
	taken[name] = true
	return name
}

// secretEnv maps each secret variable with a secretKeyRef under the
// variable's own name, where the launcher looks for it. Literal
// variables are in the spec: the launcher sets them.
func secretEnv(env []ir.EnvVar) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, e := range env {
		if e.Secret == nil {
			continue
		}
		out = append(out, corev1.EnvVar{Name: e.Name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: e.Secret.Name},
			Key:                  e.Secret.Key,
		}}})
	}
	return out
}

// podTemplate is what a step asks of its pod's placement, for the
// PipelineRun's taskRunSpecs (Tekton sets pod templates per run only).
func podTemplate(s *ir.Step) (nodeSelector map[string]string, tolerations []corev1.Toleration) {
	for _, t := range s.Tolerations {
		tolerations = append(tolerations, corev1.Toleration{
			Key:               t.Key,
			Operator:          corev1.TolerationOperator(t.Operator),
			Value:             t.Value,
			Effect:            corev1.TaintEffect(t.Effect),
			TolerationSeconds: t.TolerationSeconds,
		})
	}
	return s.NodeSelector, tolerations
}

// checkLiteral reports the step's text that reaches Tekton outside the
// spec, in fields Tekton substitutes or constrains, and cannot be passed
// literally there.
func (c *compiler) checkLiteral(n *ir.Node) {
	s, path := n.Step, n.Path
	bad := func(p ir.Path, what, v string) {
		if strings.Contains(v, tektonSyntax) {
			c.fieldError(p, ErrUnsupported, "%s %q holds \"$(\", which Tekton would substitute", what, v)
		}
	}
	bad(path.Field("image"), "an image", s.Image)
	for i, e := range s.Env {
		if e.Secret != nil {
			bad(path.Field("env").Index(i).Field("secret").Field("key"), "a secret key", e.Secret.Key)
		}
	}
	for i, t := range s.Tolerations {
		tp := path.Field("tolerations").Index(i)
		bad(tp.Field("key"), "a toleration key", t.Key)
		bad(tp.Field("value"), "a toleration value", t.Value)
	}
	for i, v := range s.Volumes {
		vp := path.Field("volumes").Index(i)
		bad(vp.Field("mountPath"), "a mount path", v.MountPath)
		if v.EmptyDir != nil {
			bad(vp.Field("emptyDir").Field("medium"), "a medium", v.EmptyDir.Medium)
			if v.EmptyDir.SizeLimit != "" {
				if _, err := resource.ParseQuantity(v.EmptyDir.SizeLimit); err != nil {
					c.fieldError(vp.Field("emptyDir").Field("sizeLimit"), ErrUnsupported, "size limit %q", v.EmptyDir.SizeLimit)
				}
			}
		}
		mp := strings.TrimSuffix(v.MountPath, "/")
		for _, own := range []string{plan.LauncherDir, credentialsDir, "/tekton"} {
			if mp == own || strings.HasPrefix(mp, own+"/") || strings.HasPrefix(own, mp+"/") || mp == "" {
				c.fieldError(vp.Field("mountPath"), ErrUnsupported, "mount path %q meets %s, which the launcher or Tekton uses", v.MountPath, own)
				break
			}
		}
	}
	if s.Resources != nil {
		if _, err := kube.Resources(s.Resources); err != nil {
			c.fieldError(path.Field("resources"), ErrUnsupported, "%v", err)
		}
	}
}
