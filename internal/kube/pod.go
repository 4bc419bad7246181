package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/sluice-dev/sluice/ir"
)

// Volume is the pod volume of an IR volume, the same for every engine.
// Quantities were checked by ir's validation.
func Volume(v ir.Volume) corev1.Volume {
	out := corev1.Volume{Name: v.Name}
	switch {
	case v.EmptyDir != nil:
		e := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMedium(v.EmptyDir.Medium)}
		if v.EmptyDir.SizeLimit != "" {
			if q, err := resource.ParseQuantity(v.EmptyDir.SizeLimit); err == nil {
				e.SizeLimit = &q
			}
		}
		out.EmptyDir = e
	case v.Secret != nil:
		out.Secret = &corev1.SecretVolumeSource{SecretName: v.Secret.SecretName}
	case v.ConfigMap != nil:
		out.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: v.ConfigMap.Name}}
	case v.PersistentVolumeClaim != nil:
		out.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.PersistentVolumeClaim.ClaimName, ReadOnly: v.ReadOnly}
	}
	return out
}

// Resources are a step container's requests and limits, the same for
// every engine; GPUs are a limit on their extended resource (Kubernetes
// requests as much).
func Resources(r *ir.Resources) (corev1.ResourceRequirements, error) {
	var out corev1.ResourceRequirements
	if r == nil {
		return out, nil
	}
	list := func(m map[string]string) (corev1.ResourceList, error) {
		if len(m) == 0 {
			return nil, nil
		}
		l := corev1.ResourceList{}
		for k, v := range m {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return nil, fmt.Errorf("resources %s: %w", k, err)
			}
			l[corev1.ResourceName(k)] = q
		}
		return l, nil
	}
	var err error
	if out.Requests, err = list(r.Requests); err != nil {
		return out, err
	}
	if out.Limits, err = list(r.Limits); err != nil {
		return out, err
	}
	if g := r.GPUs; g != nil {
		name := g.Resource
		if name == "" {
			name = ir.DefaultGPUResource
		}
		if out.Limits == nil {
			out.Limits = corev1.ResourceList{}
		}
		out.Limits[corev1.ResourceName(name)] = *resource.NewQuantity(int64(g.Count), resource.DecimalSI)
		delete(out.Requests, corev1.ResourceName(name))
	}
	return out, nil
}
