package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"

	"github.com/argoproj/argo-workflows/v3/pkg/plugins/spec"
	argoplugins "github.com/argoproj/argo-workflows/v3/workflow/util/plugins"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/sluice-dev/sluice/internal/kube"
	argoplugin "github.com/sluice-dev/sluice/plugins/argo"
	"github.com/sluice-dev/sluice/plugins/probe"
)

func init() {
	registerPluginServer("argo", pluginServer{
		short: "Serve the Argo Executor Plugin (a sidecar of each Workflow's agent pod)",
		flags: argoServeFlags,
	})
	registerComponent("argo-plugin", component{
		short: "The Argo Executor Plugin: its ConfigMap, ServiceAccount and RBAC",
		flags: argoInstallFlags,
	})
}

// The plugin's names in the cluster. Argo names the ConfigMap after the
// plugin (NAME-executor-plugin) and mounts the token of the
// ServiceAccount of the same name into the sidecar
// (workflow/util/plugins.ToConfigMap, workflow/controller/agent.go).
const (
	argoPluginName = "sluice-cache"
	argoPluginSA   = argoPluginName + "-executor-plugin"
	argoAgentRole  = "sluice-cache-agent"
	// argoAgentUser is the user Argo runs the agent pod as
	// (common.MinimalPodSC). Its init container writes the token file
	// mode 0440 as that user, so the sidecar must be that user to read it.
	argoAgentUser = 8737
)

type argoServeOptions struct {
	addr, tokenFile string
	kube            kube.Flags
}

func argoServeFlags(cmd *cobra.Command) func(ctx context.Context, cmd *cobra.Command) error {
	o := &argoServeOptions{}
	cmd.Long = `Serve Sluice's Argo Executor Plugin: Argo's agent POSTs every plugin node
of a Workflow to /api/v1/template.execute. For a step compiled with
--cache-plugin the plugin looks the step up in the shared cache and
answers a hit (the step's outputs; its pod never starts) or a miss (the pod
runs). Any fault is a miss with its reason. It runs as a sidecar of the
Workflow's agent pod, laid out by 'sluice install argo-plugin'; it reads the
credentials Secrets that steps name through the Kubernetes API, with the
in-cluster configuration unless --kubeconfig says otherwise.

Stops gracefully on SIGTERM.`
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", argoplugin.DefaultAddr, "address to listen on: Argo's agent calls http://localhost:PORT, PORT being the sidecar's container port")
	f.StringVar(&o.tokenFile, "token-file", argoplugin.DefaultTokenFile, "file with the token the agent sends (Argo mounts it there)")
	f.StringVar(&o.kube.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: the in-cluster config; $KUBECONFIG or ~/.kube/config outside a pod)")
	return func(ctx context.Context, cmd *cobra.Command) error { return serveArgoPlugin(ctx, o, cmd.ErrOrStderr()) }
}

// serveArgoPlugin serves until ctx ends (SIGTERM, Ctrl-C).
func serveArgoPlugin(ctx context.Context, o *argoServeOptions, stderr io.Writer) error {
	logger := log.New(stderr, "sluice-argo-plugin: ", log.LstdFlags|log.LUTC)
	token, err := argoplugin.ReadToken(o.tokenFile)
	if err != nil {
		return err
	}
	prober := &probe.Prober{}
	if secrets, err := kubeSecrets(o.kube); err != nil {
		// Still useful: stores that need no Secret hit, and the others
		// miss with this reason.
		logger.Printf("warning: credentials Secrets cannot be read: %v", err)
	} else {
		prober.Secrets = secrets
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger.Printf("serving %s on %s", argoplugin.ExecutePath, ln.Addr())
	err = argoplugin.Serve(ctx, ln, &argoplugin.Plugin{Prober: prober, Token: token, Log: logger}, 0)
	logger.Printf("stopped")
	return err
}

func kubeSecrets(f kube.Flags) (probe.SecretGetter, error) {
	cfg, _, err := f.Load()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return probe.KubeSecrets{Client: cs}, nil
}

type argoInstallOptions struct {
	namespace   string
	image       string
	port        int32
	workflowSA  string
	cacheSecret string
}

func argoInstallFlags(cmd *cobra.Command) func() ([]any, error) {
	o := &argoInstallOptions{}
	cmd.Long = `Print what Sluice's Argo Executor Plugin needs in a namespace where
Workflows run, for 'kubectl apply -f -':

  - the ExecutorPlugin ConfigMap (sluice-cache-executor-plugin): the sidecar
    that Argo adds to each Workflow's agent pod, running
    'sluice plugin serve argo';
  - its ServiceAccount (sluice-cache-executor-plugin, whose token Argo
    mounts into the sidecar), that token's Secret, and a Role that lets it
    read the store's credentials Secrets;
  - with --workflow-service-account, what Argo's agent needs of the
    Workflows' own ServiceAccount: a Role on WorkflowTaskSets and that
    account's token Secret.

Argo's controller must run with ARGO_EXECUTOR_PLUGINS=true; see
docs/argo.md ("Cache plugin").`
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the objects: where the Workflows run (default: kubectl's)")
	f.StringVar(&o.image, "image", defaultPluginImage(), "image holding the sluice binary at /usr/bin/sluice")
	f.Int32Var(&o.port, "port", 4355, "port the plugin listens on, in the agent pod")
	f.StringVar(&o.workflowSA, "workflow-service-account", "", "ServiceAccount the Workflows run as: grant it what Argo's agent needs")
	f.StringVar(&o.cacheSecret, "cache-secret", "", "let the plugin read only this Secret (the --cache-secret of compile and submit); default: any Secret of the namespace")
	return func() ([]any, error) { return argoPluginObjects(o) }
}

// argoPluginObjects are the manifests, in the order to apply them: a
// ServiceAccount before its token Secret (the token controller deletes a
// token Secret whose account does not exist).
func argoPluginObjects(o *argoInstallOptions) ([]any, error) {
	if o.port < 1 || o.port > 65535 {
		return nil, usageErrorf("--port %d: want 1 to 65535", o.port)
	}
	for _, n := range []struct{ flag, name string }{
		{"namespace", o.namespace}, {"workflow-service-account", o.workflowSA}, {"cache-secret", o.cacheSecret},
	} {
		if n.name == "" {
			continue
		}
		if msgs := validation.IsDNS1123Subdomain(n.name); len(msgs) > 0 {
			return nil, usageErrorf("--%s %q: %s", n.flag, n.name, msgs[0])
		}
	}
	if o.image == "" {
		return nil, usageErrorf("--image: want an image reference")
	}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "sluice"}}
	}
	secretRule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}
	if o.cacheSecret != "" {
		secretRule.ResourceNames = []string{o.cacheSecret}
	}
	objs := []any{
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(argoPluginSA)},
		tokenSecret(meta, argoPluginSA),
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: meta(argoPluginSA),
			Rules:      []rbacv1.PolicyRule{secretRule},
		},
		roleBinding(meta(argoPluginSA), argoPluginSA, argoPluginSA),
	}
	if o.workflowSA != "" {
		objs = append(objs,
			&rbacv1.Role{
				TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
				ObjectMeta: meta(argoAgentRole),
				// Argo's own agent role (manifests/quick-start/base/agent-role.yaml):
				// the agent watches its Workflow's WorkflowTaskSet and
				// patches the results into its status.
				Rules: []rbacv1.PolicyRule{
					{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtasksets"}, Verbs: []string{"list", "watch"}},
					{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtasksets/status"}, Verbs: []string{"patch"}},
				},
			},
			roleBinding(meta(argoAgentRole+"-"+o.workflowSA), argoAgentRole, o.workflowSA),
			// The agent pod mounts this account's token from this Secret
			// (workflow/controller/agent.go, util/secrets): Kubernetes
			// 1.24 and later no longer make one.
			tokenSecret(meta, o.workflowSA),
		)
	}
	cm, err := argoplugins.ToConfigMap(&spec.Plugin{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "ExecutorPlugin"},
		ObjectMeta: meta(argoPluginName),
		Spec: spec.PluginSpec{Sidecar: spec.Sidecar{
			AutomountServiceAccountToken: true,
			Container:                    argoSidecar(o.image, o.port),
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("executor plugin: %w", err)
	}
	return append(objs, cm), nil
}

// argoSidecar is the plugin's container in the agent pod: small, not
// root, with nothing to write. Argo calls it at the first port's number.
func argoSidecar(image string, port int32) corev1.Container {
	return corev1.Container{
		Name:    argoPluginSA, // also the directory of its token under /var/run/argo
		Image:   image,
		Command: []string{"/usr/bin/sluice"},
		Args:    []string{"plugin", "serve", "argo", "--addr", "127.0.0.1:" + strconv.Itoa(int(port))},
		Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: port}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			RunAsUser:                ptr.To(int64(argoAgentUser)),
			ReadOnlyRootFilesystem:   ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Privileged:               ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// tokenSecret is a long-lived token of the ServiceAccount sa, under the
// name Argo looks for when the account names none (NAME.service-account-token).
func tokenSecret(meta func(string) metav1.ObjectMeta, sa string) *corev1.Secret {
	m := meta(sa + ".service-account-token")
	m.Annotations = map[string]string{corev1.ServiceAccountNameKey: sa}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: m,
		Type:       corev1.SecretTypeServiceAccountToken,
	}
}

func roleBinding(m metav1.ObjectMeta, role, sa string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: m,
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: m.Namespace}},
	}
}
