package cache_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/cache"
)

// putTar stores a hand-made directory tar and returns its reference.
func putTar(t *testing.T, s cache.Store, hdrs []*tar.Header) cache.ArtifactRef {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = 1
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	d, n, err := s.PutBlob(t.Context(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	return cache.ArtifactRef{Digest: d, Size: n, Kind: cache.KindDir}
}

func reg(name string) *tar.Header { return &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644} }
func dir(name string) *tar.Header { return &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755} }
func link(name, target string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target}
}

func TestGetPathRejectsUnsafeArchives(t *testing.T) {
	tests := []struct {
		name string
		hdrs []*tar.Header
	}{
		{"parent traversal", []*tar.Header{reg("../evil")}},
		{"traversal inside", []*tar.Header{dir("a/"), reg("a/../../evil")}},
		{"absolute name", []*tar.Header{reg("/tmp/evil")}},
		{"dot", []*tar.Header{dir("./")}},
		{"unclean name", []*tar.Header{dir("a/"), reg("a//b")}},
		{"absolute symlink", []*tar.Header{link("l", "/etc")}},
		{"escaping symlink", []*tar.Header{dir("a/"), link("a/l", "../../etc")}},
		{"write through symlink", []*tar.Header{dir("a/"), link("l", "a"), reg("l/f")}},
		{"parent missing", []*tar.Header{reg("a/f")}},
		{"duplicate", []*tar.Header{reg("f"), reg("f")}},
		{"hard link", []*tar.Header{reg("f"), {Typeflag: tar.TypeLink, Name: "g", Linkname: "f"}}},
		{"device", []*tar.Header{{Typeflag: tar.TypeChar, Name: "null", Devmajor: 1, Devminor: 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFS(t)
			ref := putTar(t, s, tt.hdrs)
			parent := t.TempDir()
			if err := cache.GetPath(t.Context(), s, ref, filepath.Join(parent, "out")); err == nil {
				t.Errorf("GetPath succeeded, want an error")
			}
			if diff := cmp.Diff([]string{}, dirNames(t, parent)); diff != "" {
				t.Errorf("files left after a failed GetPath (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetPathCorruptLeavesNothing(t *testing.T) {
	for _, kind := range []cache.Kind{cache.KindFile, cache.KindDir} {
		t.Run(string(kind), func(t *testing.T) {
			s := newFS(t)
			src := filepath.Join(t.TempDir(), "src")
			os.MkdirAll(filepath.Join(src, "d"), 0o755)
			os.WriteFile(filepath.Join(src, "d", "f"), bytes.Repeat([]byte("data"), 1000), 0o644)
			if kind == cache.KindFile {
				src = filepath.Join(src, "d", "f")
			}
			ref, err := cache.PutPath(t.Context(), s, src)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CorruptBlob(ref.Digest); err != nil {
				t.Fatal(err)
			}
			parent := t.TempDir()
			if err := cache.GetPath(t.Context(), s, ref, filepath.Join(parent, "out")); !errors.Is(err, cache.ErrCorrupt) {
				t.Errorf("GetPath of a corrupt blob: got error %v, want ErrCorrupt", err)
			}
			if diff := cmp.Diff([]string{}, dirNames(t, parent)); diff != "" {
				t.Errorf("files left after a failed GetPath (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetPathReplacesFile(t *testing.T) {
	s := newFS(t)
	d, n, err := s.PutBlob(t.Context(), bytes.NewReader([]byte("new")))
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "f")
	os.WriteFile(dest, []byte("old content"), 0o644)
	if err := cache.GetPath(t.Context(), s, cache.ArtifactRef{Digest: d, Size: n, Kind: cache.KindFile}, dest); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); string(got) != "new" {
		t.Errorf("dest holds %q, want %q", got, "new")
	}
}

func TestGetPathBadRef(t *testing.T) {
	s := newFS(t)
	d, n, _ := s.PutBlob(t.Context(), bytes.NewReader([]byte("abc")))
	tests := []struct {
		name string
		ref  cache.ArtifactRef
	}{
		{"unknown kind", cache.ArtifactRef{Digest: d, Size: n, Kind: "pipe"}},
		{"wrong size", cache.ArtifactRef{Digest: d, Size: n + 1, Kind: cache.KindFile}},
		{"missing blob", cache.ArtifactRef{Digest: cache.Digest{1}, Kind: cache.KindFile}},
		{"file as dir", cache.ArtifactRef{Digest: d, Size: n, Kind: cache.KindDir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			if err := cache.GetPath(t.Context(), s, tt.ref, filepath.Join(parent, "out")); err == nil {
				t.Errorf("GetPath succeeded, want an error")
			}
			if diff := cmp.Diff([]string{}, dirNames(t, parent)); diff != "" {
				t.Errorf("files left after a failed GetPath (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPutPathRejects(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, dir string)
	}{
		{"socket", func(t *testing.T, dir string) {
			l, err := net.Listen("unix", filepath.Join(dir, "sock"))
			if err != nil {
				t.Skipf("no unix sockets: %v", err)
			}
			t.Cleanup(func() { l.Close() })
		}},
		{"absolute symlink", func(t *testing.T, dir string) { os.Symlink("/etc/passwd", filepath.Join(dir, "l")) }},
		{"escaping symlink", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "sub"), 0o755)
			os.Symlink("../../outside", filepath.Join(dir, "sub", "l"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Short path: unix socket names are limited to ~100 bytes.
			dir, err := os.MkdirTemp("", "put")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			os.WriteFile(filepath.Join(dir, "a"), []byte("a"), 0o644)
			tt.make(t, dir)
			s := newFS(t)
			if ref, err := cache.PutPath(t.Context(), s, dir); err == nil {
				t.Errorf("PutPath = %+v, want an error", ref)
			} else {
				t.Log(err)
			}
			if diff := cmp.Diff([]string{}, dirNames(t, filepath.Join(s.Dir(), "tmp"))); diff != "" {
				t.Errorf("tmp/ after a failed PutPath (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := cache.PutPath(t.Context(), newFS(t), filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PutPath of a missing path: got error %v, want os.ErrNotExist", err)
	}
}
