package kube

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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

// StepLogs is where the log of one execution of a step is: a container
// of a pod per attempt.
type StepLogs struct {
	Name      string // display name: "train[2]"
	State     string
	Container string
	Pods      []string // one per attempt; "" for an attempt without a pod (yet, or any more)
}

// WriteLogs writes the logs of a run's steps to w: of step (a display
// name, or a step's name for every iteration of it: "train" is also
// "train[2]") or, when step is empty, of every step, each under a
// header, in the order given. With follow it streams them as they are
// written until the steps end. A pod that is gone (garbage-collected)
// is passed over.
func (b Backoff) WriteLogs(ctx context.Context, c kubernetes.Interface, ns, run string, steps []StepLogs, step string, follow bool, w io.Writer) error {
	var picked []StepLogs
	for _, s := range steps {
		if step == "" || s.Name == step || strings.HasPrefix(s.Name, step+"[") {
			picked = append(picked, s)
		}
	}
	if len(picked) == 0 {
		if step != "" {
			return fmt.Errorf("run %s has no step %q that started", run, step)
		}
		return fmt.Errorf("run %s has no step that started", run)
	}
	for _, s := range picked {
		for i, pod := range s.Pods {
			if pod == "" {
				continue
			}
			if step == "" || len(picked) > 1 || len(s.Pods) > 1 {
				head := s.Name
				if len(s.Pods) > 1 {
					head += fmt.Sprintf(" attempt %d", i+1)
				}
				fmt.Fprintf(w, "==> %s (%s) <==\n", head, s.State)
			}
			req := LogRequest{Namespace: ns, Pod: pod, Container: s.Container, Follow: follow}
			if err := b.StreamLogs(ctx, c, req, w); err != nil && !IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// IsNotFound reports whether err says an object does not exist.
func IsNotFound(err error) bool { return apierrors.IsNotFound(err) }
