package cache

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// FileTaker is implemented by stores that can take a regular file over
// without copying it. The filesystem store renames it into place when it
// is on the same filesystem: storing a large output costs one read, to
// hash it, and no write.
type FileTaker interface {
	// TakeFile stores the file at path, which the caller gives up: the
	// store may move it. It returns ok false, having done nothing, when it
	// cannot take this file; the caller then copies it with PutBlob.
	TakeFile(ctx context.Context, path string) (d Digest, size int64, ok bool, err error)
}

// TakePath stores path like PutPath, but a regular file may be moved into
// the store instead of copied, so the caller must not use it afterwards.
// Runners use it for the outputs of a finished step, which they own.
func TakePath(ctx context.Context, s Store, path string) (ArtifactRef, error) {
	if t, ok := s.(FileTaker); ok {
		d, n, ok, err := t.TakeFile(ctx, path)
		if err != nil {
			return ArtifactRef{}, fmt.Errorf("put %s: %w", path, err)
		}
		if ok {
			return ArtifactRef{Digest: d, Size: n, Kind: KindFile}, nil
		}
	}
	return PutPath(ctx, s, path)
}

var _ FileTaker = (*FSStore)(nil)

// TakeFile implements FileTaker: a regular file (not a symlink, with no
// other hard link, whose content another name could change) on the
// store's filesystem is hashed in one read and renamed to its digest.
func (s *FSStore) TakeFile(ctx context.Context, path string) (Digest, int64, bool, error) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return Digest{}, 0, false, nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Nlink != 1 {
		return Digest{}, 0, false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, 0, false, nil
	}
	defer f.Close()
	h := sha256.New()
	buf := getBuf()
	n, err := io.CopyBuffer(h, ctxReader{ctx, f}, *buf)
	putBuf(buf)
	if err != nil {
		return Digest{}, 0, false, err
	}
	// The file must be the one hashed: same inode, same size, unchanged.
	if cur, err := f.Stat(); err != nil || cur.Size() != n || !cur.ModTime().Equal(fi.ModTime()) {
		return Digest{}, 0, false, nil
	}
	d := Digest(h.Sum(nil))
	if err := f.Chmod(0o444); err != nil {
		return Digest{}, 0, false, nil
	}
	err = os.Rename(path, s.blobPath(d))
	if errors.Is(err, syscall.EXDEV) {
		return Digest{}, 0, false, nil // another filesystem: copy instead
	}
	if err != nil {
		return Digest{}, 0, false, err
	}
	return d, n, true, nil
}
