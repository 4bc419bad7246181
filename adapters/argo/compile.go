package argo

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/ir"
)

// SizeError is returned when a Workflow would be larger than the limit:
// the API server (or Argo, at 1 MiB) would refuse it.
type SizeError struct {
	Size  int // bytes of the Workflow's JSON
	Limit int
	Tasks int // tasks in all its DAGs
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("the Workflow is %d bytes (%d tasks), over the limit of %d bytes: "+
		"Argo refuses Workflows over 1 MiB and etcd requests over 1.5 MiB; split the pipeline, or raise the limit if your cluster allows",
		e.Size, e.Tasks, e.Limit)
}

// FieldError is returned for a pipeline field that Argo would substitute
// {{…}} into and that Compile therefore cannot write as it is (an image,
// a mount path, a node selector): unlike commands and values, such
// fields do not travel inside the launcher's spec.
type FieldError struct {
	Step, Field, Value string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("step %s: %s %q: Argo would read {{…}} or control characters in it as its own syntax", e.Step, e.Field, e.Value)
}

// Compile translates a validated pipeline, with every parameter's value
// (ir.Pipeline.ResolveParams), into an Argo Workflow. It is a pure
// function: no client, no clock, no randomness; equal inputs give equal
// Workflows.
//
// The Workflow has a DAG entrypoint; each command step is a task that
// runs the launcher (sluice-exec) in the step's image, with the step
// itself in the launcher's base64 spec, and each group a nested DAG
// template. See docs/argo.md for the design.
func Compile(p *ir.Pipeline, params map[string]ir.Value, opts Options) (*wfv1.Workflow, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	c := &compiler{
		p:        p,
		g:        p.Graph(),
		opts:     opts,
		params:   params,
		b64Param: map[string]bool{},
		shapes:   map[string]string{},
		pods:     map[string]*podShape{},
		own:      map[*ir.Node]*task{},
		itemB64:  map[*ir.Node]bool{},
	}
	wf := c.workflow()
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	limit := opts.MaxBytes
	if limit == 0 {
		limit = DefaultMaxBytes
	}
	b, err := json.Marshal(wf)
	if err != nil {
		return nil, fmt.Errorf("encode workflow: %w", err)
	}
	if len(b) > limit {
		return nil, &SizeError{Size: len(b), Limit: limit, Tasks: c.tasks}
	}
	return wf, nil
}

type compiler struct {
	p        *ir.Pipeline
	g        *ir.Graph
	opts     Options
	params   map[string]ir.Value
	b64Param map[string]bool // parameters whose workflow argument is base64

	scopes  []*scope             // DAG templates, in the order made
	leaves  []wfv1.Template      // container templates, in the order made
	shapes  map[string]string    // a container template's JSON → its name
	pods    map[string]*podShape // a command template's JSON, less its image
	own     map[*ir.Node]*task
	itemB64 map[*ir.Node]bool // loops whose items travel base64-encoded
	wraps   []wrapped         // tasks whose step the cache plugin checks first
	tasks   int
	errs    []error
}

func (c *compiler) fail(err error) { c.errs = append(c.errs, err) }

func (c *compiler) workflow() *wfv1.Workflow {
	spec := wfv1.WorkflowSpec{
		Entrypoint:         mainTemplate,
		Arguments:          wfv1.Arguments{Parameters: c.arguments()},
		ServiceAccountName: c.opts.ServiceAccount,
		Volumes:            c.volumes(),
		TemplateDefaults:   c.templateDefaults(),
	}
	c.dag(mainTemplate, nil, nil, c.g.Steps)
	if len(c.g.OnExit) > 0 {
		c.dag(exitTemplate, nil, nil, c.g.OnExit)
		spec.OnExit = exitTemplate
	}
	c.sharedImages()
	wrappers := c.wrappers()
	for _, s := range c.scopes {
		spec.Templates = append(spec.Templates, s.template())
	}
	spec.Templates = append(spec.Templates, wrappers...)
	spec.Templates = append(spec.Templates, c.leaves...)

	labels := maps.Clone(c.p.Metadata.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelPipeline] = c.p.Metadata.Name
	return &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: c.p.Metadata.Name + "-",
			Namespace:    c.opts.Namespace,
			Labels:       labels,
		},
		Spec: spec,
	}
}

// arguments are the pipeline's parameters as workflow arguments, so that
// they show in Argo's UI and `argo submit -p` can change them. A value
// that would not survive Argo's substitution is base64-encoded, and the
// steps read it with --in-b64.
func (c *compiler) arguments() []wfv1.Parameter {
	var out []wfv1.Parameter
	for _, prm := range c.p.Spec.Params {
		v, ok := c.params[prm.Name]
		if !ok {
			c.fail(fmt.Errorf("parameter %q has no value", prm.Name))
			continue
		}
		a := wfv1.Parameter{Name: prm.Name, Value: wfv1.AnyStringPtr(v.String())}
		if !literal(v.String()) {
			c.b64Param[prm.Name] = true
			a.Value = wfv1.AnyStringPtr(plan.B64(v.String()))
			a.Description = wfv1.AnyStringPtr("base64 of the value, which Argo would otherwise read as its own syntax")
		}
		out = append(out, a)
	}
	return out
}

// volumes are mounted into every pod: the launcher's directory and the
// store's credentials.
func (c *compiler) volumes() []corev1.Volume {
	vs := []corev1.Volume{{Name: binVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	if c.opts.CacheSecret != "" {
		vs = append(vs, corev1.Volume{Name: credsVolume, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: c.opts.CacheSecret},
		}})
	}
	return vs
}

// templateDefaults says once what every pod has: the init container that
// copies the launcher in, the launcher as the command, the store. Argo
// merges it into each template before it makes a pod, the container part
// into container templates only.
func (c *compiler) templateDefaults() *wfv1.Template {
	bin := corev1.VolumeMount{Name: binVolume, MountPath: BinDir}
	mounts := []corev1.VolumeMount{bin}
	if c.opts.CacheSecret != "" {
		mounts = append(mounts, corev1.VolumeMount{Name: credsVolume, MountPath: CredentialsDir, ReadOnly: true})
	}
	return &wfv1.Template{
		InitContainers: []wfv1.UserContainer{{Container: corev1.Container{
			Name:         initName,
			Image:        c.opts.LauncherImage,
			Command:      plan.Copy(),
			VolumeMounts: []corev1.VolumeMount{bin},
		}}},
		Container: &corev1.Container{
			Command:      []string{Launcher},
			Env:          []corev1.EnvVar{{Name: "SLUICE_CACHE", Value: c.opts.cacheURL()}},
			VolumeMounts: mounts,
		},
	}
}

// taskName is a node's task name: its step name, unless that starts with a
// digit, which Argo's depends expressions cannot name.
func taskName(n *ir.Node) string {
	if name := n.Name(); name[0] >= '0' && name[0] <= '9' {
		return taskPrefix + name
	}
	return n.Name()
}

// StepOf maps a task name back to its step's name ("" for Sluice's own
// tasks, such as conditions).
func StepOf(task string) string {
	rest, ok := strings.CutPrefix(task, taskPrefix)
	if !ok {
		return task
	}
	if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return rest
	}
	return ""
}

// sortedRefs returns the distinct refs in key order, item.KEY folded into
// item (the launcher reads fields of the item itself).
func sortedRefs(refs []ir.Ref) []ir.Ref {
	seen := map[string]ir.Ref{}
	for _, r := range refs {
		if r.Kind == ir.RefItem {
			r.Name = ""
		}
		seen[r.String()] = r
	}
	keys := slices.Sorted(maps.Keys(seen))
	out := make([]ir.Ref, len(keys))
	for i, k := range keys {
		out[i] = seen[k]
	}
	return out
}
