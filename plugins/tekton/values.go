package tekton

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/cache/s3"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/plugins/probe"
)

// readAsArray reports whether Tekton reads a custom task's result as an
// array: text that is a JSON array of strings, not empty
// (pipelinerun/resources.paramValueFromCustomRunResult, "for fan out
// array result"). A consumer's string parameter that refers to such a
// result becomes an array, and the consumer's TaskRun is refused; a
// TaskRun's result keeps the type its Task declares, so only a custom
// task meets this.
func readAsArray(v string) bool {
	var a []string
	return json.Unmarshal([]byte(v), &a) == nil && len(a) > 0
}

// Store names the store a step uses, as its pod would open it: the URL
// of SLUICE_CACHE, and the credentials Secret in the step's namespace.
type Store struct {
	URL, Namespace, Secret string
}

// ValueStore keeps values in a step's store, as the launcher keeps the
// ones it will not pass as they are, and returns their value refs
// (launch.ValueRef), which the consumers' launchers fetch.
type ValueStore interface {
	PutValue(ctx context.Context, s Store, text string) (string, error)
}

// results are the CustomRun results for the texts a step's launcher
// wrote, in order: as they are, but for those Tekton would read as
// arrays (readAsArray), which are stored and passed as value refs, the
// form every launcher reads.
func results(ctx context.Context, vs ValueStore, s Store, texts []v1beta1.CustomRunResult) ([]v1beta1.CustomRunResult, error) {
	out := make([]v1beta1.CustomRunResult, 0, len(texts))
	for _, t := range texts {
		if readAsArray(t.Value) {
			ref, err := vs.PutValue(ctx, s, t.Value)
			if err != nil {
				return nil, fmt.Errorf("result %s, which Tekton would read as an array, cannot be stored: %w", t.Name, err)
			}
			t.Value = ref
		}
		out = append(out, t)
	}
	return out, nil
}

// Stores opens the stores that steps use, once per URL and Secret, and
// keeps them open.
type Stores struct {
	// Secrets reads the credentials Secrets.
	Secrets probe.SecretGetter
	// Timeout bounds opening a store and reading its Secret; zero means
	// probe.DefaultTimeout.
	Timeout time.Duration

	mu     sync.Mutex
	stores map[Store]cache.Store
}

var _ ValueStore = (*Stores)(nil)

// PutValue implements ValueStore.
func (ss *Stores) PutValue(ctx context.Context, s Store, text string) (string, error) {
	st, err := ss.open(ctx, s)
	if err != nil {
		return "", err
	}
	return launch.PutValue(ctx, st, text)
}

func (ss *Stores) timeout() time.Duration {
	if ss.Timeout > 0 {
		return ss.Timeout
	}
	return probe.DefaultTimeout
}

// open opens the store as plugins/probe does: an s3 store's URL names the
// directory where pods mount the credentials (credentials=DIR); here
// they are read from the Secret.
func (ss *Stores) open(ctx context.Context, s Store) (cache.Store, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if st, ok := ss.stores[s]; ok {
		return st, nil
	}
	ctx, cancel := context.WithTimeout(ctx, ss.timeout())
	defer cancel()
	var st cache.Store
	u, err := url.Parse(s.URL)
	if err != nil || u.Scheme != "s3" {
		st, err = cache.Open(ctx, s.URL)
	} else {
		q := u.Query()
		q.Del("credentials")
		u.RawQuery = q.Encode()
		var c s3.Config
		if c, err = s3.ParseURL(u); err == nil {
			if s.Secret != "" {
				c.Credentials = ss.credentials(s)
			}
			st, err = s3.New(ctx, c)
		}
	}
	if err != nil {
		return nil, err
	}
	if ss.stores == nil {
		ss.stores = map[Store]cache.Store{}
	}
	ss.stores[s] = st
	return st, nil
}

func (ss *Stores) credentials(s Store) func() (map[string][]byte, error) {
	return func() (map[string][]byte, error) {
		if ss.Secrets == nil {
			return nil, fmt.Errorf("credentials Secret %s/%s: this plugin cannot read Secrets", s.Namespace, s.Secret)
		}
		ctx, cancel := context.WithTimeout(context.Background(), ss.timeout())
		defer cancel()
		data, err := ss.Secrets.Secret(ctx, s.Namespace, s.Secret)
		if err != nil {
			return nil, fmt.Errorf("Secret %s/%s: %w", s.Namespace, s.Secret, err)
		}
		return data, nil
	}
}
