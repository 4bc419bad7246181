package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/sluice-dev/sluice/cache"
)

// smallBlob is the most PutBlob reads before it decides how to upload: a
// blob that ends within it goes up in one PUT, a larger one as a
// multipart upload. Most step outputs are small, and one PUT is one
// request where a multipart upload is three.
const smallBlob = 1 << 20

// maxCopySize is the largest object S3 copies in one CopyObject request;
// a larger one is copied part by part.
const maxCopySize = 5 << 30

// PutBlob implements cache.Store. The data streams from r through SHA-256
// to a staging object tmp/<random>, as a multipart upload in parts of
// Config.PartSize (one part in memory at a time), and is then copied on
// the server to cas/sha256/<hex>, unless a blob of that size is already
// there, and the staging object removed. Only the copy makes the blob
// visible, and S3 makes a copied object visible whole.
func (s *Store) PutBlob(ctx context.Context, r io.Reader) (cache.Digest, int64, error) {
	src := &hashingReader{r: cache.ContextReader(ctx, r), h: sha256.New()}
	first := make([]byte, smallBlob)
	n, err := io.ReadFull(src, first)
	var (
		body io.Reader
		size int64
	)
	switch err {
	case nil:
		body, size = io.MultiReader(bytes.NewReader(first), src), -1
	case io.EOF, io.ErrUnexpectedEOF:
		body, size = bytes.NewReader(first[:n]), int64(n)
	default:
		return cache.Digest{}, 0, fmt.Errorf("put blob: %w", err)
	}
	tmp := s.tmpDir() + rand.Text()
	_, err = s.client.PutObject(ctx, s.cfg.Bucket, tmp, body, size, minio.PutObjectOptions{
		PartSize:    s.cfg.partSize(),
		ContentType: "application/octet-stream",
	})
	if src.err != nil {
		// The source failed, not the store: minio-go passes its error
		// up as it is.
		err = src.err
	} else {
		err = s.fail(err)
	}
	if err != nil {
		// A failed multipart upload leaves no object; minio-go aborts
		// it, which frees its parts if the server is still there.
		return cache.Digest{}, 0, fmt.Errorf("put blob: %w", err)
	}
	defer s.removeTemp(ctx, tmp)
	d, written := cache.Digest(src.h.Sum(nil)), src.n
	if err := s.commit(ctx, tmp, s.blobKey(d), written); err != nil {
		return cache.Digest{}, 0, fmt.Errorf("put blob %s: %w", d, err)
	}
	return d, written, nil
}

// commit copies the staging object tmp of size bytes to its name dst,
// unless an object of that size is there already: same name, same
// content. An object of another size there is corrupt and replaced.
func (s *Store) commit(ctx context.Context, tmp, dst string, size int64) error {
	info, err := s.client.StatObject(ctx, s.cfg.Bucket, dst, minio.StatObjectOptions{})
	switch {
	case err == nil && info.Size == size:
		return nil
	case err != nil && !isNotFound(err):
		return s.fail(err)
	}
	srcOpts := minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: tmp}
	dstOpts := minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: dst}
	// GCS copies objects of any size in one request, and has no
	// UploadPartCopy for the part-by-part way.
	if size <= maxCopySize || s3utils.IsGoogleEndpoint(*s.client.EndpointURL()) {
		_, err = s.client.CopyObject(ctx, dstOpts, srcOpts)
	} else {
		_, err = s.client.ComposeObject(ctx, dstOpts, srcOpts)
	}
	return s.fail(err)
}

// removeTemp removes a staging object, even when ctx is done. An error
// leaves it to New's cleanup of stale staging objects.
func (s *Store) removeTemp(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	s.client.RemoveObject(ctx, s.cfg.Bucket, name, minio.RemoveObjectOptions{})
}

// OpenBlob implements cache.Store: the content streams from one GET,
// hashed as it is read.
func (s *Store) OpenBlob(ctx context.Context, d cache.Digest) (io.ReadCloser, error) {
	name := s.blobKey(d)
	body, info, _, err := s.core.GetObject(ctx, s.cfg.Bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, s.fail(err))
	}
	return cache.VerifyReader(failReader{body, d, s.fail}, d, func() {
		s.removeIfSame(ctx, name, info.ETag)
	}), nil
}

// StatBlob implements cache.Store with one HEAD request.
func (s *Store) StatBlob(ctx context.Context, d cache.Digest) (int64, error) {
	info, err := s.client.StatObject(ctx, s.cfg.Bucket, s.blobKey(d), minio.StatObjectOptions{})
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, s.fail(err))
	}
	return info.Size, nil
}

// DeleteBlob implements cache.Store.
func (s *Store) DeleteBlob(ctx context.Context, d cache.Digest) error {
	if err := s.remove(ctx, s.blobKey(d)); err != nil {
		return fmt.Errorf("delete blob %s: %w", d, err)
	}
	return nil
}

// ListBlobs implements cache.Store. Objects whose names are not digests
// are skipped.
func (s *Store) ListBlobs(ctx context.Context, fn func(cache.Digest, int64, time.Time) error) error {
	dir := s.casDir()
	return s.list(ctx, dir, func(o minio.ObjectInfo) error {
		d, err := cache.ParseDigest("sha256:" + o.Key[len(dir):])
		if err != nil {
			return nil
		}
		return fn(d, o.Size, o.LastModified)
	})
}

// CorruptBlob changes blob d's content in place, keeping its size, as a
// faulty disk or a stray writer would. It exists for tests
// (storetest.Corrupter).
func (s *Store) CorruptBlob(d cache.Digest) error {
	ctx := context.Background()
	name := s.blobKey(d)
	body, _, _, err := s.core.GetObject(ctx, s.cfg.Bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("corrupt blob %s: %w", d, s.fail(err))
	}
	data, err := io.ReadAll(body)
	body.Close()
	if err != nil {
		return fmt.Errorf("corrupt blob %s: %w", d, s.fail(err))
	}
	if len(data) == 0 {
		data = []byte("corrupt")
	} else {
		data[0] ^= 0xff
	}
	_, err = s.client.PutObject(ctx, s.cfg.Bucket, name, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		return fmt.Errorf("corrupt blob %s: %w", d, s.fail(err))
	}
	return nil
}

// hashingReader hashes and counts what is read through it, and keeps the
// error that ended it, if not io.EOF.
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	if err != nil && err != io.EOF {
		h.err = err
	}
	return n, err
}

// failReader puts a body's read errors, other than io.EOF, in the
// store's terms.
type failReader struct {
	io.ReadCloser
	want cache.Digest
	fail func(error) error
}

func (f failReader) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read blob %s: %w", f.want, f.fail(err))
	}
	return n, err
}
