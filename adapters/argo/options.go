package argo

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/plugins/argo/check"
)

// Options are what Compile needs besides the pipeline: where the objects
// go and how every step's pod reaches the launcher and the store.
type Options struct {
	// Namespace of the Workflow; empty leaves it to the submitter.
	Namespace string
	// ServiceAccount the steps' pods run as; empty for the namespace's default.
	ServiceAccount string
	// LauncherImage holds sluice-exec at /sluice-exec; an init container
	// copies it into every step's pod. Required.
	LauncherImage string
	// CacheURL is the store every step uses (cache.Open's form, usually
	// s3://…). Required: steps run in different pods and pass artifacts
	// through it.
	CacheURL string
	// CacheSecret names a Secret with the store's credentials (keys
	// accesskey, secretkey): it is mounted at CredentialsDir and the URL
	// gets ?credentials= pointing there.
	CacheSecret string
	// MaxBytes bounds the Workflow's JSON size; 0 means DefaultMaxBytes.
	MaxBytes int
	// CachePlugin makes every cacheable step ask Sluice's executor plugin
	// (plugins/argo, `sluice install argo-plugin`) first: a hit completes
	// the step with its recorded outputs and starts no pod. It needs
	// executor plugins enabled on Argo's controller (docs/argo.md).
	CachePlugin bool
}

// DefaultMaxBytes is the largest Workflow Compile writes unless told
// otherwise: Argo's own default limit on a Workflow (1 MiB), below etcd's
// 1.5 MiB request limit.
const DefaultMaxBytes = 1 << 20

// Where things are inside a step's pod.
const (
	// BinDir is the emptyDir that the init container fills with the launcher.
	BinDir = plan.LauncherDir
	// Launcher is the launcher's path in every step's container.
	Launcher = plan.Launcher
	// OutDir is where the launcher writes outputs (--out-dir), and where
	// Argo reads output parameters from.
	OutDir = "/tmp/sluice/out"
	// CredentialsDir is where the store's credentials Secret is mounted.
	CredentialsDir = "/sluice/cache-credentials"
)

// Names that Compile gives its own parts. They start with "sluice", which
// no step, parameter or output of a pipeline may (ir.ReservedPrefix), so
// they never collide with the user's names.
const (
	mainTemplate = "sluice-main"
	exitTemplate = "sluice-exit"
	whenPrefix   = "sluice-when-" // condition tasks and templates
	loopPrefix   = "sluice-loop-" // DAGs that bound a loop's parallelism
	taskPrefix   = "sluice-"      // task names that would start with a digit
	binVolume    = "sluice-bin"
	credsVolume  = "sluice-cache-credentials"
	initName     = "sluice-init"

	paramSpec  = "spec"  // a template input: the launcher's step spec
	paramItem  = "item"  // a DAG template input: the enclosing loop's element
	paramImage = "image" // a command template's image, when steps with others share it

	// OutputCached is the output parameter that says whether a step was
	// a cache hit ("true") or ran ("false").
	OutputCached = check.OutputCached
	outWhen      = launch.WhenFile // a condition's verdict: true or false
	// outIterations: a filtered loop's items, base64 each, with whether
	// each iteration runs.
	outIterations = launch.IterationsFile
)

// Labels on the Workflow.
const (
	// LabelPipeline holds the pipeline's name.
	LabelPipeline = "sluice.dev/pipeline"
)

func (o *Options) check() error {
	var errs []error
	if o.LauncherImage == "" {
		errs = append(errs, errors.New("no launcher image: every step's pod copies sluice-exec from it"))
	} else if !safe(o.LauncherImage) || strings.ContainsAny(o.LauncherImage, " \t\n") {
		errs = append(errs, fmt.Errorf("launcher image %q is not an image reference", o.LauncherImage))
	}
	if o.CacheURL == "" {
		errs = append(errs, errors.New("no cache store: steps run in separate pods and pass artifacts through a shared store; pass one (s3://bucket/prefix?endpoint=host:port)"))
	} else if !safe(o.CacheURL) || strings.Contains(o.CacheURL, "credentials=") {
		errs = append(errs, fmt.Errorf("cache URL %q: it must not carry credentials or Argo's {{ }}; name a credentials Secret instead", o.CacheURL))
	}
	for _, n := range []struct{ what, name string }{
		{"namespace", o.Namespace}, {"cache credentials Secret", o.CacheSecret},
	} {
		if n.name == "" {
			continue
		}
		if msgs := validation.IsDNS1123Subdomain(n.name); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s %q: %s", n.what, n.name, strings.Join(msgs, "; ")))
		}
	}
	if o.ServiceAccount != "" {
		if msgs := validation.IsDNS1123Subdomain(o.ServiceAccount); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("service account %q: %s", o.ServiceAccount, strings.Join(msgs, "; ")))
		}
	}
	if o.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("size limit %d: want 0 (the default) or more", o.MaxBytes))
	}
	return errors.Join(errs...)
}

// cacheURL is the store URL as the launcher gets it, pointing at the
// mounted credentials when there are any.
func (o *Options) cacheURL() string {
	if o.CacheSecret == "" {
		return o.CacheURL
	}
	sep := "?"
	if strings.Contains(o.CacheURL, "?") {
		sep = "&"
	}
	return o.CacheURL + sep + "credentials=" + CredentialsDir
}
