package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/minio/minio-go/v7"

	"github.com/sluice-dev/sluice/cache"
)

// Errors that say what is wrong with the store itself, as opposed to a
// miss (cache.ErrNotFound) or bad data (cache.ErrCorrupt). They arrive
// wrapped in an *Error that names the store.
var (
	// ErrNoBucket reports that the URL's bucket does not exist.
	ErrNoBucket = errors.New("no such bucket")
	// ErrAccessDenied reports credentials the server rejects, or that
	// lack a permission the store needs.
	ErrAccessDenied = errors.New("access denied")
	// ErrUnreachable reports an endpoint that cannot be reached: no such
	// host, nothing listening, a TLS handshake that fails.
	ErrUnreachable = errors.New("endpoint unreachable")
)

// Error is a failure of the store, naming it by URL and endpoint so that a
// message in a pod's log says which bucket on which server is at fault:
//
//	s3 store s3://ml-cache/team at 127.0.0.1:9000: bucket "ml-cache": no such bucket
type Error struct {
	Store    string // the store's URL, as s3://bucket/prefix
	Endpoint string // host[:port]
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("s3 store %s at %s: %v", e.Store, e.Endpoint, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// S3 error codes the store tells apart. A HEAD response has no body, so
// minio-go makes the code up from the status there: 403 is AccessDenied
// whatever the reason.
const (
	codeNoSuchKey    = "NoSuchKey"
	codeNoSuchBucket = "NoSuchBucket"
)

// accessCodes are the error codes of credentials the server does not
// accept.
var accessCodes = map[string]bool{
	"AccessDenied":          true,
	"InvalidAccessKeyId":    true,
	"SignatureDoesNotMatch": true,
	"InvalidToken":          true,
	"ExpiredToken":          true,
	"TokenRefreshRequired":  true,
	// versitygw's answer to an unknown access key, with status 404.
	"XAdminUserNotFound": true,
}

// code returns the S3 error code in err, or "".
func code(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

// isNotFound reports whether err says an object does not exist.
func isNotFound(err error) bool { return code(err) == codeNoSuchKey }

// fail turns an error from minio-go into the store's terms: a missing
// object becomes cache.ErrNotFound; a missing bucket, rejected credentials
// and an unreachable endpoint become an *Error wrapping ErrNoBucket,
// ErrAccessDenied or ErrUnreachable; anything else an *Error as it is.
// Context errors pass through, so a caller sees its own cancellation.
func (s *Store) fail(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	switch c := code(err); {
	case c == codeNoSuchKey:
		return cache.ErrNotFound
	case c == codeNoSuchBucket:
		err = fmt.Errorf("bucket %q: %w", s.cfg.Bucket, ErrNoBucket)
	case accessCodes[c]:
		err = fmt.Errorf("%w: %v (%s)", ErrAccessDenied, err, s.creds.describe())
	case isNetError(err):
		err = fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	return &Error{Store: s.cfg.String(), Endpoint: s.cfg.endpoint(), Err: err}
}

// isNetError reports whether err is a failure to talk to the server at
// all, rather than an answer from it.
func isNetError(err error) bool {
	var (
		urlErr *url.Error
		netErr net.Error
	)
	return errors.As(err, &urlErr) || errors.As(err, &netErr)
}
