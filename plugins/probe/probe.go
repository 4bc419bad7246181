package probe

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/cache/s3"
	"github.com/sluice-dev/sluice/internal/launch"
)

// DefaultTimeout bounds one probe: a store slower than this costs a miss,
// never a stuck step.
const DefaultTimeout = 10 * time.Second

// Request is one step to look up.
type Request struct {
	// Args are the arguments of `sluice-exec run` (without the word run)
	// that the step's pod would get, after the engine substituted its
	// runtime values.
	Args []string
	// Namespace and Secret name the Secret with the store's credentials,
	// which the step's pods mount (the adapters' --cache-secret). Empty
	// Secret: the store needs none, or the plugin's environment has them.
	Namespace, Secret string
}

// Result is what a probe found.
type Result struct {
	// Hit says that the step is done: its outputs are recorded.
	Hit bool
	// Key is the step's cache key; zero when the request could not be
	// bound to a step.
	Key cache.Key
	// Outputs, on a hit, are the texts of the step's outputs by name
	// ("params.X", "artifacts.X"), exactly as its launcher would write
	// them.
	Outputs map[string]string
	// Run is, on a hit, the run that recorded the entry.
	Run string
	// Reason says why a probe missed ("no cache entry", or the fault).
	Reason string
	// Fault says that the miss was a cache problem (the store, the
	// credentials, the request), not a step that has not run yet.
	Fault bool
}

// Message is a one-line account of the result, for an engine's status.
func (r *Result) Message() string {
	if r.Hit {
		run := r.Run
		if run == "" {
			run = "unknown"
		}
		return fmt.Sprintf("sluice: cache hit %s (run %s)", r.Key, run)
	}
	return "sluice: cache miss: " + r.Reason
}

// SecretGetter reads a Secret's data.
type SecretGetter interface {
	Secret(ctx context.Context, namespace, name string) (map[string][]byte, error)
}

// Prober probes steps. It keeps the stores it opened, by URL and
// credentials, for the requests that follow. The zero value is ready to
// use, without Secrets.
type Prober struct {
	// Secrets reads the credentials Secrets that requests name.
	Secrets SecretGetter
	// Timeout bounds one probe; zero means DefaultTimeout.
	Timeout time.Duration

	mu     sync.Mutex
	stores map[storeID]*opened
}

type storeID struct{ url, namespace, secret string }

// opened is a store being opened or open, shared by concurrent probes.
type opened struct {
	done  chan struct{}
	store cache.Store
	err   error
}

// Probe looks the step up. It never returns an error: a fault is a miss
// with its reason.
func (p *Prober) Probe(ctx context.Context, req *Request) *Result {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lreq, err := launch.ParseRunArgs(req.Args, noEnv)
	if err != nil {
		return Malformed(err)
	}
	lreq.Open = func(ctx context.Context, u string) (cache.Store, error) { return p.open(ctx, u, req) }
	resp, err := launch.Check(ctx, lreq)
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Result{Reason: fmt.Sprintf("the store did not answer within %v: %s", timeout, oneLine(err)), Fault: true}
	case err != nil:
		return &Result{Reason: oneLine(err), Fault: true}
	case !resp.Cached && len(resp.Warnings) > 0:
		return &Result{Key: resp.Key, Reason: strings.Join(resp.Warnings, "; "), Fault: true}
	case !resp.Cached && lreq.Verify:
		return &Result{Key: resp.Key, Reason: "verify mode: the step runs to be compared"}
	case !resp.Cached:
		return &Result{Key: resp.Key, Reason: "no cache entry " + resp.Key.String()}
	}
	return &Result{Hit: true, Key: resp.Key, Outputs: resp.Outputs, Run: resp.Run}
}

// Malformed is the result of a request that could not be read: a miss,
// so that the step runs, with the reason.
func Malformed(err error) *Result {
	return &Result{Reason: "malformed request: " + oneLine(err), Fault: true}
}

// noEnv stands for the launcher's environment: a probe takes everything
// from its request.
func noEnv(string) string { return "" }

// open returns the store rawURL names, opened once per URL and
// credentials. The launcher's URL names the directory where its pod
// mounts the credentials Secret (credentials=DIR); a probe reads the
// Secret itself instead.
func (p *Prober) open(ctx context.Context, rawURL string, req *Request) (cache.Store, error) {
	id := storeID{url: rawURL}
	if req.Secret != "" {
		id.namespace, id.secret = req.Namespace, req.Secret
	}
	p.mu.Lock()
	if p.stores == nil {
		p.stores = map[storeID]*opened{}
	}
	o, ok := p.stores[id]
	if !ok {
		o = &opened{done: make(chan struct{})}
		p.stores[id] = o
		go func() {
			// Opened apart from the request, so that one request's end
			// does not fail the store for the ones waiting on it.
			octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout())
			defer cancel()
			o.store, o.err = p.openStore(octx, rawURL, id)
			close(o.done)
		}()
	}
	p.mu.Unlock()
	select {
	case <-o.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("open cache: %w", ctx.Err())
	}
	if o.err != nil {
		// Not kept: the next request tries again.
		p.mu.Lock()
		if p.stores[id] == o {
			delete(p.stores, id)
		}
		p.mu.Unlock()
	}
	return o.store, o.err
}

func (p *Prober) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

func (p *Prober) openStore(ctx context.Context, rawURL string, id storeID) (cache.Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" {
		// Only an S3 store is shared with pods through a Secret.
		return cache.Open(ctx, rawURL)
	}
	q := u.Query()
	q.Del("credentials")
	u.RawQuery = q.Encode()
	c, err := s3.ParseURL(u)
	if err != nil {
		return nil, err
	}
	// A probe that waits out minio's ten retries on a store that is down
	// only delays the step it would let run.
	c.MaxRetries = 2
	if id.secret != "" {
		if p.Secrets == nil {
			return nil, fmt.Errorf("open cache %s: credentials Secret %s/%s: this plugin cannot read Secrets", c, id.namespace, id.secret)
		}
		c.Credentials = func() (map[string][]byte, error) {
			// Each read bounded on its own: the store calls again when
			// the credentials are a minute old.
			rctx, cancel := context.WithTimeout(context.Background(), p.timeout())
			defer cancel()
			data, err := p.Secrets.Secret(rctx, id.namespace, id.secret)
			if err != nil {
				return nil, fmt.Errorf("Secret %s/%s: %w", id.namespace, id.secret, err)
			}
			return data, nil
		}
	}
	return s3.New(ctx, c)
}

// oneLine joins a multi-line error into one line, for a status message.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
