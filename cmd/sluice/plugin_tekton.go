package main

import (
	"context"

	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektonscheme "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/scheme"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/plugins/probe"
	tektonplugin "github.com/sluice-dev/sluice/plugins/tekton"
)

func init() {
	registerPluginServer("tekton", pluginServer{
		short: "Run the Tekton custom task controller of CachedSteps (a Deployment)",
		flags: tektonServeFlags,
	})
	registerComponent("tekton-plugin", component{
		short: "The Tekton CachedStep controller: its Namespace, ServiceAccount, RBAC and Deployment",
		flags: tektonInstallFlags,
	})
}

// tektonPluginName names the controller's ServiceAccount, ClusterRole,
// ClusterRoleBinding and Deployment, and the component of its Events.
const tektonPluginName = "sluice-tekton-plugin"

type tektonServeOptions struct {
	kube    kube.Flags
	workers int
	timeout time.Duration
}

func tektonServeFlags(cmd *cobra.Command) func(ctx context.Context, cmd *cobra.Command) error {
	o := &tektonServeOptions{}
	cmd.Long = `Run Sluice's Tekton custom task controller. A pipeline compiled with
'sluice compile -t tekton --cache-plugin' has a CachedStep custom task
(apiVersion sluice.dev/v1alpha1) where each cacheable step's TaskRun would
be; Tekton creates a CustomRun for it, which this controller runs: it looks
the step up in the shared cache with the command line the step's pod would
run, completes the CustomRun from a hit (no pod), or runs the step as a
TaskRun and completes the CustomRun with its results. A fault of the lookup
is a miss with its reason. It honours cancellation, timeouts and retries.

It watches every namespace unless -n names one, with the in-cluster
configuration inside a pod ('sluice install tekton-plugin' lays it out as a
Deployment). Stops gracefully on SIGTERM: the reconciles in progress end
first.`
	f := cmd.Flags()
	f.StringVar(&o.kube.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: the in-cluster config in a pod; $KUBECONFIG or ~/.kube/config outside)")
	f.StringVar(&o.kube.Context, "context", "", "kubeconfig context to use")
	f.StringVarP(&o.kube.Namespace, "namespace", "n", "", "watch only this namespace (default: all namespaces)")
	f.IntVar(&o.workers, "workers", 4, "CustomRuns reconciled at once")
	f.DurationVar(&o.timeout, "lookup-timeout", probe.DefaultTimeout, "bound on one cache lookup: a slower store is a miss")
	return func(ctx context.Context, cmd *cobra.Command) error {
		return serveTektonPlugin(ctx, o, cmd.ErrOrStderr())
	}
}

// serveTektonPlugin runs the controller until ctx ends (SIGTERM, Ctrl-C).
func serveTektonPlugin(ctx context.Context, o *tektonServeOptions, stderr io.Writer) error {
	if o.workers < 1 {
		return usageErrorf("--workers %d: want at least 1", o.workers)
	}
	if o.timeout <= 0 {
		return usageErrorf("--lookup-timeout %v: want a positive duration", o.timeout)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("component", tektonPluginName)
	ns := o.kube.Namespace // Load's namespace defaults to the context's: all here
	cfg, _, err := o.kube.Load()
	if err != nil {
		return err
	}
	tk, k, err := kube.Connect(cfg, "tekton", versioned.NewForConfig)
	if err != nil {
		return err
	}
	secrets := probe.KubeSecrets{Client: k}
	events := record.NewBroadcaster(record.WithContext(ctx))
	defer events.Shutdown()
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: k.CoreV1().Events("")})
	c := &tektonplugin.Controller{
		Reconciler: tektonplugin.Reconciler{
			Tekton: tk,
			Prober: &probe.Prober{Secrets: secrets, Timeout: o.timeout},
			Events: events.NewRecorder(tektonscheme.Scheme, corev1.EventSource{Component: tektonPluginName}),
		},
		Namespace: ns,
		Workers:   o.workers,
		Log:       log,
	}
	return c.Run(ctx)
}

type tektonInstallOptions struct {
	namespace string
	image     string
}

func tektonInstallFlags(cmd *cobra.Command) func() ([]any, error) {
	o := &tektonInstallOptions{}
	cmd.Long = `Print the manifests of Sluice's Tekton CachedStep controller, for
'kubectl apply -f -': its Namespace, a ServiceAccount, a ClusterRole (it
runs CustomRuns in every namespace: it reads and updates them, creates and
cancels their TaskRuns, reads the Tasks they reference and the store's
credentials Secrets, and records Events) bound to it, and a Deployment of
one replica running 'sluice plugin serve tekton' as a non-root user with a
read-only root filesystem.

Tekton needs no feature flag for custom tasks; see docs/tekton.md ("Cache
plugin").`
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "sluice-system", "namespace of the controller")
	f.StringVar(&o.image, "image", defaultPluginImage(), "image holding the sluice binary at /usr/bin/sluice")
	return func() ([]any, error) { return tektonPluginObjects(o) }
}

// tektonPluginObjects are the manifests, in the order to apply them.
func tektonPluginObjects(o *tektonInstallOptions) ([]any, error) {
	if msgs := validation.IsDNS1123Label(o.namespace); len(msgs) > 0 {
		return nil, usageErrorf("--namespace %q: %s", o.namespace, msgs[0])
	}
	if o.image == "" {
		return nil, usageErrorf("--image: want an image reference")
	}
	labels := map[string]string{"app.kubernetes.io/name": tektonPluginName, "app.kubernetes.io/part-of": "sluice"}
	meta := func(name, ns string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
	}
	rbac := func(kind string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: kind}
	}
	tekton := func(resources []string, verbs ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{"tekton.dev"}, Resources: resources, Verbs: verbs}
	}
	yes, no := true, false
	nonRoot := int64(65532)
	replicas := int32(1)
	tmpSize := resource.MustParse("64Mi")
	return []any{
		&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: meta(o.namespace, "")},
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(tektonPluginName, o.namespace)},
		&rbacv1.ClusterRole{
			TypeMeta:   rbac("ClusterRole"),
			ObjectMeta: meta(tektonPluginName, ""),
			Rules: []rbacv1.PolicyRule{
				tekton([]string{"customruns"}, "get", "list", "watch", "update", "patch"),
				tekton([]string{"customruns/status"}, "update", "patch"),
				// The TaskRun of a miss: created, followed, cancelled.
				tekton([]string{"taskruns"}, "create", "get", "list", "watch", "patch"),
				// The Task a CachedStep references (--emit pipeline).
				tekton([]string{"tasks"}, "get"),
				// The store's credentials, which the steps' pods mount.
				{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
				{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
			},
		},
		&rbacv1.ClusterRoleBinding{
			TypeMeta:   rbac("ClusterRoleBinding"),
			ObjectMeta: meta(tektonPluginName, ""),
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: tektonPluginName},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: tektonPluginName, Namespace: o.namespace}},
		},
		&appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta(tektonPluginName, o.namespace),
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				// One controller at a time: no two reconcile a CustomRun
				// together while a new version replaces the old.
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						ServiceAccountName: tektonPluginName,
						SecurityContext: &corev1.PodSecurityContext{
							RunAsNonRoot:   &yes,
							RunAsUser:      &nonRoot,
							RunAsGroup:     &nonRoot,
							SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
						Containers: []corev1.Container{{
							Name:    "controller",
							Image:   o.image,
							Command: []string{"/usr/bin/sluice"},
							Args:    []string{"plugin", "serve", "tekton"},
							// The store's client may spill to a temporary
							// file; the root filesystem is read-only.
							Env:          []corev1.EnvVar{{Name: "TMPDIR", Value: "/tmp"}},
							VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
							Resources: corev1.ResourceRequirements{
								Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
								Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
							},
							SecurityContext: &corev1.SecurityContext{
								ReadOnlyRootFilesystem:   &yes,
								AllowPrivilegeEscalation: &no,
								Privileged:               &no,
								Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							},
						}},
						Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
							SizeLimit: &tmpSize,
						}}}},
					},
				},
			},
		},
	}, nil
}
