package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sluice-dev/sluice/cache"
	_ "github.com/sluice-dev/sluice/cache/s3" // the s3:// store of the clusters' runs
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/report"
)

// Cluster is what the Argo and Tekton backends share: where the cases'
// stores go, and how long a run may take.
type Cluster struct {
	// Store is an S3 store URL (s3://bucket/prefix?endpoint=…) that the
	// steps' pods and this process both reach; each case gets a prefix of
	// its own under it, new for every play.
	Store string
	// CacheSecret is the Secret of the store's credentials in the runs'
	// namespace (keys accesskey, secretkey); this process reads them
	// from its environment as cache/s3 does.
	CacheSecret string
	// LauncherImage is the image holding sluice-exec, present on the
	// cluster's nodes.
	LauncherImage string
	// Timeout bounds one run; 10 minutes when zero.
	Timeout time.Duration
	// Prefix is this play's under Store, new for every play so that the
	// first run of a case finds an empty store (New sets it).
	Prefix string
}

// Store implements Backend's: a new prefix for the case under c.Store,
// and the values of value refs read from it.
func (c *Cluster) store(ctx context.Context, cs *Case, backend string) (string, Values, error) {
	if c.Store == "" {
		return "", nil, errors.New("no store: a cluster backend needs an S3 store its pods reach")
	}
	u, err := url.Parse(c.Store)
	if err != nil {
		return "", nil, fmt.Errorf("store %q: %w", c.Store, err)
	}
	u.Path = path.Join("/", u.Path, c.Prefix, backend, cs.Name)
	s, err := cache.Open(ctx, u.String())
	if err != nil {
		return "", nil, err
	}
	return u.String(), func(ctx context.Context, text string) (string, error) {
		if !launch.IsValueRef(text) {
			return text, nil
		}
		return launch.GetValue(ctx, s, text)
	}, nil
}

// countPods counts the pods of ns that selector selects, but for those
// skip leaves out, and those among them whose step (stepOf) the run
// reports Cached.
func countPods(ctx context.Context, k kubernetes.Interface, ns, selector string, s *report.Summary, skip func(*corev1.Pod) bool, stepOf func(*corev1.Pod) string) (Pods, error) {
	list, err := k.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return Pods{}, err
	}
	var n Pods
	for i := range list.Items {
		p := &list.Items[i]
		if skip != nil && skip(p) {
			continue
		}
		n.All++
		if st := s.Step(stepOf(p)); st != nil && st.State == report.Cached {
			n.Cached++
		}
	}
	return n, nil
}

func (c *Cluster) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 10 * time.Minute
}
