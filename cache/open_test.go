package cache_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/cache"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, url, wantDir string
	}{
		{"path", filepath.Join(dir, "a"), filepath.Join(dir, "a")},
		{"file url", "file://" + filepath.ToSlash(filepath.Join(dir, "b")), filepath.Join(dir, "b")},
		{"file url with localhost", "file://localhost" + filepath.ToSlash(filepath.Join(dir, "c")), filepath.Join(dir, "c")},
		{"file url with scheme in capitals", "FILE://" + filepath.ToSlash(filepath.Join(dir, "d")), filepath.Join(dir, "d")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := cache.Open(t.Context(), tt.url)
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.url, err)
			}
			fs, ok := s.(*cache.FSStore)
			if !ok {
				t.Fatalf("Open(%q) = %T, want *cache.FSStore", tt.url, s)
			}
			if fs.Dir() != tt.wantDir {
				t.Errorf("Open(%q).Dir() = %q, want %q", tt.url, fs.Dir(), tt.wantDir)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, url string
	}{
		{"empty", ""},
		{"unknown scheme", "gopher://bucket/cache"},
		{"relative file url", "file://cache"},
		{"remote file url", "file://host/cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := cache.Open(t.Context(), tt.url); err == nil {
				t.Errorf("Open(%q) = %T, want an error", tt.url, s)
			} else {
				t.Log(err)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	if diff := cmp.Diff([]string{"file"}, cache.Schemes()); diff != "" {
		t.Errorf("Schemes() mismatch (-want +got):\n%s", diff)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("registering the file scheme twice did not panic")
		}
	}()
	cache.Register("file", nil)
}
