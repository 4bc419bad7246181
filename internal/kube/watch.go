package kube

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/watch"
)

// ErrWatchClosed is the reason a watch is reopened when the server
// closed it: connections drop, and servers end watches after a while.
var ErrWatchClosed = errors.New("watch closed")

// Watch follows an object or a list: open starts a watch (usually after
// reading the current state, so nothing is missed between watches);
// handle gets each event and says when it is done. A watch that the
// server closes or ends with an error event (410 Gone for an expired
// resource version, a dropped connection) is opened again with backoff;
// Attempts bounds the reopenings in a row that deliver no event.
func (b Backoff) Watch(ctx context.Context, what string, open func(ctx context.Context) (watch.Interface, error),
	handle func(watch.Event) (done bool, err error)) error {
	b = b.withDefaults()
	wait := b.Initial
	failures := 0
	for {
		var w watch.Interface
		err := b.Do(ctx, what, func(ctx context.Context) error {
			var err error
			w, err = open(ctx)
			return err
		})
		if err != nil {
			return err
		}
		progressed, done, err := drain(ctx, w, handle)
		w.Stop()
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", what, err)
		case done:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		if progressed {
			failures, wait = 0, b.Initial
		}
		failures++
		if failures >= b.Attempts {
			return fmt.Errorf("%s: %w %d times without an event", what, ErrWatchClosed, failures)
		}
		d := b.delay(wait, nil)
		if b.OnRetry != nil {
			b.OnRetry(what, failures, ErrWatchClosed, d)
		}
		if err := b.Sleep(ctx, d); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		wait = min(2*wait, b.Max)
	}
}

// drain passes a watch's events to handle until it is done, the watch
// ends, or ctx does.
func drain(ctx context.Context, w watch.Interface, handle func(watch.Event) (bool, error)) (progressed, done bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return progressed, false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return progressed, false, nil
			}
			if ev.Type == watch.Error {
				// Expired or broken: the caller reopens from the current state.
				if err := apierrors.FromObject(ev.Object); err != nil && !Retriable(err) && !apierrors.IsGone(err) && !apierrors.IsResourceExpired(err) {
					return progressed, false, err
				}
				return progressed, false, nil
			}
			if ev.Type == watch.Bookmark {
				continue
			}
			progressed = true
			done, err := handle(ev)
			if err != nil || done {
				return true, done, err
			}
		}
	}
}
