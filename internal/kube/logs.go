package kube

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// LogRequest names one container's log.
type LogRequest struct {
	Namespace, Pod, Container string
	// Follow keeps streaming until the container ends.
	Follow bool
}

// StreamLogs copies a container's log to w, line by line. A stream that
// breaks while following is resumed from the last line's timestamp, so
// lines are neither lost nor, except for lines sharing one timestamp,
// repeated.
func (b Backoff) StreamLogs(ctx context.Context, c kubernetes.Interface, req LogRequest, w io.Writer) error {
	what := fmt.Sprintf("logs of %s/%s", req.Pod, req.Container)
	var since *metav1.Time
	var last time.Time
	for reopen := 0; ; reopen++ {
		var rc io.ReadCloser
		err := b.Do(ctx, what, func(ctx context.Context) error {
			var err error
			rc, err = c.CoreV1().Pods(req.Namespace).GetLogs(req.Pod, &corev1.PodLogOptions{
				Container:  req.Container,
				Follow:     req.Follow,
				Timestamps: true,
				SinceTime:  since,
			}).Stream(ctx)
			return err
		})
		if err != nil {
			return err
		}
		lt, err := copyLines(rc, w, last)
		rc.Close()
		if !lt.IsZero() {
			last = lt
		}
		switch {
		case err == nil || !req.Follow:
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		case reopen >= b.withDefaults().Attempts:
			return fmt.Errorf("%s: %w", what, err)
		}
		if !last.IsZero() {
			since = &metav1.Time{Time: last}
		}
	}
}

// copyLines writes each "TIMESTAMP TEXT" line's text to w, skipping
// lines not after skipUntil, and returns the last timestamp seen.
func copyLines(r io.Reader, w io.Writer, skipUntil time.Time) (time.Time, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var last time.Time
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			ts, text := splitTimestamp(line)
			if ts.IsZero() || ts.After(skipUntil) {
				if _, werr := w.Write(text); werr != nil {
					return last, werr
				}
			}
			if !ts.IsZero() {
				last = ts
			}
		}
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			return last, err
		}
	}
}

// splitTimestamp splits off the RFC 3339 timestamp Kubernetes puts before
// each line with timestamps=true. A line without one is kept whole.
func splitTimestamp(line []byte) (time.Time, []byte) {
	i := bytes.IndexByte(line, ' ')
	if i <= 0 {
		return time.Time{}, line
	}
	ts, err := time.Parse(time.RFC3339Nano, string(line[:i]))
	if err != nil {
		return time.Time{}, line
	}
	return ts, line[i+1:]
}

// IsNotFound reports whether err says an object does not exist.
func IsNotFound(err error) bool { return apierrors.IsNotFound(err) }
