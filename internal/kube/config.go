package kube

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Flags are kubectl's connection flags.
type Flags struct {
	Kubeconfig string // --kubeconfig; empty: $KUBECONFIG, then ~/.kube/config
	Context    string // --context; empty: the kubeconfig's current context
	Namespace  string // -n; empty: the context's namespace
}

// Load returns the client configuration and the namespace to use. With
// no kubeconfig to be found, inside a pod, it is the in-cluster
// configuration and the pod's own namespace. The namespace is -n, else
// the context's, else "default".
func (f Flags) Load() (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f.Kubeconfig != "" {
		rules.ExplicitPath = f.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: f.Context}
	if f.Namespace != "" {
		overrides.Context.Namespace = f.Namespace
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes client configuration: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes namespace: %w", err)
	}
	if ns == "" {
		ns = "default"
	}
	// Watches and log streams are long: no client-side timeout.
	cfg.Timeout = 0
	if cfg.UserAgent == "" {
		cfg.UserAgent = "sluice"
	}
	return cfg, ns, nil
}

// Connect makes the clientsets of a cluster adapter for cfg: the
// engine's own (newEngine, its clientset's NewForConfig) and client-go's,
// for pods and their logs. engine names the first in errors.
func Connect[C any](cfg *rest.Config, engine string, newEngine func(*rest.Config) (C, error)) (C, kubernetes.Interface, error) {
	e, err := newEngine(cfg)
	if err != nil {
		return e, nil, fmt.Errorf("%s client: %w", engine, err)
	}
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return e, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return e, k, nil
}
