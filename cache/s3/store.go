package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sluice-dev/sluice/cache"
)

func init() {
	cache.Register("s3", func(ctx context.Context, u *url.URL) (cache.Store, error) {
		c, err := ParseURL(u)
		if err != nil {
			return nil, err
		}
		return New(ctx, c)
	})
}

// Store is a cache.Store in an S3-compatible bucket, laid out under its
// prefix as
//
//	ac/<key hex>.json     entries
//	cas/sha256/<hex>      blobs
//	tmp/<random>          blobs being written
//
// Several processes and machines may share one.
type Store struct {
	cfg    Config
	client *minio.Client
	core   minio.Core // the same client, for a plain GetObject body
	creds  *creds
}

var _ cache.Store = (*Store)(nil)

// staleTemp is how old a staging object must be before New takes it for
// the leftover of a crashed writer and removes it.
const staleTemp = 24 * time.Hour

// cleanupTimeout bounds the requests that tidy up after a failure, which
// run even when the caller's context is done.
const cleanupTimeout = 30 * time.Second

// New opens the store c describes. It asks the server once whether the
// bucket exists, so that a wrong bucket, endpoint or credentials fail
// here, with an *Error wrapping ErrNoBucket, ErrAccessDenied or
// ErrUnreachable, instead of at the first cache lookup. It also removes
// staging objects that crashed writers left more than a day ago.
func New(ctx context.Context, c Config) (*Store, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("open cache %s: %w", c, err)
	}
	cr, err := newCreds(c)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", c, err)
	}
	opts := &minio.Options{
		Creds:        cr.Credentials,
		Secure:       !c.Insecure,
		Region:       c.Region,
		BucketLookup: minio.BucketLookupAuto,
		MaxRetries:   c.MaxRetries,
	}
	switch {
	case c.Lookup == LookupDNS:
		opts.BucketLookup = minio.BucketLookupDNS
	case c.Lookup == LookupPath, c.Endpoint != "":
		opts.BucketLookup = minio.BucketLookupPath
	}
	client, err := minio.New(c.endpoint(), opts)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", c, err)
	}
	s := &Store{cfg: c, client: client, core: minio.Core{Client: client}, creds: cr}
	ok, err := client.BucketExists(ctx, c.Bucket)
	if err == nil && !ok {
		err = minio.ErrorResponse{Code: codeNoSuchBucket, BucketName: c.Bucket}
	}
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", s.fail(err))
	}
	s.removeStaleTemps(ctx, time.Now())
	return s, nil
}

// String returns the store's URL and endpoint, as errors name it.
func (s *Store) String() string { return s.cfg.String() + " at " + s.cfg.endpoint() }

// Config returns the configuration the store was opened with.
func (s *Store) Config() Config { return s.cfg }

func (s *Store) key(parts ...string) string {
	k := strings.Join(parts, "/")
	if s.cfg.Prefix == "" {
		return k
	}
	return s.cfg.Prefix + "/" + k
}

func (s *Store) acDir() string                 { return s.key("ac") + "/" }
func (s *Store) casDir() string                { return s.key("cas", "sha256") + "/" }
func (s *Store) tmpDir() string                { return s.key("tmp") + "/" }
func (s *Store) entryKey(k cache.Key) string   { return s.acDir() + k.String() + ".json" }
func (s *Store) blobKey(d cache.Digest) string { return s.casDir() + d.Hex() }

// GetEntry implements cache.Store. An entry that does not decode, or holds
// another key, is removed and reported as cache.ErrCorrupt.
func (s *Store) GetEntry(ctx context.Context, key cache.Key) (*cache.Entry, error) {
	name := s.entryKey(key)
	body, info, _, err := s.core.GetObject(ctx, s.cfg.Bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get entry %s: %w", key, s.fail(err))
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("get entry %s: %w", key, s.fail(err))
	}
	e := new(cache.Entry)
	err = json.Unmarshal(data, e)
	if err == nil && e.Key != key {
		err = fmt.Errorf("object holds key %s", e.Key)
	}
	if err != nil {
		s.removeIfSame(ctx, name, info.ETag)
		return nil, fmt.Errorf("get entry %s: %w: %v", key, cache.ErrCorrupt, err)
	}
	return e, nil
}

// PutEntry implements cache.Store. An entry is small and goes up in one
// PUT, which S3 makes visible all at once.
func (s *Store) PutEntry(ctx context.Context, e *cache.Entry) error {
	if e == nil || e.Key.IsZero() {
		return errors.New("put entry: no key")
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("put entry %s: %w", e.Key, err)
	}
	data = append(data, '\n')
	_, err = s.client.PutObject(ctx, s.cfg.Bucket, s.entryKey(e.Key), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/json"})
	if err != nil {
		return fmt.Errorf("put entry %s: %w", e.Key, s.fail(err))
	}
	return nil
}

// DeleteEntry implements cache.Store. S3 deletes succeed whether or not
// the object exists, so a HEAD comes first to report ErrNotFound.
func (s *Store) DeleteEntry(ctx context.Context, key cache.Key) error {
	if err := s.remove(ctx, s.entryKey(key)); err != nil {
		return fmt.Errorf("delete entry %s: %w", key, err)
	}
	return nil
}

// ListEntries implements cache.Store. Corrupt entries are removed and
// skipped, as are entries deleted while listing and objects that are not
// entries.
func (s *Store) ListEntries(ctx context.Context, fn func(*cache.Entry) error) error {
	return s.list(ctx, s.acDir(), func(o minio.ObjectInfo) error {
		hexKey, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, s.acDir()), ".json")
		if !ok {
			return nil
		}
		key, err := cache.ParseKey(hexKey)
		if err != nil {
			return nil
		}
		e, err := s.GetEntry(ctx, key)
		switch {
		case errors.Is(err, cache.ErrNotFound), errors.Is(err, cache.ErrCorrupt):
			return nil
		case err != nil:
			return err
		}
		return fn(e)
	})
}

// list calls fn for each object under dir, with ListObjectsV2, page by
// page, and stops at the first error.
func (s *Store) list(ctx context.Context, dir string, fn func(minio.ObjectInfo) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing when fn stops early
	fetchOwner := false
	opts := minio.ListObjectsOptions{Prefix: dir, Recursive: true, FetchOwner: &fetchOwner}
	for o := range s.client.ListObjectsIter(ctx, s.cfg.Bucket, opts) {
		if o.Err != nil {
			return fmt.Errorf("list %s: %w", dir, s.fail(o.Err))
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// remove deletes an object that must exist.
func (s *Store) remove(ctx context.Context, name string) error {
	if _, err := s.client.StatObject(ctx, s.cfg.Bucket, name, minio.StatObjectOptions{}); err != nil {
		return s.fail(err)
	}
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, name, minio.RemoveObjectOptions{}); err != nil {
		return s.fail(err)
	}
	return nil
}

// removeIfSame removes the object name if it still has etag: a concurrent
// writer may have put a good copy there since it was read. S3 has no
// conditional delete everywhere, so a writer between the HEAD and the
// DELETE can still lose its object; the cost is one cache miss. Errors
// are ignored: the caller is already reporting the corruption.
func (s *Store) removeIfSame(ctx context.Context, name, etag string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	info, err := s.client.StatObject(ctx, s.cfg.Bucket, name, minio.StatObjectOptions{})
	if err != nil || info.ETag != etag {
		return
	}
	s.client.RemoveObject(ctx, s.cfg.Bucket, name, minio.RemoveObjectOptions{})
}

// removeStaleTemps removes what crashed writers left in tmp/. Errors are
// ignored: the store may be read-only to these credentials, and another
// process may be doing the same. Multipart uploads that were never
// completed are not objects and are left to a lifecycle rule (see the
// package documentation).
func (s *Store) removeStaleTemps(ctx context.Context, now time.Time) {
	s.list(ctx, s.tmpDir(), func(o minio.ObjectInfo) error {
		if now.Sub(o.LastModified) > staleTemp {
			s.client.RemoveObject(ctx, s.cfg.Bucket, o.Key, minio.RemoveObjectOptions{})
		}
		return nil
	})
}
