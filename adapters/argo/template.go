package argo

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/ir"
)

// deadlineGrace is added to a step's timeout for the pod's deadline
// (activeDeadlineSeconds). The launcher times the command itself, as the
// local runner does; the pod's deadline only stops a pod that hangs
// around it: pulling the image, fetching inputs, storing outputs.
const deadlineGrace = 5 * 60

// command makes t run the command step n: the launcher, with the step in
// its spec and the runtime values as flags, in a container template shared
// by every step whose pod looks the same.
func (c *compiler) command(t *task, n *ir.Node) {
	spec, err := plan.Spec(c.p.Metadata.Name, n.Step)
	if err != nil {
		c.fail(fmt.Errorf("step %s: %w", n.Name(), err))
		return
	}
	ins := c.ins(t, n, stepRefs(n.Step), enclosingLoop(n))
	t.Template = c.container(t, n, len(ins))
	t.Arguments.Parameters = append(specArgs(spec, ins), t.Arguments.Parameters...)
	if c.opts.CachePlugin && n.Step.Cache.IsEnabled() {
		c.wraps = append(c.wraps, wrapped{task: t, container: t.Template, slots: len(ins)})
	}
}

// stepRefs lists the placeholders of a command step's own fields.
func stepRefs(s *ir.Step) []ir.Ref {
	var texts []string
	texts = append(texts, s.Command...)
	texts = append(texts, s.Args...)
	for _, e := range s.Env {
		texts = append(texts, e.Value)
	}
	if s.Inputs != nil {
		for _, ip := range s.Inputs.Params {
			texts = append(texts, ip.Value, ip.From)
		}
		for _, ia := range s.Inputs.Artifacts {
			texts = append(texts, ia.From)
		}
	}
	var refs []ir.Ref
	for _, text := range texts {
		if t, err := ir.ParseTemplate(text); err == nil {
			refs = append(refs, t.Refs()...)
		}
	}
	return refs
}

// specArgs are a task's arguments: the spec, then one per runtime value.
func specArgs(spec string, ins []string) []wfv1.Parameter {
	ps := []wfv1.Parameter{{Name: paramSpec, Value: wfv1.AnyStringPtr(spec)}}
	for i, in := range ins {
		ps = append(ps, wfv1.Parameter{Name: "in" + strconv.Itoa(i), Value: wfv1.AnyStringPtr(in)})
	}
	return ps
}

// launcherArgs are the launcher's arguments in a template with slots
// runtime values: the spec and each value come from the task.
func launcherArgs(cmd string, slots int) ([]string, []wfv1.Parameter) {
	args := []string{cmd, "--spec-b64={{inputs.parameters." + paramSpec + "}}", "--out-dir=" + OutDir,
		plan.Value{Key: "pipeline.runId", Text: "{{workflow.name}}"}.Arg()}
	inputs := []wfv1.Parameter{{Name: paramSpec}}
	for i := range slots {
		name := "in" + strconv.Itoa(i)
		args = append(args, "{{inputs.parameters."+name+"}}")
		inputs = append(inputs, wfv1.Parameter{Name: name})
	}
	return args, inputs
}

// container returns the name of the container template for step n (run
// by task t) with slots runtime values, making it unless a step with the
// same pod made it already. Steps whose pods differ only in their image
// share one template too, the image then a task argument (sharedImages).
func (c *compiler) container(t *task, n *ir.Node, slots int) string {
	s := n.Step
	args, inputs := launcherArgs("run", slots)
	tm := wfv1.Template{
		Inputs: wfv1.Inputs{Parameters: inputs},
		Container: &corev1.Container{
			Image: c.field(n, "image", s.Image),
			Args:  args,
		},
		NodeSelector: c.fields(n, "nodeSelector", s.NodeSelector),
	}
	for _, e := range s.Env {
		if e.Secret == nil {
			continue // the launcher sets it, from the spec
		}
		tm.Container.Env = append(tm.Container.Env, corev1.EnvVar{Name: e.Name, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: e.Secret.Name},
				Key:                  c.field(n, "env.secret.key", e.Secret.Key),
			},
		}})
	}
	res, err := kube.Resources(s.Resources)
	if err != nil {
		c.fail(fmt.Errorf("step %s: %w", n.Name(), err))
	}
	tm.Container.Resources = res
	tm.Outputs.Parameters = outputs(s.Outputs)
	tm.RetryStrategy = retry(s.Retry)
	if s.Timeout != nil {
		secs := int(math.Ceil(s.Timeout.Seconds())) + deadlineGrace
		v := intstr.FromInt(secs)
		tm.ActiveDeadlineSeconds = &v
	}
	for _, tol := range s.Tolerations {
		tm.Tolerations = append(tm.Tolerations, corev1.Toleration{
			Key:               c.field(n, "tolerations.key", tol.Key),
			Operator:          corev1.TolerationOperator(tol.Operator),
			Value:             c.field(n, "tolerations.value", tol.Value),
			Effect:            corev1.TaintEffect(tol.Effect),
			TolerationSeconds: tol.TolerationSeconds,
		})
	}
	for _, v := range s.Volumes {
		tm.Volumes = append(tm.Volumes, kube.Volume(v))
		tm.Container.VolumeMounts = append(tm.Container.VolumeMounts, corev1.VolumeMount{
			Name: v.Name, MountPath: c.field(n, "volumes.mountPath", v.MountPath), ReadOnly: v.ReadOnly,
		})
	}
	return c.pod(t, n.Name(), tm)
}

// pod adds the container template tm of a command step (run by task t)
// under name, unless one that differs at most in its image is there
// already, whose name it returns.
func (c *compiler) pod(t *task, name string, tm wfv1.Template) string {
	image := tm.Container.Image
	tm.Container.Image = ""
	b, err := json.Marshal(tm)
	if err != nil {
		c.fail(fmt.Errorf("template %s: %w", name, err))
		return name
	}
	sh, ok := c.pods[string(b)]
	if !ok {
		tm.Container.Image = image
		sh = &podShape{leaf: len(c.leaves), images: map[string]bool{}}
		c.pods[string(b)] = sh
		tm.Name = name
		c.leaves = append(c.leaves, tm)
	}
	sh.images[image] = true
	sh.users = append(sh.users, imageUser{t, image})
	return c.leaves[sh.leaf].Name
}

// podShape is a container template of command steps and the tasks that
// run it, each with its step's image.
type podShape struct {
	leaf   int // in c.leaves
	images map[string]bool
	users  []imageUser
}

type imageUser struct {
	task  *task
	image string
}

// sharedImages makes the image a parameter of every command template that
// steps with different images share: one template per pod shape, not per
// image, and an argument of a few bytes on each task instead.
func (c *compiler) sharedImages() {
	for _, b := range slices.Sorted(maps.Keys(c.pods)) {
		sh := c.pods[b]
		if len(sh.images) < 2 {
			continue
		}
		leaf := &c.leaves[sh.leaf]
		leaf.Container.Image = "{{inputs.parameters." + paramImage + "}}"
		leaf.Inputs.Parameters = append(leaf.Inputs.Parameters, wfv1.Parameter{Name: paramImage})
		for _, u := range sh.users {
			u.task.Arguments.Parameters = append(u.task.Arguments.Parameters, wfv1.Parameter{Name: paramImage, Value: wfv1.AnyStringPtr(u.image)})
		}
	}
}

// whenTemplate returns the name of the template that decides conditions
// with slots runtime values; filter says it also writes a loop's items.
func (c *compiler) whenTemplate(n *ir.Node, slots int, filter bool) string {
	args, inputs := launcherArgs("when", slots)
	t := wfv1.Template{
		Inputs:    wfv1.Inputs{Parameters: inputs},
		Container: &corev1.Container{Image: c.opts.LauncherImage, Args: args},
		Outputs: wfv1.Outputs{Parameters: []wfv1.Parameter{
			{Name: outWhen, ValueFrom: &wfv1.ValueFrom{Path: OutDir + "/" + outWhen}},
		}},
	}
	if filter {
		t.Outputs.Parameters = append(t.Outputs.Parameters,
			wfv1.Parameter{Name: outIterations, ValueFrom: &wfv1.ValueFrom{Path: OutDir + "/" + outIterations}})
	}
	return c.leaf(whenPrefix+n.Name(), t)
}

// leaf adds the container template t under name, unless an equal template
// is there already, whose name it returns.
func (c *compiler) leaf(name string, t wfv1.Template) string {
	b, err := json.Marshal(t)
	if err != nil {
		c.fail(fmt.Errorf("template %s: %w", name, err))
		return name
	}
	if have, ok := c.shapes[string(b)]; ok {
		return have
	}
	c.shapes[string(b)] = name
	t.Name = name
	c.leaves = append(c.leaves, t)
	return name
}

// field returns a value that goes into a field of the pod that Argo
// substitutes, or records why it cannot.
func (c *compiler) field(n *ir.Node, field, v string) string {
	if !safe(v) {
		c.fail(&FieldError{Step: n.Name(), Field: field, Value: v})
	}
	return v
}

func (c *compiler) fields(n *ir.Node, field string, m map[string]string) map[string]string {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		c.field(n, field, k)
		c.field(n, field, m[k])
	}
	return m
}

// outputs declares where Argo reads each output: the launcher writes the
// output NAME to OutDir/params.NAME or OutDir/artifacts.NAME (an
// artifact's URI, carrying its digest), and whether the step was a cache
// hit to OutDir/sluice-cached, which has a default, so that a launcher
// that does not write it still works.
func outputs(o *ir.Outputs) []wfv1.Parameter {
	var ps []wfv1.Parameter
	if o != nil {
		for _, p := range o.Params {
			ps = append(ps, wfv1.Parameter{Name: p.Name, ValueFrom: &wfv1.ValueFrom{Path: OutDir + "/params." + p.Name}})
		}
		for _, a := range o.Artifacts {
			ps = append(ps, wfv1.Parameter{Name: a.Name, ValueFrom: &wfv1.ValueFrom{Path: OutDir + "/artifacts." + a.Name}})
		}
	}
	return append(ps,
		wfv1.Parameter{Name: OutputCached, ValueFrom: &wfv1.ValueFrom{Path: OutDir + "/" + OutputCached, Default: wfv1.AnyStringPtr("false")}},
	)
}

// retry maps a step's retries. Argo's backoff factor is an integer: a
// fractional factor is rounded to the nearest one (at least 1).
func retry(r *ir.Retry) *wfv1.RetryStrategy {
	if r == nil || r.Limit == 0 {
		return nil
	}
	limit := intstr.FromInt(r.Limit)
	rs := &wfv1.RetryStrategy{Limit: &limit, RetryPolicy: wfv1.RetryPolicyAlways}
	if b := r.Backoff; b != nil && b.Duration != nil {
		f := 2.0
		if b.Factor != nil {
			f = *b.Factor
		}
		factor := intstr.FromInt(max(1, int(math.Round(f))))
		rs.Backoff = &wfv1.Backoff{Duration: b.Duration.String(), Factor: &factor}
		if b.Max != nil {
			rs.Backoff.Cap = b.Max.String()
		}
	}
	return rs
}
