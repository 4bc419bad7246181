package cache

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// PutPath stores the file or directory at path in s. A regular file (or a
// symlink to one) is stored as it is, as KindFile; a directory is streamed
// into s as a deterministic tar (see the package documentation), as
// KindDir, hashed as it is produced and never held in memory.
func PutPath(ctx context.Context, s Store, path string) (ArtifactRef, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return ArtifactRef{}, fmt.Errorf("put %s: %w", path, err)
	}
	switch {
	case fi.Mode().IsRegular():
		f, err := os.Open(path)
		if err != nil {
			return ArtifactRef{}, fmt.Errorf("put %s: %w", path, err)
		}
		defer f.Close()
		d, n, err := s.PutBlob(ctx, f)
		if err != nil {
			return ArtifactRef{}, fmt.Errorf("put %s: %w", path, err)
		}
		return ArtifactRef{Digest: d, Size: n, Kind: KindFile}, nil
	case fi.IsDir():
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := writeTree(pw, path)
			pw.CloseWithError(err)
			done <- err
		}()
		d, n, err := s.PutBlob(ctx, pr)
		pr.Close() // if PutBlob failed early, the writer's next write fails with io.ErrClosedPipe
		werr := <-done
		switch {
		case werr != nil && !errors.Is(werr, io.ErrClosedPipe):
			return ArtifactRef{}, fmt.Errorf("put %s: %w", path, werr)
		case err != nil:
			return ArtifactRef{}, fmt.Errorf("put %s: %w", path, err)
		}
		return ArtifactRef{Digest: d, Size: n, Kind: KindDir}, nil
	default:
		return ArtifactRef{}, fmt.Errorf("put %s: %s is neither a regular file nor a directory", path, fi.Mode().Type())
	}
}

// epoch is the modification time of every entry in a directory tar.
var epoch = time.Unix(0, 0)

// writeTree writes the tree under root to w in the directory format.
func writeTree(w io.Writer, root string) error {
	bw := bufio.NewWriterSize(w, bufSize)
	tw := tar.NewWriter(bw)
	buf := getBuf()
	defer putBuf(buf)
	if err := writeDir(tw, root, ".", *buf); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeDir writes the entries of root/rel in name order, depth first, so
// every directory comes before what it holds.
func writeDir(tw *tar.Writer, root, rel string, buf []byte) error {
	entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := path.Join(rel, e.Name())
		full := filepath.Join(root, filepath.FromSlash(name))
		fi, err := e.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), ModTime: epoch}
		switch fi.Mode().Type() {
		case fs.ModeDir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if err := writeDir(tw, root, name, buf); err != nil {
				return err
			}
		case 0:
			hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if err := copyFile(tw, full, fi.Size(), buf); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		case fs.ModeSymlink:
			target, err := os.Readlink(full)
			if err != nil {
				return err
			}
			if linkEscapes(name, target) {
				return fmt.Errorf("%s: symlink to %q points outside the directory", name, target)
			}
			// A symlink's own mode means nothing and differs between
			// systems (0777 on Linux, 0755 on macOS).
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, 0o777
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: cannot store a %s: only regular files, directories and symlinks", name, describe(fi.Mode()))
		}
	}
	return nil
}

// copyFile copies exactly size bytes of the file at name to w.
func copyFile(w io.Writer, name string, size int64, buf []byte) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.CopyBuffer(w, io.LimitReader(f, size), buf)
	if err == nil && n != size {
		err = fmt.Errorf("file shrank from %d to %d bytes while being stored", size, n)
	}
	return err
}

// describe names a file type for an error message.
func describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "file of type " + m.Type().String()
}

// linkEscapes reports whether a symlink at name (slash-separated, relative
// to the tree's root) with the given target is absolute or, read
// lexically, leads out of the tree.
func linkEscapes(name, target string) bool {
	if target == "" || path.IsAbs(target) || filepath.IsAbs(target) {
		return true
	}
	p := path.Join(path.Dir(name), filepath.ToSlash(target))
	return p == ".." || strings.HasPrefix(p, "../")
}

// GetPath materializes ref from s at dest: a KindFile blob as a file, a
// KindDir blob as the directory tree it holds. It writes to a temporary
// sibling of dest and renames it into place only once the content has been
// verified against its digest, so a failure leaves nothing at dest.
// dest's parent is created if needed; dest itself must not be a non-empty
// directory.
func GetPath(ctx context.Context, s Store, ref ArtifactRef, dest string) error {
	if err := getPath(ctx, s, ref, dest); err != nil {
		return fmt.Errorf("get %s to %s: %w", ref.Digest, dest, err)
	}
	return nil
}

func getPath(ctx context.Context, s Store, ref ArtifactRef, dest string) error {
	if ref.Kind != KindFile && ref.Kind != KindDir {
		return fmt.Errorf("unknown artifact kind %q", ref.Kind)
	}
	parent, base := filepath.Dir(dest), filepath.Base(dest)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	r, err := s.OpenBlob(ctx, ref.Digest)
	if err != nil {
		return err
	}
	defer r.Close()
	buf := getBuf()
	defer putBuf(buf)

	if ref.Kind == KindFile {
		f, err := os.CreateTemp(parent, "."+base+".tmp-*")
		if err != nil {
			return err
		}
		n, err := io.CopyBuffer(f, ctxReader{ctx, r}, *buf)
		if err == nil && n != ref.Size {
			err = fmt.Errorf("blob has %d bytes, reference says %d", n, ref.Size)
		}
		if err != nil {
			discard(f)
			return err
		}
		return commit(f, dest, 0o644)
	}

	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	err = extract(ctxReader{ctx, r}, tmp, *buf)
	if ctx.Err() == nil {
		// The digest is only checked once the blob has been read to its
		// end, which the tar reader does not do; and after an error,
		// corruption is the best explanation of a malformed archive.
		_, derr := io.CopyBuffer(io.Discard, r, *buf)
		if derr != nil && (err == nil || errors.Is(derr, ErrCorrupt)) {
			err = derr
		}
	}
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err == nil {
		err = os.Rename(tmp, dest)
	}
	if err != nil {
		os.RemoveAll(tmp)
	}
	return err
}

// extract unpacks a directory tar into dir, which must be empty. Every
// name must be clean and relative, every entry's parent a directory
// created earlier in the archive, and every symlink must stay inside the
// tree; os.Root enforces the last once more for anything written.
func extract(r io.Reader, dir string, buf []byte) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	type dirMode struct {
		name string
		perm fs.FileMode
	}
	var dirs []dirMode
	isDir := map[string]bool{".": true}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name, err := entryName(hdr)
		if err != nil {
			return err
		}
		if !isDir[path.Dir(name)] {
			return fmt.Errorf("%s: parent is not a directory earlier in the archive", name)
		}
		perm := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			// Writable until everything is in; the real mode comes last.
			if err := root.Mkdir(name, 0o700); err != nil {
				return err
			}
			isDir[name] = true
			dirs = append(dirs, dirMode{name, perm})
		case tar.TypeReg:
			if err := extractFile(root, name, perm, tr, buf); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if linkEscapes(name, hdr.Linkname) {
				return fmt.Errorf("%s: symlink to %q points outside the directory", name, hdr.Linkname)
			}
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unsupported tar entry type %q", name, hdr.Typeflag)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := root.Chmod(dirs[i].name, dirs[i].perm); err != nil {
			return err
		}
	}
	return nil
}

func extractFile(root *os.Root, name string, perm fs.FileMode, r io.Reader, buf []byte) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(f, r, buf)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// entryName returns the archive entry's name without a directory's
// trailing slash, or an error if it is not a clean relative path inside
// the tree.
func entryName(hdr *tar.Header) (string, error) {
	name := hdr.Name
	if hdr.Typeflag == tar.TypeDir {
		name = strings.TrimSuffix(name, "/")
	}
	if name == "" || name == "." || path.IsAbs(name) || path.Clean(name) != name ||
		name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("%q: entry name must be a clean relative path inside the directory", hdr.Name)
	}
	return name, nil
}
