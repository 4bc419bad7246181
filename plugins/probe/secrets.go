package probe

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// KubeSecrets reads Secrets through the Kubernetes API: a plugin needs
// `get` on the credentials Secrets (the install manifests grant it).
type KubeSecrets struct {
	Client kubernetes.Interface
}

// Secret implements SecretGetter.
func (k KubeSecrets) Secret(ctx context.Context, namespace, name string) (map[string][]byte, error) {
	s, err := k.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return s.Data, nil
}

var _ SecretGetter = KubeSecrets{}
