package s3_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/sluice-dev/sluice/cache/s3"
	"github.com/sluice-dev/sluice/cache/s3test"
)

// The benchmarks run the store and, as a yardstick, plain minio-go
// requests for the same bytes against the same server in the same run, so
// that the store's overhead shows as a ratio:
//
//	store                PutBlob: stream with unknown size, hash, server-side copy
//	store/already-stored PutBlob of a blob the store has: no copy
//	plain/unknown-size   PutObject(size -1), the same multipart upload as PutBlob's
//	plain/known-size     PutObject(size), parts uploaded in parallel
//
// The server is local, so the figures show client and server CPU cost, not
// a network's; the local filesystem store's benchmarks are in package
// cache.

// benchSizes are the blob sizes benchmarked; 1 GiB only with
// SLUICE_BENCH_LARGE=1.
func benchSizes() []int64 {
	sizes := []int64{64 << 20}
	if os.Getenv("SLUICE_BENCH_LARGE") == "1" {
		sizes = append(sizes, 1<<30)
	}
	return sizes
}

func sizeName(size int64) string {
	if size >= 1<<30 {
		return fmt.Sprintf("%dGiB", size>>30)
	}
	return fmt.Sprintf("%dMiB", size>>20)
}

func randomBytes(size int64) []byte {
	b := make([]byte, size)
	rand.NewChaCha8([32]byte{byte(size)}).Read(b)
	return b
}

// stream hides everything but Read, as a pipe from a step's output would.
type stream struct{ io.Reader }

func BenchmarkPutBlob(b *testing.B) {
	srv := s3test.Start(b)
	bucket := srv.NewBucket(b)
	st := newStore(b, config(b, srv, bucket, "bench"))
	client := srv.Client(b)
	for _, size := range benchSizes() {
		data := randomBytes(size)
		b.Run(sizeName(size)+"/store", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				d, _, err := st.PutBlob(b.Context(), stream{bytes.NewReader(data)})
				if err != nil {
					b.Fatal(err)
				}
				// Every iteration uploads and copies: none finds the
				// blob already there.
				b.StopTimer()
				if err := st.DeleteBlob(b.Context(), d); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
		b.Run(sizeName(size)+"/store/already-stored", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				if _, _, err := st.PutBlob(b.Context(), stream{bytes.NewReader(data)}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sizeName(size)+"/plain/unknown-size", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				_, err := client.PutObject(b.Context(), bucket, "plain/object", stream{bytes.NewReader(data)}, -1,
					minio.PutObjectOptions{PartSize: s3.DefaultPartSize})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sizeName(size)+"/plain/known-size", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				_, err := client.PutObject(b.Context(), bucket, "plain/object", bytes.NewReader(data), size,
					minio.PutObjectOptions{PartSize: s3.DefaultPartSize})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpenBlob(b *testing.B) {
	srv := s3test.Start(b)
	bucket := srv.NewBucket(b)
	st := newStore(b, config(b, srv, bucket, "bench"))
	client := srv.Client(b)
	buf := make([]byte, 1<<20)
	for _, size := range benchSizes() {
		data := randomBytes(size)
		d, _, err := st.PutBlob(b.Context(), bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		plain := "plain/" + d.Hex()
		if _, err := client.PutObject(b.Context(), bucket, plain, bytes.NewReader(data), size, minio.PutObjectOptions{}); err != nil {
			b.Fatal(err)
		}
		data = nil
		b.Run(sizeName(size)+"/store", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				r, err := st.OpenBlob(b.Context(), d)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
		b.Run(sizeName(size)+"/plain", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				obj, err := client.GetObject(b.Context(), bucket, plain, minio.GetObjectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, obj, buf); err != nil {
					b.Fatal(err)
				}
				obj.Close()
			}
		})
	}
}
