package conformance

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/kube"
	"github.com/sluice-dev/sluice/internal/report"
)

// BackendNames are the backends New makes.
var BackendNames = []string{"local", "argo", "tekton", "argo-plugin", "tekton-plugin"}

// Options are what New needs to make backends.
type Options struct {
	// Dir is where the local backend keeps its stores and runs.
	Dir string
	// Kube reaches the cluster of the argo and tekton backends.
	Kube kube.Flags
	// Cluster is what both cluster backends share.
	Cluster Cluster
}

// New makes the named backends. One that cannot be made (no cluster to
// reach) is still returned, as a backend whose every case fails with
// the reason: a backend is never left out silently.
func New(names []string, o Options) ([]Backend, error) {
	if o.Cluster.Prefix == "" {
		o.Cluster.Prefix = "play-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	var out []Backend
	for _, name := range names {
		var b Backend
		var err error
		switch name {
		case "local":
			b = &Local{Dir: o.Dir}
		case "argo", "argo-plugin":
			var c *argo.Client
			if c, err = connect(o.Kube, argo.NewClient); err == nil {
				b = &Argo{Cluster: o.Cluster, Client: c, Plugin: name == "argo-plugin"}
			}
		case "tekton", "tekton-plugin":
			var c *tekton.Client
			if c, err = connect(o.Kube, tekton.NewClient); err == nil {
				b = &Tekton{Cluster: o.Cluster, Client: c, Plugin: name == "tekton-plugin"}
			}
		default:
			return nil, fmt.Errorf("no backend %q: want one of %s", name, strings.Join(BackendNames, ", "))
		}
		if err != nil {
			b = &unavailable{name: name, err: err}
		}
		out = append(out, b)
	}
	return out, nil
}

func connect[C any](f kube.Flags, newClient func(cfg *rest.Config, ns string) (C, error)) (C, error) {
	var zero C
	cfg, ns, err := f.Load()
	if err != nil {
		return zero, err
	}
	return newClient(cfg, ns)
}

// unavailable is a backend that could not be made: every case fails with
// why.
type unavailable struct {
	name string
	err  error
}

func (u *unavailable) Name() string { return u.name }

func (u *unavailable) Store(context.Context, *Case) (string, Values, error) {
	return "", nil, fmt.Errorf("backend unavailable: %w", u.err)
}

func (u *unavailable) Run(context.Context, *Case, string) (*report.Summary, error) {
	return nil, fmt.Errorf("backend unavailable: %w", u.err)
}
