package cache_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/cache/storetest"
)

func newFS(t *testing.T) *cache.FSStore {
	t.Helper()
	s, err := cache.NewFS(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFSConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cache.Store { return newFS(t) })
}

// dirNames lists dir's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFSLayout(t *testing.T) {
	s := newFS(t)
	ctx := t.Context()
	d, _, err := s.PutBlob(ctx, bytes.NewReader([]byte("blob")))
	if err != nil {
		t.Fatal(err)
	}
	e := &cache.Entry{Key: cache.ComputeKey(cache.Components{Image: "x"})}
	if err := s.PutEntry(ctx, e); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("f"), 0o644)
	if _, err := cache.PutPath(ctx, s, src); err != nil {
		t.Fatal(err)
	}
	// A failed write leaves nothing behind either.
	if _, _, err := s.PutBlob(ctx, errReader{}); err == nil {
		t.Fatal("PutBlob from a failing reader succeeded")
	}

	got := map[string][]string{}
	for _, dir := range []string{"ac", "cas/sha256", "tmp"} {
		got[dir] = dirNames(t, filepath.Join(s.Dir(), dir))
	}
	want := map[string][]string{
		"ac":         {e.Key.String() + ".json"},
		"cas/sha256": got["cas/sha256"],
		"tmp":        {},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("store layout mismatch (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(s.Dir(), "cas", "sha256", d.Hex()))
	if err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("blob file: %v, %v; want a read-only file", fi, err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestFSCorruptEntry(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"truncated", `{"key": "`},
		{"not json", "garbage"},
		{"bad key", `{"key": "zz"}`},
		{"another key", `{"key": "` + cache.ComputeKey(cache.Components{Image: "other"}).String() + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFS(t)
			key := cache.ComputeKey(cache.Components{Image: "x"})
			path := filepath.Join(s.Dir(), "ac", key.String()+".json")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetEntry(t.Context(), key); !errors.Is(err, cache.ErrCorrupt) {
				t.Errorf("GetEntry: got error %v, want ErrCorrupt", err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("corrupt entry file still there after GetEntry (stat: %v)", err)
			}
			if _, err := s.GetEntry(t.Context(), key); !errors.Is(err, cache.ErrNotFound) {
				t.Errorf("GetEntry again: got error %v, want ErrNotFound", err)
			}
		})
	}
}

func TestFSListSkipsCorruptEntries(t *testing.T) {
	s := newFS(t)
	good := &cache.Entry{Key: cache.ComputeKey(cache.Components{Image: "good"})}
	if err := s.PutEntry(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	bad := cache.ComputeKey(cache.Components{Image: "bad"})
	os.WriteFile(filepath.Join(s.Dir(), "ac", bad.String()+".json"), []byte("{"), 0o644)
	os.WriteFile(filepath.Join(s.Dir(), "ac", "README"), []byte("not an entry"), 0o644)
	var got []string
	err := s.ListEntries(t.Context(), func(e *cache.Entry) error {
		got = append(got, e.Key.String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{good.Key.String()}, got); diff != "" {
		t.Errorf("ListEntries mismatch (-want +got):\n%s", diff)
	}
}

func TestFSRemovesStaleTemps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	s, err := cache.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(s.Dir(), "tmp", "put-stale"), filepath.Join(s.Dir(), "tmp", "put-fresh")
	os.WriteFile(stale, nil, 0o600)
	os.WriteFile(fresh, nil, 0o600)
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(stale, old, old)
	if _, err := cache.NewFS(dir); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"put-fresh"}, dirNames(t, filepath.Join(s.Dir(), "tmp"))); diff != "" {
		t.Errorf("tmp/ after NewFS mismatch (-want +got):\n%s", diff)
	}
}

func TestFSCorruptBlobKeepsNewerCopy(t *testing.T) {
	// A reader that finds corruption must not remove a good copy another
	// writer renamed into place meanwhile.
	s := newFS(t)
	data := []byte("precious")
	d, _, err := s.PutBlob(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	s.CorruptBlob(d)
	r, err := s.OpenBlob(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, _, err := s.PutBlob(t.Context(), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(r); !errors.Is(err, cache.ErrCorrupt) {
		t.Errorf("reading the corrupt copy: got error %v, want ErrCorrupt", err)
	}
	if _, err := cache.VerifyBlob(t.Context(), s, d); err != nil {
		t.Errorf("VerifyBlob of the new copy: %v", err)
	}
}

func readAll(r interface{ Read([]byte) (int, error) }) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

func TestNewFSErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	for _, dir := range []string{"", file} {
		if _, err := cache.NewFS(dir); err == nil {
			t.Errorf("NewFS(%q) succeeded, want an error", dir)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	tests := []struct {
		name, xdg, want string
	}{
		{"xdg", "/xdg/cache", "/xdg/cache/sluice"},
		{"unset", "", filepath.Join(home, ".cache", "sluice")},
		{"relative xdg ignored", "rel/cache", filepath.Join(home, ".cache", "sluice")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			got, err := cache.DefaultDir()
			if err != nil || got != tt.want {
				t.Errorf("DefaultDir() = %q, %v; want %q, nil", got, err, tt.want)
			}
		})
	}
}

func TestFSCanceled(t *testing.T) {
	s := newFS(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	key := cache.ComputeKey(cache.Components{})
	if _, err := s.GetEntry(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("GetEntry: got error %v, want context.Canceled", err)
	}
	if _, _, err := s.PutBlob(ctx, bytes.NewReader([]byte("x"))); !errors.Is(err, context.Canceled) {
		t.Errorf("PutBlob: got error %v, want context.Canceled", err)
	}
}
