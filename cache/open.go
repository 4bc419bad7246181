package cache

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Opener opens the Store a URL of its scheme names. Store implementations
// outside this package (S3, plugin stores) Register one.
type Opener func(ctx context.Context, u *url.URL) (Store, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{"file": openFile}
)

// Register makes Open hand URLs of scheme to fn. Like database/sql's
// Register, it panics if the scheme is taken: two packages claiming one
// scheme is a programming error.
func Register(scheme string, fn Opener) {
	scheme = strings.ToLower(scheme)
	openersMu.Lock()
	defer openersMu.Unlock()
	if fn == nil {
		panic("cache: Register of nil Opener for scheme " + scheme)
	}
	if _, dup := openers[scheme]; dup {
		panic("cache: Register called twice for scheme " + scheme)
	}
	openers[scheme] = fn
}

// Schemes returns the registered URL schemes, sorted.
func Schemes() []string {
	openersMu.RLock()
	defer openersMu.RUnlock()
	return slices.Sorted(maps.Keys(openers))
}

// Open opens the store that rawURL names: a plain path or a file:///abs
// URL gives an FSStore; other schemes go to the Opener registered for
// them.
func Open(ctx context.Context, rawURL string) (Store, error) {
	if rawURL == "" {
		return nil, fmt.Errorf("open cache: empty location")
	}
	if !strings.Contains(rawURL, "://") {
		return NewFS(rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	openersMu.RLock()
	fn := openers[u.Scheme]
	openersMu.RUnlock()
	if fn == nil {
		return nil, fmt.Errorf("open cache %q: unknown scheme %q (known: %s)",
			rawURL, u.Scheme, strings.Join(Schemes(), ", "))
	}
	return fn(ctx, u)
}

func openFile(_ context.Context, u *url.URL) (Store, error) {
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("open cache %q: file URL names host %q: want file:///absolute/path", u, u.Host)
	}
	if !path.IsAbs(u.Path) {
		return nil, fmt.Errorf("open cache %q: file URL needs an absolute path, as file:///var/cache/sluice", u)
	}
	return NewFS(filepath.FromSlash(u.Path))
}
