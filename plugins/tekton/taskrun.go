package tekton

import (
	"strconv"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/kmeta"

	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// taskRunName names the TaskRun of an attempt (0, 1, …) of the
// execution: CUSTOMRUN-ATTEMPT, or CUSTOMRUN-INDEX-ATTEMPT for the
// iteration of a loop over item INDEX. The same every time, so that
// creating it twice finds the first, and within Kubernetes' 63
// characters for the label values Tekton copies it into
// (kmeta.ChildName shortens it with a hash).
func (x *execution) taskRunName(attempt int) string {
	suffix := "-" + strconv.Itoa(attempt)
	if x.item != nil {
		suffix = "-" + strconv.Itoa(x.item.Index) + suffix
	}
	return kmeta.ChildName(x.cr.Name, suffix)
}

// newTaskRun is the TaskRun that runs the current attempt of an
// execution: what Tekton would have created for the step's pipeline task
// (its Task, parameters, service account, timeout and pod template; for
// an iteration, with its item, as for a matrix's TaskRun), owned by the
// CustomRun and labelled as it is (the PipelineRun, the pipeline task),
// so that it shows with the run's TaskRuns; Tekton's PipelineRun
// reconciler keeps to the TaskRuns the PipelineRun owns. It has no
// retries: the controller retries.
func newTaskRun(x *execution) *v1.TaskRun {
	cr, spec := x.cr, x.spec
	tr := &v1.TaskRun{
		TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            x.taskRunName(x.attempt()),
			Namespace:       cr.Namespace,
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(cr)},
			Labels:          map[string]string{},
			Annotations:     map[string]string{},
		},
		Spec: v1.TaskRunSpec{
			Params:             x.params(),
			ServiceAccountName: cr.Spec.ServiceAccountName,
			Timeout:            cr.Spec.Timeout,
			PodTemplate:        spec.PodTemplate.DeepCopy(),
			TaskRef:            spec.TaskRef.DeepCopy(),
		},
	}
	if spec.TaskSpec != nil {
		tr.Spec.TaskSpec = spec.TaskSpec.DeepCopy()
	}
	for k, v := range cr.Labels {
		tr.Labels[k] = v
	}
	tr.Labels[cachedstep.LabelCustomRun] = cr.Name
	for k, v := range cr.Annotations {
		if k != corev1.LastAppliedConfigAnnotation {
			tr.Annotations[k] = v
		}
	}
	return tr
}

// params are the parameters of the execution's TaskRuns: the CustomRun's;
// for an iteration, its item first (as Tekton puts a matrix
// combination's before the pipeline task's), and not the loop's own.
func (x *execution) params() v1.Params {
	if x.item == nil {
		return params(x.cr.Spec.Params)
	}
	l := x.spec.Loop
	out := v1.Params{{Name: l.Param, Value: *v1.NewStructuredValues(x.item.Text)}}
	for _, p := range params(x.cr.Spec.Params) {
		switch p.Name {
		case l.Param, l.ItemsParam, l.RunsParam:
		default:
			out = append(out, p)
		}
	}
	return out
}

// params are a CustomRun's parameters (v1beta1, as CustomRuns still are)
// as a TaskRun's: the same fields.
func params(ps v1beta1.Params) v1.Params {
	var out v1.Params
	for _, p := range ps {
		out = append(out, v1.Param{Name: p.Name, Value: v1.ParamValue{
			Type:      v1.ParamType(p.Value.Type),
			StringVal: p.Value.StringVal,
			ArrayVal:  p.Value.ArrayVal,
			ObjectVal: p.Value.ObjectVal,
		}})
	}
	return out
}
