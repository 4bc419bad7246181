package cache

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// Errors a Store returns, wrapped with the operation and the name involved.
var (
	// ErrNotFound reports a missing entry or blob: a cache miss.
	ErrNotFound = errors.New("not found")
	// ErrCorrupt reports stored data that does not match its name: an
	// entry that does not decode, or a blob whose content does not hash to
	// its digest. A Store removes what it finds corrupt, so a retry misses
	// cleanly.
	ErrCorrupt = errors.New("corrupt")
)

// Store is where the cache lives. It has two halves: the action cache,
// entries looked up by Key; and content-addressed blobs, stored under
// cas/sha256/<hex digest> and looked up by Digest.
//
// All methods are safe for concurrent use, also by several processes or
// machines sharing the same store: writes are all-or-nothing, and two
// writers of the same blob or entry both succeed.
type Store interface {
	// GetEntry returns the entry for key, or an error wrapping ErrNotFound.
	GetEntry(ctx context.Context, key Key) (*Entry, error)
	// PutEntry stores e under e.Key, replacing any entry there.
	PutEntry(ctx context.Context, e *Entry) error
	// DeleteEntry removes the entry for key, or returns an error wrapping
	// ErrNotFound.
	DeleteEntry(ctx context.Context, key Key) error
	// ListEntries calls fn for each entry, in no particular order, and
	// stops at the first error fn returns, returning it.
	ListEntries(ctx context.Context, fn func(*Entry) error) error

	// PutBlob stores everything read from r and returns its digest and
	// size. The data is hashed as it is written, in one pass; since the
	// name is known only at the end, a store writes to a temporary name
	// and then moves the blob into place (a file rename, an S3
	// server-side copy from a staging key).
	PutBlob(ctx context.Context, r io.Reader) (Digest, int64, error)
	// OpenBlob opens the blob d. The reader hashes what it reads and, if
	// the content does not match d, returns an error wrapping ErrCorrupt
	// instead of io.EOF; the store then removes the blob. Callers must
	// read to io.EOF before trusting the data.
	OpenBlob(ctx context.Context, d Digest) (io.ReadCloser, error)
	// StatBlob returns the size of blob d, or an error wrapping
	// ErrNotFound. It is cheap and does not read the content: corruption
	// shows when the blob is read (see VerifyBlob).
	StatBlob(ctx context.Context, d Digest) (int64, error)
	// DeleteBlob removes blob d, or returns an error wrapping ErrNotFound.
	DeleteBlob(ctx context.Context, d Digest) error
	// ListBlobs calls fn for each blob with its size and modification
	// time, in no particular order, and stops at the first error fn
	// returns, returning it.
	ListBlobs(ctx context.Context, fn func(d Digest, size int64, modTime time.Time) error) error
}

// VerifyBlob reads blob d to the end and returns its size, or an error
// wrapping ErrCorrupt (and the blob is gone) if its content does not match
// d. It is what `sluice cache verify` does for each blob, and what a
// caller does when StatBlob's existence check is not enough.
func VerifyBlob(ctx context.Context, s Store, d Digest) (int64, error) {
	r, err := s.OpenBlob(ctx, d)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	buf := getBuf()
	defer putBuf(buf)
	n, err := io.CopyBuffer(io.Discard, r, *buf)
	if err != nil {
		return n, fmt.Errorf("verify blob %s: %w", d, err)
	}
	return n, nil
}

// bufSize is the copy buffer size: large enough that hashing, not
// system calls, sets the pace.
const bufSize = 1 << 20

// verifier wraps a blob's reader, hashing what passes through it and
// checking the digest at EOF.
type verifier struct {
	r         io.ReadCloser
	h         hash.Hash
	want      Digest
	onCorrupt func() // called once, when a mismatch is found
	err       error  // sticky mismatch error
}

// VerifyReader returns a reader over r that hashes what it reads and, at
// EOF, returns an error wrapping ErrCorrupt instead of io.EOF when the
// content is not want, calling onCorrupt once. Every Store's OpenBlob
// returns one.
func VerifyReader(r io.ReadCloser, want Digest, onCorrupt func()) io.ReadCloser {
	return &verifier{r: r, h: sha256.New(), want: want, onCorrupt: onCorrupt}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := Digest(v.h.Sum(nil)); got != v.want {
			v.err = fmt.Errorf("blob %s: content hashes to %s: %w", v.want, got, ErrCorrupt)
			if v.onCorrupt != nil {
				v.onCorrupt()
			}
			return n, v.err
		}
	}
	return n, err
}

func (v *verifier) Close() error { return v.r.Close() }

// ContextReader returns a reader that stops a long copy when ctx is done.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

// ctxReader stops a long copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
