package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Backoff says how often and how long to retry an API call that failed
// for a passing reason. The zero value is ready: DefaultBackoff's
// figures.
type Backoff struct {
	// Initial is the first wait; each next one doubles, up to Max, with
	// up to 20% jitter. A Retry-After from the server wins when longer.
	Initial, Max time.Duration
	// Attempts bounds the calls in all (first one included); 0 means
	// DefaultBackoff's.
	Attempts int
	// Sleep waits for d or until ctx ends; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, if set, hears of each failure that will be retried.
	OnRetry func(what string, attempt int, err error, wait time.Duration)
}

// DefaultBackoff retries for a little over a minute in all.
var DefaultBackoff = Backoff{Initial: 500 * time.Millisecond, Max: 15 * time.Second, Attempts: 8}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoff.Max
	}
	if b.Attempts <= 0 {
		b.Attempts = DefaultBackoff.Attempts
	}
	if b.Sleep == nil {
		b.Sleep = sleep
	}
	return b
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retriable reports whether err is worth another try: a conflict (409:
// another writer got there first, or a generated name was taken), too
// many requests (429), a server-side failure or timeout (5xx), or a
// connection that broke or was refused.
func Retriable(err error) bool {
	switch {
	case err == nil:
		return false
	case apierrors.IsConflict(err), apierrors.IsAlreadyExists(err) && isGenerated(err),
		apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err):
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code >= 500 {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// isGenerated reports whether an AlreadyExists came from a name the
// server generated (generateName), which a retry draws again.
func isGenerated(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.RetryAfterSeconds > 0
}

// Do calls fn until it succeeds, fails for good, or the attempts run out.
// what names the call in errors ("create workflow").
func (b Backoff) Do(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	b = b.withDefaults()
	wait := b.Initial
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if !Retriable(err) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if attempt >= b.Attempts {
			return fmt.Errorf("%s: giving up after %d attempts: %w", what, attempt, err)
		}
		d := b.delay(wait, err)
		if b.OnRetry != nil {
			b.OnRetry(what, attempt, err, d)
		}
		if err := b.Sleep(ctx, d); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		wait = min(2*wait, b.Max)
	}
}

// delay is the wait before the next try: the backoff with jitter, or
// the server's Retry-After when that is longer.
func (b Backoff) delay(wait time.Duration, err error) time.Duration {
	d := wait + time.Duration(rand.Int64N(int64(wait)/5+1))
	if secs, ok := apierrors.SuggestsClientDelay(err); ok {
		d = max(d, time.Duration(secs)*time.Second)
	}
	return min(d, b.Max)
}
