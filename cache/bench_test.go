package cache_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-dev/sluice/cache"
)

// benchSizes are the artifact sizes benchmarked; 1 GiB only with
// SLUICE_BENCH_LARGE=1. Compare the MB/s with `openssl dgst -sha256` on a
// file of the same size: PutPath also writes and fsyncs the blob.
func benchSizes() []int64 {
	sizes := []int64{64 << 20}
	if os.Getenv("SLUICE_BENCH_LARGE") == "1" {
		sizes = append(sizes, 1<<30)
	}
	return sizes
}

// writeRandomFile writes size pseudo-random bytes to a new file.
func writeRandomFile(b *testing.B, size int64) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "artifact")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{}), size); err != nil {
		b.Fatal(err)
	}
	return path
}

func sizeName(size int64) string {
	if size >= 1<<30 {
		return fmt.Sprintf("%dGiB", size>>30)
	}
	return fmt.Sprintf("%dMiB", size>>20)
}

func BenchmarkPutPath(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(sizeName(size), func(b *testing.B) {
			path := writeRandomFile(b, size)
			s, err := cache.NewFS(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			for b.Loop() {
				if _, err := cache.PutPath(b.Context(), s, path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPutPathDir(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(sizeName(size), func(b *testing.B) {
			path := writeRandomFile(b, size)
			s, err := cache.NewFS(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			for b.Loop() {
				if _, err := cache.PutPath(b.Context(), s, filepath.Dir(path)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGetPath(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(sizeName(size), func(b *testing.B) {
			s, err := cache.NewFS(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			ref, err := cache.PutPath(b.Context(), s, writeRandomFile(b, size))
			if err != nil {
				b.Fatal(err)
			}
			dest := filepath.Join(b.TempDir(), "out")
			b.SetBytes(size)
			for b.Loop() {
				if err := cache.GetPath(b.Context(), s, ref, dest); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTakePath stores a file the caller gives up, as a runner does
// with a finished step's output: one read to hash it, then a rename.
func BenchmarkTakePath(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(sizeName(size), func(b *testing.B) {
			s, err := cache.NewFS(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			src := writeRandomFile(b, size)
			data, err := os.ReadFile(src)
			if err != nil {
				b.Fatal(err)
			}
			path := src + ".out"
			b.SetBytes(size)
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				if err := os.WriteFile(path, data, 0o644); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := cache.TakePath(b.Context(), s, path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
