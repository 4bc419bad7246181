package kube

import (
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
