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

// taskRunName names the TaskRun of an attempt (0, 1, …) of a CustomRun:
// the same every time, so that creating it twice finds the first, and
// within Kubernetes' 63 characters for the label values Tekton copies it
// into (kmeta.ChildName shortens it with a hash).
func taskRunName(cr *v1beta1.CustomRun, attempt int) string {
	return kmeta.ChildName(cr.Name, "-"+strconv.Itoa(attempt))
}

// attempt is the number of the CustomRun's current attempt, from 0.
func attempt(cr *v1beta1.CustomRun) int { return len(cr.Status.RetriesStatus) }

// taskRun is the TaskRun that runs an attempt of a CachedStep: what Tekton
// would have created for the step's pipeline task (its Task, parameters,
// service account, timeout and pod template), owned by the CustomRun and
// labelled as it is (the PipelineRun, the pipeline task), so that it shows
// with the run's TaskRuns; Tekton's PipelineRun reconciler keeps to the
// TaskRuns the PipelineRun owns. It has no retries: the CustomRun retries.
func taskRun(cr *v1beta1.CustomRun, spec *cachedstep.Spec) *v1.TaskRun {
	tr := &v1.TaskRun{
		TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            taskRunName(cr, attempt(cr)),
			Namespace:       cr.Namespace,
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(cr)},
			Labels:          map[string]string{},
			Annotations:     map[string]string{},
		},
		Spec: v1.TaskRunSpec{
			Params:             params(cr.Spec.Params),
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
