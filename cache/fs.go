package cache

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// FSStore is the default Store: a directory on local disk, laid out as
//
//	<root>/ac/<key hex>.json     entries
//	<root>/cas/sha256/<hex>      blobs, read-only
//	<root>/tmp/                  files being written
//
// Several processes may share one root.
type FSStore struct {
	root string
}

var _ Store = (*FSStore)(nil)

// staleTemp is how old a file in tmp/ must be before NewFS takes it for
// the leftover of a crashed writer and removes it.
const staleTemp = 24 * time.Hour

// NewFS opens the filesystem store rooted at dir, creating its layout if
// needed, and removes stale temporary files.
func NewFS(dir string) (*FSStore, error) {
	if dir == "" {
		return nil, errors.New("open cache: empty directory")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	s := &FSStore{root: root}
	for _, d := range []string{s.acDir(), s.casDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("open cache: %w", err)
		}
	}
	s.removeStaleTemps(time.Now())
	return s, nil
}

// DefaultDir returns the default root of the local cache:
// $XDG_CACHE_HOME/sluice, or ~/.cache/sluice when XDG_CACHE_HOME is unset
// (or relative, which the XDG specification says to ignore).
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sluice"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("default cache dir: %w", err)
	}
	return filepath.Join(home, ".cache", "sluice"), nil
}

// Dir returns the store's root directory.
func (s *FSStore) Dir() string { return s.root }

func (s *FSStore) acDir() string  { return filepath.Join(s.root, "ac") }
func (s *FSStore) casDir() string { return filepath.Join(s.root, "cas", "sha256") }
func (s *FSStore) tmpDir() string { return filepath.Join(s.root, "tmp") }

func (s *FSStore) entryPath(k Key) string   { return filepath.Join(s.acDir(), k.String()+".json") }
func (s *FSStore) blobPath(d Digest) string { return filepath.Join(s.casDir(), d.Hex()) }

// GetEntry implements Store. An entry file that does not decode, or holds
// another key, is removed and reported as ErrCorrupt.
func (s *FSStore) GetEntry(ctx context.Context, key Key) (*Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := s.entryPath(key)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("get entry %s: %w", key, notFound(err))
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("get entry %s: %w", key, err)
	}
	e := new(Entry)
	err = json.Unmarshal(data, e)
	if err == nil && e.Key != key {
		err = fmt.Errorf("file holds key %s", e.Key)
	}
	if err != nil {
		removeIfSame(path, f)
		return nil, fmt.Errorf("get entry %s: %w: %v", key, ErrCorrupt, err)
	}
	return e, nil
}

// PutEntry implements Store.
func (s *FSStore) PutEntry(ctx context.Context, e *Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e == nil || e.Key.IsZero() {
		return errors.New("put entry: no key")
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("put entry %s: %w", e.Key, err)
	}
	if err := s.writeFile(s.entryPath(e.Key), append(data, '\n')); err != nil {
		return fmt.Errorf("put entry %s: %w", e.Key, err)
	}
	return nil
}

// writeFile atomically replaces path with data.
func (s *FSStore) writeFile(path string, data []byte) error {
	f, err := s.tempFile()
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		discard(f)
		return err
	}
	return commit(f, path, 0o644)
}

// DeleteEntry implements Store.
func (s *FSStore) DeleteEntry(ctx context.Context, key Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(s.entryPath(key)); err != nil {
		return fmt.Errorf("delete entry %s: %w", key, notFound(err))
	}
	return nil
}

// ListEntries implements Store. Corrupt entries are removed and skipped,
// as are entries deleted while listing and files that are not entries.
func (s *FSStore) ListEntries(ctx context.Context, fn func(*Entry) error) error {
	return listDir(ctx, s.acDir(), func(name string) error {
		hexKey, ok := strings.CutSuffix(name, ".json")
		if !ok {
			return nil
		}
		key, err := ParseKey(hexKey)
		if err != nil {
			return nil
		}
		e, err := s.GetEntry(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrCorrupt):
			return nil
		case err != nil:
			return err
		}
		return fn(e)
	})
}

// PutBlob implements Store: the data goes to a temporary file and through
// SHA-256 in the same pass, then the file is renamed to its digest. Renaming over an existing blob is harmless: same name, same
// content.
func (s *FSStore) PutBlob(ctx context.Context, r io.Reader) (Digest, int64, error) {
	f, err := s.tempFile()
	if err != nil {
		return Digest{}, 0, fmt.Errorf("put blob: %w", err)
	}
	d, n, err := hashCopy(ctx, f, r)
	if err != nil {
		discard(f)
		return Digest{}, 0, fmt.Errorf("put blob: %w", err)
	}
	if err := commit(f, s.blobPath(d), 0o444); err != nil {
		return Digest{}, 0, fmt.Errorf("put blob %s: %w", d, err)
	}
	return d, n, nil
}

// hashCopy copies r to w and hashes what it copies, in one pass over the
// data: this goroutine reads and hashes each chunk while another writes
// the previous one, so storing costs little more than hashing alone.
func hashCopy(ctx context.Context, w io.Writer, r io.Reader) (Digest, int64, error) {
	const chunks = 4
	free := make(chan []byte, chunks)
	full := make(chan []byte, chunks)
	for range chunks {
		free <- make([]byte, bufSize)
	}
	werr := make(chan error, 1)
	go func() {
		var err error
		for b := range full {
			if err == nil {
				_, err = w.Write(b)
			}
			free <- b[:cap(b)]
		}
		werr <- err
	}()
	h := sha256.New()
	var n int64
	var rerr error
	for {
		if rerr = ctx.Err(); rerr != nil {
			break
		}
		b := <-free
		k, err := io.ReadFull(r, b)
		if k > 0 {
			h.Write(b[:k])
			n += int64(k)
			full <- b[:k]
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(full)
	if err := <-werr; rerr == nil {
		rerr = err
	}
	return Digest(h.Sum(nil)), n, rerr
}

// OpenBlob implements Store.
func (s *FSStore) OpenBlob(ctx context.Context, d Digest) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := s.blobPath(d)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, notFound(err))
	}
	return VerifyReader(f, d, func() { removeIfSame(path, f) }), nil
}

// StatBlob implements Store.
func (s *FSStore) StatBlob(ctx context.Context, d Digest) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	fi, err := os.Stat(s.blobPath(d))
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, notFound(err))
	}
	return fi.Size(), nil
}

// DeleteBlob implements Store.
func (s *FSStore) DeleteBlob(ctx context.Context, d Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(s.blobPath(d)); err != nil {
		return fmt.Errorf("delete blob %s: %w", d, notFound(err))
	}
	return nil
}

// ListBlobs implements Store. Files whose names are not digests are
// skipped.
func (s *FSStore) ListBlobs(ctx context.Context, fn func(Digest, int64, time.Time) error) error {
	return listDir(ctx, s.casDir(), func(name string) error {
		d, err := parseHex32(name)
		if err != nil {
			return nil
		}
		fi, err := os.Lstat(filepath.Join(s.casDir(), name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return fmt.Errorf("list blobs: %w", err)
		case !fi.Mode().IsRegular():
			return nil
		}
		return fn(Digest(d), fi.Size(), fi.ModTime())
	})
}

// CorruptBlob changes blob d's content in place, keeping its size, as a
// failing disk would. It exists for tests (storetest.Corrupter).
func (s *FSStore) CorruptBlob(d Digest) error {
	path := s.blobPath(d)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("corrupt blob %s: %w", d, notFound(err))
	}
	if len(data) == 0 {
		data = []byte("corrupt")
	} else {
		data[0] ^= 0xff
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return fmt.Errorf("corrupt blob %s: %w", d, err)
	}
	if err := os.WriteFile(path, data, 0o444); err != nil {
		return fmt.Errorf("corrupt blob %s: %w", d, err)
	}
	return os.Chmod(path, 0o444)
}

// tempFile creates a file in tmp/, on the same filesystem as its final
// place so that the rename in commit is atomic.
func (s *FSStore) tempFile() (*os.File, error) {
	return os.CreateTemp(s.tmpDir(), "put-*")
}

// removeStaleTemps removes what crashed writers left in tmp/. Errors are
// ignored: another process may be doing the same.
func (s *FSStore) removeStaleTemps(now time.Time) {
	entries, _ := os.ReadDir(s.tmpDir())
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > staleTemp {
			os.RemoveAll(filepath.Join(s.tmpDir(), e.Name()))
		}
	}
}

// commit makes the fully written temporary file f the file dst: it sets
// perm and renames f over dst, so that readers
// see either no file or the whole file. On error the temporary file is
// removed.
func commit(f *os.File, dst string, perm os.FileMode) error {
	err := f.Chmod(perm)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// discard closes and removes a temporary file after a failed write.
func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// removeIfSame removes path if it is still the file f: a concurrent
// writer may have renamed a good copy there since f was opened.
func removeIfSame(path string, f *os.File) {
	opened, err := f.Stat()
	if err != nil {
		return
	}
	if cur, err := os.Lstat(path); err == nil && os.SameFile(opened, cur) {
		os.Remove(path)
	}
}

// notFound wraps a missing file's error as ErrNotFound, leaving other
// errors as they are.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	return err
}

// listDir calls fn with each name in dir, reading the directory in
// batches so that a large cache is never listed into memory at once.
func listDir(ctx context.Context, dir string, fn func(name string) error) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	defer f.Close()
	for {
		names, err := f.Readdirnames(1024)
		for _, name := range names {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(name); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", dir, err)
		}
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// getBuf and putBuf share copy buffers, which are too large to allocate
// for every small blob.
func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }
